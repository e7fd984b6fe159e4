"""What routes declare they need: the running service, and an actor holding a role (its token)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from .runtime import Service


def service_of(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def acting(role: str) -> Callable[[Request], str]:
    """A dependency: the caller's name (the actor the log records) once its token holds `role`;
    401 or 403 otherwise (before the body is read)."""

    def actor(request: Request) -> str:
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
