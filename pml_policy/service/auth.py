"""Who may do what: bearer tokens bound to roles (pml_policy.usecases.tokens). Without a tokens file the
service listens on loopback only, and callers there may read; with --local-admin, every loopback
caller is the local admin (decide, approve, reload): an explicit choice, said at start."""

from __future__ import annotations

from fastapi import Request

from pml_policy.usecases.tokens import TokenFile

LOCAL_ADMIN = "local-admin"


class Denied(Exception):
    """401 (no or unknown token) or 403 (a known token without the role)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


class Gate:
    def __init__(self, tokens: TokenFile | None, local_admin: bool = False) -> None:
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
        token = self.tokens.identify(presented.strip())
        if token is None:
            raise Denied(401, "the bearer token is not known to this service")
        if not token.may(role):
            raise Denied(403, f"token {token.name!r} has roles {', '.join(token.roles)}; this needs {role!r}")
        return token.name
