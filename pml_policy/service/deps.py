"""What routes declare they need: the running service, and an actor holding a role (its token)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .runtime import Service

# Declared so that the OpenAPI document has a bearer scheme and /docs an Authorize button; the
# token itself is checked by the gate (auth.py), which gives the problem document a caller sees.
BEARER = HTTPBearer(auto_error=False, description="A token from `pml-policy token create NAME --role ROLE`.")


def service_of(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def acting(role: str) -> Callable[..., str]:
    """A dependency: the caller's name (the actor the log records) once its token holds `role`;
    401 or 403 otherwise (before the body is read)."""

    def actor(request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)]) -> str:
        name = service_of(request).gate.actor(request, role)
        request.state.actor = name
        return name

    return actor


# What a route declares (FastAPI's Annotated dependencies): the service, and the caller by role.
ServiceDep = Annotated[Service, Depends(service_of)]
Reader = Annotated[str, Depends(acting("read"))]
Decider = Annotated[str, Depends(acting("decide"))]
Approver = Annotated[str, Depends(acting("approve"))]
Admin = Annotated[str, Depends(acting("admin"))]
