"""What `pml-policy serve` was started with: one typed object, read by every part of the service."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pml_policy.adapters.base import DEFAULT_CHAMPION_ALIAS
from pml_policy.base.config import DEFAULT_AUDIT_URL
from pml_policy.base.waiting import DEFAULT_SECONDS
from pml_policy.usecases.reacting import Enforce

MAX_BODY = 1 << 20  # bytes of a request body


class ServiceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8077, ge=0, le=65535)
    policy_paths: list[str] = Field(default_factory=lambda: ["policies"])
    audit_url: str = DEFAULT_AUDIT_URL
    registry: Literal["mlflow", "sagemaker"] = "mlflow"
    tracking_uri: str | None = None
    endpoint_url: str | None = None  # SageMaker and S3, where not AWS's own (an emulator, a VPC endpoint)
    champion_alias: str = DEFAULT_CHAMPION_ALIAS
    registry_timeout: float = DEFAULT_SECONDS
    local_artifacts: str | None = None  # --allow-local-artifacts: the one folder run artifacts may be read from
    registry_calls: int = Field(default=16, ge=1, le=1024, description="Registry calls in flight at once, at most.")
    workers: int = Field(default=1, ge=1, le=64, description="Inbox worker threads in this process.")
    apply: bool = False
    enforce: Enforce = "revert"
    reconcile_every: float = Field(default=600.0, ge=0, description="Seconds between sweeps; 0: never.")
    recheck: str | None = Field(default=None, description="Cron schedule of champion re-checks (croniter).")
    data: dict[str, Any] = Field(default_factory=dict, description="Context data the policies read as data.… (--data).")
    tokens: str | None = None
    local_admin: bool = False  # without tokens: loopback callers may decide, approve and reload (else: read only)
    allowed_hosts: list[str] = Field(default_factory=list, description="Host names accepted besides the bound address.")
    allowed_origins: list[str] = Field(default_factory=list, description="Pages (origins) allowed to call the service.")
    webhook_secret: str | None = Field(default=None, repr=False)
    signing_key: str | None = None
    origin: str | None = None  # the log's name in checkpoints (--origin)
    evidence_root: str | None = None  # folders under it may be checked by path; otherwise refs are registries'
    private_docs: bool = False  # /openapi.json, /docs, /redoc need the read role (--private-docs)
    tls: bool = False  # served over HTTPS (--ssl-certfile): its own pages' origin is https://
    max_body: int = MAX_BODY
    poll_seconds: float = 0.5  # how often an idle worker looks at the inbox (a webhook wakes it at once)
    max_lag: float = 300.0  # /readyz: not ready while the oldest pending job has waited longer
    write_wait: float = Field(default=5.0, gt=0, le=600, description="Seconds a write waits for a SQLite log's lock.")

    @property
    def governs(self) -> bool:
        """Whether a registry is configured to govern (and sweep): MLflow needs its server's URI;
        SageMaker is found the usual boto3 way."""
        return self.registry == "sagemaker" or bool(self.tracking_uri)

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or a name that resolves only to them (localhost)."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False
    return bool(addresses) and all(ipaddress.ip_address(str(a).split("%")[0]).is_loopback for a in addresses)
