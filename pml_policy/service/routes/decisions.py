"""Decisions: decide references or pushed evidence (recorded before the answer), and read the log."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from pml_policy.outputs.documents import record_summary
from pml_policy.outputs.json_out import CheckDocument, document
from pml_policy.usecases import auditing
from pml_policy.usecases.checking import check
from pml_policy.usecases.recording import Recorded

from ..answers import DecisionPage, Verification, ok
from ..bodies import CheckRequest, Problem, documented, inline_subject, read_body, registry_refs_only
from ..deps import Decider, Reader, ServiceDep
from ..problems import ERRORS, responses

router = APIRouter(responses=responses(*ERRORS))


@router.post(
    "/v1/check",
    summary="Decide references or pushed evidence; recorded before the answer",
    openapi_extra=documented(CheckRequest),
    responses=ok(CheckDocument, description="The decisions (`check --format json`'s document), recorded"),
)
async def check_route(request: Request, by: Decider, service: ServiceDep) -> Response:
    body = await read_body(request, CheckRequest, service.settings.max_body)
    if not body.refs and not body.subjects:
        raise Problem(422, "give `refs` (registry references) or `subjects` (evidence), or both")
    registry_refs_only([*body.refs, *([body.champion] if body.champion else [])], service.settings.evidence_root)
    inline = [inline_subject(s) for s in body.subjects]

    def run() -> str:
        checked = check(service.acting(by), body.refs, subjects=inline, champion=body.champion, data=body.data)
        service.count(checked.decisions)
        _, audit = Recorded.report(checked.recorded)
        return document(checked.decisions, audit).model_dump_json(by_alias=True)

    return Response(await run_in_threadpool(run), media_type="application/json")


@router.get("/v1/decisions", summary="Recorded decisions, newest first, in pages", responses=ok(DecisionPage))
async def decisions(
    by: Reader,
    service: ServiceDep,
    model: Annotated[str | None, Query(max_length=500)] = None,
    outcome: Literal["pass", "warn", "pending", "fail"] | None = None,
    kind: Literal["decision", "plan", "recheck", "change", "approval"] | None = None,
    before: Annotated[int | None, Query(ge=1, le=2**62, description="Records before this number (a page)")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Response:

    def run() -> dict[str, Any]:
        rows = auditing.records(service.acting(by), model=model, outcome=outcome, limit=limit, kind=kind, before=before)
        following = rows[-1]["seq"] if len(rows) == limit else None
        page = [record_summary(r) for r in rows]
        return {"decisions": page, "next": f"/v1/decisions?before={following}&limit={limit}" if following else None}

    return Response(json.dumps(await run_in_threadpool(run)), media_type="application/json")


@router.get(
    "/v1/decisions/{ref}",
    summary="One recorded decision: its id, a 6+ character prefix, or #SEQ (`audit show --format json`'s document)",
    responses=ok(dict[str, Any]),
)
async def one_decision(
    ref: Annotated[str, Path(pattern=r"^(#[0-9]{1,18}|[^#].{5,99})$", description="An id, 6+ of its characters, #SEQ")],
    by: Reader,
    service: ServiceDep,
) -> Response:
    def run() -> dict[str, Any]:
        return auditing.show(service.acting(by), ref).document()

    return Response(json.dumps(await run_in_threadpool(run)), media_type="application/json")


@router.get(
    "/v1/audit/verify", summary="Verify the audit chain (and every table beside it)", responses=ok(Verification)
)
async def verify_log(by: Reader, service: ServiceDep) -> Response:
    def run() -> dict[str, Any]:
        verdict = auditing.verify(service.acting(by)).verdict
        return {"ok": verdict.ok, "records": verdict.records, "head": verdict.head, "problem": verdict.problem}

    return Response(json.dumps(await run_in_threadpool(run)), media_type="application/json")
