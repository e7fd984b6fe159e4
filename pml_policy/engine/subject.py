"""The subject: the evidence a training run left behind, as every adapter hands it to the engine."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from typing import Any

from pydantic import BaseModel, Field, model_serializer


class ModelInfo(BaseModel):
    name: str | None = None
    version: str | None = None
    aliases: list[str] = Field(default_factory=list)
    source: str | None = None
    # When governance last moved the champion alias to this version (from the audit log; 1.3):
    # set on a champion being re-checked. Absent, it is left out of the body, so digests made
    # before it existed do not move.
    promoted_at: dt.datetime | None = None

    @model_serializer(mode="wrap")
    def _without_absent(self, handler: Any) -> dict[str, Any]:
        body: dict[str, Any] = handler(self)
        if body.get("promoted_at") is None:
            body.pop("promoted_at", None)
        return body


class RunInfo(BaseModel):
    id: str | None = None
    start_time: dt.datetime | None = None
    user: str | None = None
    git_commit: str | None = None
    datasets: list[str] = Field(
        default_factory=list, description="Names of the datasets the run used (MLflow dataset inputs)."
    )


class ArtifactInfo(BaseModel):
    path: str
    size: int
    sha256: str | None = None


class Approval(BaseModel):
    """A sign-off as the audit log records it (`pml-policy approve`), handed to the engine on the
    subject it was given for (engine/signoffs.py says when it counts)."""

    role: str
    approver: str
    digest: str = Field(description="The subject digest the approver saw: other evidence voids the approval.")
    model: str | None = None
    version: str | None = None
    reason: str
    expires: dt.date | None = Field(default=None, description="The last day it counts (UTC).")
    time: dt.datetime
    record: int | None = Field(default=None, description="Its record number in the audit log.")
    signature: str | None = Field(default=None, description="The approver's own signature of what it binds.")


_OPTIONAL = ("monitoring", "card")  # evidence a subject may not have at all


class Subject(BaseModel):
    """What the rules read. `digest` is the sha256 of the evidence in canonical JSON: everything
    but the reference, which only says where it was read from (the same run read through another
    path has the same digest), and the approvals, which bind the digest."""

    source: str
    reference: str
    model: ModelInfo = Field(default_factory=ModelInfo)
    run: RunInfo = Field(default_factory=RunInfo)
    metrics: dict[str, Any] = Field(default_factory=dict)
    params: dict[str, Any] = Field(default_factory=dict)
    tags: dict[str, Any] = Field(default_factory=dict)
    artifacts: list[ArtifactInfo] = Field(default_factory=list)
    digest: str = ""
    # Sign-offs of this evidence, from the audit log (1.1). Not evidence themselves: the digest
    # leaves them out, since each binds the digest it was given for.
    approvals: list[Approval] = Field(default_factory=list)
    # The latest monitoring report on the model in production (1.1): evidence too, when there is one.
    monitoring: dict[str, Any] | None = None
    # The model card's metadata (adapters/cards.py), flattened; None when no card is archived.
    card: dict[str, Any] | None = None

    def model_post_init(self, __context: Any) -> None:
        if not self.digest:
            body = self.evidence_body()
            canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            self.digest = hashlib.sha256(canonical.encode()).hexdigest()

    def evidence_body(self, leave_out: frozenset[str] = frozenset()) -> dict[str, Any]:
        """The evidence as JSON values: without the digest, the reference and the approvals (not
        evidence) and `leave_out`; evidence that is absent (no monitoring report, no card) stays
        out of the body, so that digests made before it existed do not move."""
        absent = {name for name in _OPTIONAL if getattr(self, name) is None}
        return self.model_dump(mode="json", exclude={"digest", "reference", "approvals", *leave_out, *absent})

    def promoted(self, when: dt.datetime | None) -> Subject:
        """The same evidence with the time its version took the champion alias (its digest covers it)."""
        if when == self.model.promoted_at:
            return self
        model = {**self.model.model_dump(), "promoted_at": when}
        return Subject.model_validate({**self.model_dump(exclude={"digest"}), "model": model})

    def with_monitoring(self, report: dict[str, Any] | None) -> Subject:
        """The same evidence with a monitoring report (its digest covers the report)."""
        return Subject.model_validate({**self.model_dump(exclude={"digest"}), "monitoring": report})

    def view(self) -> dict[str, Any]:
        """The plain dicts the compiled rules read (built once per evaluation, not per rule)."""
        version: Any = self.model.version
        if isinstance(version, str) and version.isdigit():
            version = int(version)
        return {
            "metrics": _numeric(self.metrics),
            "params": self.params,
            "tags": self.tags,
            "model": {
                "name": self.model.name,
                "version": version,
                "aliases": list(self.model.aliases),
                "source": self.model.source,
                "promoted_at": self.model.promoted_at,
            },
            "run": {
                "id": self.run.id,
                "start_time": self.run.start_time,
                "user": self.run.user,
                "git_commit": self.run.git_commit,
                "datasets": list(self.run.datasets),
            },
            "artifacts": {a.path: {"size": a.size, "sha256": a.sha256} for a in self.artifacts},
            "monitoring": self.monitoring,
            "card": self.card,
        }


# How JSON writes the floats it has no literal for (pydantic's ser_json_inf_nan="strings", and the
# recorded evidence): read back as the floats, so a replay decides as the evaluation did.
_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _numeric(metrics: dict[str, Any]) -> dict[str, Any]:
    if not any(type(v) is str and v in _NON_FINITE for v in metrics.values()):
        return metrics  # the common case: no copy
    return {k: _NON_FINITE[v] if type(v) is str and v in _NON_FINITE else v for k, v in metrics.items()}
