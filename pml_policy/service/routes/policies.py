"""The policy set in force: reload it (a set with errors is refused and the old one stays)."""

from __future__ import annotations

import json

from fastapi import APIRouter, Response
from starlette.concurrency import run_in_threadpool

from pml_policy.base.errors import PolicyConflict

from ..answers import Reloaded, ok
from ..bodies import Problem
from ..deps import Admin, ServiceDep
from ..problems import ERRORS, responses

router = APIRouter(responses=responses(*ERRORS))


@router.post(
    "/v1/policies/reload",
    summary="Load the policies again; a set with errors or an unbumped change is refused (422)",
    responses=ok(Reloaded),
)
async def reload(by: Admin, service: ServiceDep) -> Response:
    try:
        fresh = await run_in_threadpool(service.reload)
    except PolicyConflict as exc:  # the set cannot be taken (unlike a decision that meets a conflict: 409)
        raise Problem(422, exc.message, hint=exc.hint) from None
    body = {"policies": [{"name": p.name, "version": p.version, "digest": p.digest} for p in fresh.policies]}
    return Response(json.dumps(body), media_type="application/json")
