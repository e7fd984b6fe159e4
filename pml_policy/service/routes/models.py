"""Registered models: govern one now (the one govern sequence), planning or applying; its sync status."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from pml_policy.base.errors import NotInRegistry, UsageError
from pml_policy.outputs.documents import registry_change
from pml_policy.usecases.governing import govern
from pml_policy.usecases.status import ModelStatus, status

from ..answers import Governed, ok
from ..bodies import GovernRequest, Problem, documented, read_body
from ..deps import Decider, Reader, ServiceDep
from ..problems import ERRORS, responses

router = APIRouter(responses=responses(*ERRORS))


def _governs(service: Any) -> None:
    if not service.settings.governs:
        raise Problem(
            409,
            "this service governs no registry",
            hint="start it with --tracking-uri (MLflow) or --registry sagemaker",
        )


@router.post(
    "/v1/govern/{model}",
    summary="Govern a registered model: plan, or apply",
    openapi_extra=documented(GovernRequest),
    responses=ok(Governed),
)
async def govern_route(model: str, request: Request, by: Decider, service: ServiceDep) -> Response:
    body = await read_body(request, GovernRequest, service.settings.max_body)
    _governs(service)
    if body.apply and not service.settings.apply:
        raise Problem(403, "this service plans only; start it with --apply to let it change the registry")

    def run() -> dict[str, Any]:
        governed = govern(service.acting(by), model, apply=body.apply)
        if governed.recorded is None:
            raise UsageError(f"model {model!r} has no version to govern")
        service.count(governed.decisions, governed.changes)
        return {
            "model": model,
            "applied": body.apply,
            "records": [{"decision": i, "seq": n, "hash": h} for i, n, h in governed.recorded.records],
            "decisions": [{"version": d.subject.version, "outcome": d.outcome, "id": d.id} for d in governed.decisions],
            "changes": [registry_change(c) for c in governed.changes],
        }

    return Response(json.dumps(await run_in_threadpool(run)), media_type="application/json")


@router.get(
    "/v1/models/{model}",
    summary="A model's sync status: desired and live champion and governance tags, the differences",
    responses=ok(ModelStatus),
)
async def model_status(model: str, by: Reader, service: ServiceDep) -> Response:
    _governs(service)

    def run() -> ModelStatus:
        try:
            (found,) = status(service.acting(by), [model])
        except NotInRegistry as exc:
            raise Problem(404, exc.message) from None
        return found

    return Response((await run_in_threadpool(run)).model_dump_json(), media_type="application/json")
