"""The governance service: `pml-policy serve`, an ASGI application (FastAPI on uvicorn) over the
same use cases as the CLI. It decides on registry events (MLflow webhooks, verified, kept in a
durable inbox, handled by workers one model at a time), answers deployment tools (`POST /v1/check`,
`POST /v1/govern/{model}`, `GET /v1/decisions`), and keeps the champion alias honest.

>>> from pml_policy.service import ServiceSettings, create_app
>>> app = create_app(ServiceSettings(policy_paths=["policies"]))   # doctest: +SKIP
"""

from __future__ import annotations

from .app import create_app
from .settings import ServiceSettings

__all__ = ["ServiceSettings", "create_app"]
