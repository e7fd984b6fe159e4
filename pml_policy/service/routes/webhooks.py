"""Registry events: MLflow's signed webhook deliveries, verified, kept once in the durable inbox."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from ..answers import Delivery, ok
from ..bodies import Problem, refuse_other_media
from ..deps import ServiceDep
from ..problems import ERRORS, responses
from ..webhooks import Refused, verify

router = APIRouter(responses=responses(*ERRORS))


@router.post("/v1/webhooks/mlflow", summary="MLflow webhook deliveries (signed)", responses=ok(Delivery))
async def mlflow_webhook(request: Request, service: ServiceDep) -> Response:
    settings = service.settings
    if not settings.webhook_secret:
        raise Problem(404, "webhooks are off: start the service with PML_WEBHOOK_SECRET set")
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > settings.max_body:
            raise Problem(413, f"the request body is larger than {settings.max_body:,} bytes")
    try:
        delivery_id, delivery = verify(settings.webhook_secret, request.headers, bytes(raw))
    except Refused as exc:
        service.metrics.deliveries.labels("refused").inc()
        raise Problem(exc.status, exc.reason) from None
    refuse_other_media(request)  # signed, and JSON as MLflow sends it
    request.state.actor = "mlflow-webhook"
    result = await run_in_threadpool(service.receive, delivery_id, delivery.event, delivery.data, raw.decode("utf-8"))
    service.metrics.deliveries.labels("duplicate" if result == "duplicate" else "accepted").inc()
    if result == "queued":
        service.workers.wake()
    answer = {"accepted": result != "duplicate", "duplicate": result == "duplicate", "result": result}
    return Response(json.dumps(answer), media_type="application/json")
