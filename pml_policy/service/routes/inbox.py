"""The inbox of registry events: its jobs, newest first."""

from __future__ import annotations

import json
from typing import Any, Literal

from fastapi import APIRouter, Response
from starlette.concurrency import run_in_threadpool

from pml_policy.audit import inbox as inbox_jobs

from ..answers import ok
from ..deps import Reader, ServiceDep
from ..problems import ERRORS, responses

router = APIRouter(responses=responses(*ERRORS))


@router.get("/v1/inbox", summary="Inbox jobs, newest first", responses=ok(list[dict[str, Any]]))
async def inbox(
    by: Reader, service: ServiceDep, state: Literal["pending", "running", "done", "dead"] | None = None
) -> Response:
    def run() -> list[dict[str, Any]]:
        with service.inbox() as db:
            return [j._asdict() | {"body": None} for j in inbox_jobs.jobs(db, state)]

    return Response(json.dumps(await run_in_threadpool(run)), media_type="application/json")
