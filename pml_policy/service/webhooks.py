"""MLflow's webhook deliveries, verified: `X-MLflow-Signature: v1,` + base64(HMAC-SHA256(secret,
f"{delivery_id}.{timestamp}.{raw body}")), a timestamp at most five minutes off, and the body's
shape. Verified before anything is parsed further or stored."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from pml_policy.base.mappings import loads_bounded

SKEW = 300  # seconds a delivery's timestamp may differ from the service's clock


class Refused(Exception):
    """A delivery that is not MLflow's, or not now: 400/401 with this reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


class Delivery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    entity: str
    action: str
    data: dict[str, Any]

    @property
    def event(self) -> str:
        return f"{self.entity}.{self.action}"


def verify(secret: str, headers: Any, body: bytes, now: float | None = None) -> tuple[str, Delivery]:
    """The delivery id and the parsed delivery, or Refused."""
    delivery_id = headers.get("x-mlflow-delivery-id", "")
    stamp = headers.get("x-mlflow-timestamp", "")
    signature = headers.get("x-mlflow-signature", "")
    if not (delivery_id and stamp and signature):
        raise Refused(401, "a webhook delivery needs X-MLflow-Delivery-Id, X-MLflow-Timestamp and X-MLflow-Signature")
    if len(delivery_id) > 200 or not stamp.isdigit() or len(stamp) > 12:
        raise Refused(400, "malformed delivery id or timestamp")
    signed = f"{delivery_id}.{stamp}.".encode() + body
    expected = "v1," + base64.b64encode(hmac.new(secret.encode(), signed, hashlib.sha256).digest()).decode()
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        raise Refused(401, "the webhook signature does not verify (is PML_WEBHOOK_SECRET the webhook's secret?)")
    if abs((now or time.time()) - int(stamp)) > SKEW:
        raise Refused(401, f"the delivery's timestamp is more than {SKEW} s away from now (a replay, or a clock off)")
    try:
        return delivery_id, Delivery.model_validate(loads_bounded(body.decode("utf-8")))
    except (ValueError, ValidationError) as exc:  # UnicodeDecodeError and JSON errors are ValueErrors
        raise Refused(400, f"not an MLflow webhook payload: {str(exc).splitlines()[0]}") from None
