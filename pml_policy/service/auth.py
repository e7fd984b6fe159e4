"""Who may do what: bearer tokens bound to roles (pml_policy.usecases.tokens). Without a tokens file the
service listens on loopback only, and every caller there is the local admin."""

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
    def __init__(self, tokens: TokenFile | None) -> None:
        self.tokens = tokens

    def actor(self, request: Request, role: str) -> str:
        """The name the audit log records for this request, once its token is known to hold `role`."""
        if self.tokens is None:
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
