"""Approvals: a sign-off by the token's holder, and at once the govern pass it may allow."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from pml_policy.outputs.documents import Approval, approval, registry_change
from pml_policy.usecases.approving import Approved, approve

from ..answers import ApprovalAnswer, ok
from ..bodies import ApprovalRequest, documented, read_body, registry_refs_only
from ..deps import Approver, ServiceDep
from ..problems import ERRORS, responses

router = APIRouter(responses=responses(*ERRORS))


@router.post(
    "/v1/approvals",
    summary="Sign off a model version's evidence (a token with the approve role; it is the approver)",
    openapi_extra=documented(ApprovalRequest),
    status_code=201,
    responses=ok(ApprovalAnswer, 201, "The sign-off, recorded, and the govern pass it allowed"),
)
async def approvals(request: Request, by: Approver, service: ServiceDep) -> JSONResponse:
    body = await read_body(request, ApprovalRequest, service.settings.max_body)
    registry_refs_only([body.ref], service.settings.evidence_root)

    def run() -> dict[str, Any]:
        ws = service.acting(by)
        approved = approve(
            ws, body.ref, body.role, body.reason, body.expires, then_govern=True, apply=service.controls.apply
        )
        if approved.governed is not None:
            service.count(approved.governed.decisions, approved.governed.changes)
        return {**_approval(approved, body.ref, body.reason), "governed": _governed(approved)}

    return JSONResponse(await run_in_threadpool(run), status_code=201)


def _approval(approved: Approved, ref: str, reason: str) -> Approval:
    model = approved.subject.model
    given = {
        "model": model.name or "",
        "version": model.version or "",
        "role": approved.role,
        "approver": approved.approver,
        "digest": approved.digest,
        "reason": reason,
        "expires": approved.expires.isoformat() if approved.expires else None,
    }
    return approval(approved.record, None, ref, given, state="valid")


def _governed(approved: Approved) -> dict[str, Any] | None:
    """The govern pass that followed, when the version is in the registry the service governs."""
    governed = approved.governed
    if governed is None or governed.recorded is None:
        return None
    return {"records": governed.recorded.seqs, "changes": [registry_change(c) for c in governed.changes]}
