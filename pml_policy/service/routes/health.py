"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import json

from fastapi import APIRouter, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from ..answers import Ready, ok
from ..deps import ServiceDep
from ..problems import ERRORS, problem, responses

router = APIRouter(responses=responses(*ERRORS))


@router.get("/healthz", summary="Alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Ready: the log answers and takes writes, the policies can be recorded, the threads run, no lag",
    responses=ok(Ready),
)
async def readyz(service: ServiceDep) -> Response:
    unfit = service.unfit()
    if unfit is not None:
        return problem(503, unfit)
    try:
        depth = await run_in_threadpool(service.depth)
        blocked = await run_in_threadpool(service.write_blocked)
        refused = await run_in_threadpool(service.policies_refused)
    except Exception:
        return problem(503, "the audit database does not answer")
    if blocked is not None:
        return problem(503, blocked)
    if refused is not None:
        return problem(503, refused)
    unreachable = await run_in_threadpool(service.registry_unreachable)
    if unreachable is not None:
        return problem(503, unreachable)
    lag, bound = depth.age(), service.settings.max_lag
    if lag > bound:
        return problem(503, f"the inbox lags: its oldest pending job waits for {lag:.0f} s (bound {bound:.0f} s)")
    body = {
        "status": "ready",
        "policies": [f"{p.name} {p.version}" for p in service.policies.policies],
        "inbox": depth._asdict(),
    }
    return Response(json.dumps(body), media_type="application/json")


@router.get("/metrics", summary="Prometheus metrics", response_class=PlainTextResponse)
async def metrics(service: ServiceDep) -> Response:
    return Response(generate_latest(service.metrics.registry), media_type=CONTENT_TYPE_LATEST)
