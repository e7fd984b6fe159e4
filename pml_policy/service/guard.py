"""No web page drives the service. A browser on the same machine can reach a loopback port: a
cross-site "simple" POST (a form, text/plain) or a page on a DNS-rebound name. So every request is
checked before it is routed:

- its Host must be the address the service is bound to (with its port), a loopback name for a
  loopback address, or a name the operator allowed (--allowed-host): a rebound name is refused
  (421 Misdirected Request);
- an Origin header, which browsers send with every cross-site request and never leave out of a
  POST, must be the service's own (its allowed hosts) or one the operator allowed
  (--allowed-origin): refused with 403 otherwise. Tools that are not browsers send none;
- a request body must be `application/json` (415 otherwise): no form or text/plain body is read.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")


@dataclass(frozen=True)
class Guard:
    names: frozenset[str]  # host names accepted with the service's port (lowercase, IPv6 in brackets)
    port: int  # 0: the port the system picked, any
    anywhere: frozenset[str]  # names the operator allowed: with any port, or none (behind a proxy)
    origins: frozenset[str]  # Origin values accepted (scheme://host[:port]), lowercase
    any_host: bool  # a wildcard address and no name allowed: tokens guard it (non-loopback needs them)

    @classmethod
    def of(cls, host: str, port: int, allowed_hosts: list[str], allowed_origins: list[str], tls: bool = False) -> Guard:
        """For a service bound to host:port: a specific address accepts itself (and loopback names,
        for a loopback address) and the allowed names; a wildcard address (0.0.0.0, ::) accepts the
        allowed names, or any name when none is given."""
        names = frozenset(
            ({_bracketed(host)} if not _wildcard(host) else set()) | (set(LOOPBACK_NAMES) if _loopback(host) else set())
        )
        anywhere = frozenset(h.strip().lower() for h in allowed_hosts if h.strip())
        scheme = "https" if tls else "http"  # a page the service itself serves (/docs) is of its own origin
        own = {f"{scheme}://{n}:{port}" for n in names} | {f"{scheme}://{n}" for n in anywhere}
        origins = frozenset(own | {o.lower().rstrip("/") for o in allowed_origins})
        return cls(names, port, anywhere, origins, _wildcard(host) and not anywhere)

    def refusal(self, host: str | None, origin: str | None) -> tuple[int, str] | None:
        """(status, detail) when the request must be refused, else None."""
        if not self.any_host and not self._ours(host or ""):
            return 421, f"the Host {(host or '')[:200]!r} is not this service's (--allowed-host names others)"
        if origin is not None and origin.lower().rstrip("/") not in self.origins and not self._own_port(origin):
            return 403, f"requests from the page at {origin[:200]!r} are refused (--allowed-origin lets one in)"
        return None

    def _ours(self, host: str) -> bool:
        name, _, port = host.lower().rpartition(":") if not host.endswith("]") else (host.lower(), "", "")
        if not name or not port.isdigit():  # no port: a proxy's name
            name, port = host.lower(), ""
        if name in self.anywhere:
            return True
        return name in self.names and (self.port == 0 or port == str(self.port))

    def _own_port(self, origin: str) -> bool:
        """With a port the system picked (0), a page of the service's own names, on any port."""
        parts = urlsplit(origin.lower())
        return self.port == 0 and parts.hostname is not None and _bracketed(parts.hostname) in self.names


def json_body(content_type: str | None) -> bool:
    """Whether a Content-Type names JSON (`application/json`, parameters allowed)."""
    return (content_type or "").split(";", 1)[0].strip().lower() == "application/json"


def _wildcard(host: str) -> bool:
    return host in ("0.0.0.0", "::", "")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bracketed(host: str) -> str:
    """An IPv6 address as a Host header writes it."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host.lower()
