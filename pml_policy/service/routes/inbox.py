"""The inbox of registry events: its jobs, newest first; discarding one."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Response
from starlette.concurrency import run_in_threadpool

from pml_policy.audit import inbox as inbox_jobs

from ..answers import ok
from ..bodies import Problem
from ..deps import Admin, Reader, ServiceDep
from ..problems import ERRORS, responses

router = APIRouter(responses=responses(*ERRORS))


@router.get("/v1/inbox", summary="Inbox jobs, newest first", responses=ok(list[dict[str, Any]]))
async def inbox(
    by: Reader, service: ServiceDep, state: Literal["pending", "running", "done", "dead", "discarded"] | None = None
) -> Response:
    def run() -> list[dict[str, Any]]:
        with service.inbox() as db:
            return [j._asdict() | {"body": None} for j in inbox_jobs.jobs(db, state)]

    return Response(json.dumps(await run_in_threadpool(run)), media_type="application/json")


@router.post(
    "/v1/inbox/{job_id}/discard",
    summary="Set a pending or dead job aside for good (404: no such job; 409: it is running)",
    responses=ok(dict[str, Any]),
)
async def discard(job_id: Annotated[int, Path(ge=1, le=2**62)], by: Admin, service: ServiceDep) -> Response:
    def run() -> inbox_jobs.Job | None:
        with service.inbox() as db:
            return inbox_jobs.discard(db, job_id)

    try:
        job = await run_in_threadpool(run)
    except ValueError as exc:
        raise Problem(409, str(exc)) from None
    if job is None:
        raise Problem(404, f"no inbox job {job_id}")
    return Response(json.dumps(job._asdict() | {"body": None}), media_type="application/json")
