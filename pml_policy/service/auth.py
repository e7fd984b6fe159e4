"""Who may do what: bearer tokens bound to roles (pml_policy.usecases.tokens). Without a tokens file the
service listens on loopback only, and callers there may read; with --local-admin, every loopback
caller is the local admin (decide, approve, reload): an explicit choice, said at start."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from fastapi import Request

from pml_policy.base.errors import PmlError
from pml_policy.usecases.tokens import TokenFile

LOCAL_ADMIN = "local-admin"


class Denied(Exception):
    """401 (no or unknown token) or 403 (a known token without the role)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


class LiveTokens:
    """The tokens file as it is now: read again at the first request after it changed (its size,
    time or inode: one stat a request) or on `refresh()` (SIGHUP), so that a token revoked or added
    with `pml-policy token` counts at once. A file that cannot be read accepts no token (503) until
    it is fixed: a revocation never silently fails to apply."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._seen = self._signature()  # taken before reading, as refresh() does: a change meanwhile is read again
        self.tokens = TokenFile.load(self.path)  # at start, a bad file stops the service (one line)
        self.problem: str | None = None

    def current(self) -> TokenFile:
        """The tokens in force; Denied(503) while the file cannot be read."""
        if self._signature() != self._seen:
            self.refresh()
        if self.problem is not None:
            raise Denied(503, f"no token is accepted while the tokens file cannot be read: {self.problem}")
        return self.tokens

    def refresh(self) -> None:
        with self._lock:
            seen = self._signature()
            try:
                self.tokens, self.problem = TokenFile.load(self.path), None
            except PmlError as exc:
                self.problem = exc.message
            self._seen = seen

    def _signature(self) -> tuple[int, int, int] | None:
        try:
            found = os.stat(self.path)
        except OSError:
            return None
        return found.st_mtime_ns, found.st_size, found.st_ino


class Gate:
    def __init__(self, tokens: LiveTokens | None, local_admin: bool = False) -> None:
        self.tokens = tokens
        self.local_admin = local_admin

    def actor(self, request: Request, role: str) -> str:
        """The name the audit log records for this request, once its token is known to hold `role`."""
        if self.tokens is None:
            if role != "read" and not self.local_admin:
                raise Denied(
                    403,
                    f"this service has no tokens, so it is read-only; {role!r} needs a token, or a service started "
                    "with --local-admin (every loopback caller is then the admin)",
                )
            return LOCAL_ADMIN
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            raise Denied(401, "this endpoint needs a bearer token (Authorization: Bearer …)")
        token = self.tokens.current().identify(presented.strip())
        if token is None:
            raise Denied(401, "the bearer token is not known to this service (or was revoked)")
        if token.expired():
            raise Denied(401, f"token {token.name!r} expired at {token.expires}")
        if not token.may(role):
            raise Denied(403, f"token {token.name!r} has roles {', '.join(token.roles)}; this needs {role!r}")
        return token.name
