"""What `serve` settles before it opens anything: that the service's packages are installed, that
its certificate and key belong together, and its listening socket: each wrong one is one line and
exit 2, not a half-started service."""

from __future__ import annotations

import errno
import socket

from pml_policy.base.errors import UsageError


def tls_pair(certfile: str | None, keyfile: str | None) -> bool:
    """Whether to serve HTTPS; the certificate and key are loaded here first, so that a wrong one
    is one line before anything starts (uvicorn would raise from its start-up)."""
    if not certfile and not keyfile:
        return False
    if not (certfile and keyfile):
        raise UsageError("--ssl-certfile and --ssl-keyfile go together", "give both, or neither for plain HTTP")
    import ssl

    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(certfile, keyfile, password=lambda: b"")
    except (ssl.SSLError, OSError, ValueError) as exc:
        raise UsageError(
            f"cannot serve HTTPS with {certfile} and {keyfile}: {getattr(exc, 'reason', None) or exc}",
            "give a PEM certificate and the unencrypted PEM key that belongs to it",
        ) from None
    return True


def require_service_extra() -> None:
    """The service's packages are an extra: without them, one line that says how to install them."""
    import importlib.util

    needed = ("fastapi", "fastapi_offline", "uvicorn", "prometheus_client", "pythonjsonlogger")
    missing = [name for name in needed if importlib.util.find_spec(name) is None]
    if missing:
        raise UsageError(
            f"pml-policy serve needs {', '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} not installed",
            "pip install 'pml-policy[service]'",
        )


def listen(host: str, port: int) -> socket.socket:
    """The service's listening socket, bound as uvicorn binds it (IPv6 for a host with a colon,
    SO_REUSEADDR so that a restart does not wait out TIME_WAIT), or UsageError naming the address."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        reason = exc.strerror or str(exc)
        raise UsageError(
            f"cannot listen on {host}:{port}: {reason}",
            "another process holds that port: stop it, or choose one with --port"
            if exc.errno == errno.EADDRINUSE
            else "choose an address of this machine with --host, and a port with --port",
        ) from None
    sock.set_inheritable(True)
    return sock
