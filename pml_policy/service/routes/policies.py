"""The policy set in force: reload it (a set with errors is refused and the old one stays)."""

from __future__ import annotations

import json

from fastapi import APIRouter, Response
from starlette.concurrency import run_in_threadpool

from ..answers import Reloaded, ok
from ..deps import Admin, ServiceDep
from ..problems import ERRORS, responses

router = APIRouter(responses=responses(*ERRORS))


@router.post(
    "/v1/policies/reload", summary="Load the policies again; a set with errors is refused", responses=ok(Reloaded)
)
async def reload(by: Admin, service: ServiceDep) -> Response:
    fresh = await run_in_threadpool(service.reload)
    body = {"policies": [{"name": p.name, "version": p.version, "digest": p.digest} for p in fresh.policies]}
    return Response(json.dumps(body), media_type="application/json")
