"""What each route answers on success, as models FastAPI writes into the OpenAPI document (the
routes render their JSON themselves; schemathesis checks that every answer fits these)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from pml_policy.outputs.documents import Approval, RegistryChange


def ok(model: Any, status: int = 200, description: str = "Done") -> dict[int | str, dict[str, Any]]:
    """A route's success response, for `responses=`."""
    return {status: {"model": model, "description": description}}


class Ready(BaseModel):
    status: Literal["ready"]
    policies: list[str] = Field(description="NAME VERSION of each policy in force.")
    inbox: dict[str, Any] = Field(description="Jobs by state, and the oldest pending job's age.")


class DecisionPage(BaseModel):
    decisions: list[dict[str, Any]] = Field(description="Record summaries, newest first (`audit list`'s).")
    next: str | None = Field(description="The next page's path, or null on the last page.")


class Verification(BaseModel):
    ok: bool
    records: int
    head: str | None
    problem: str | None


class RecordRef(BaseModel):
    decision: str
    seq: int
    hash: str


class VersionOutcome(BaseModel):
    version: str | None
    outcome: str
    id: str


class Governed(BaseModel):
    model: str
    applied: bool
    records: list[RecordRef]
    decisions: list[VersionOutcome]
    changes: list[RegistryChange]


class GovernedAfterApproval(BaseModel):
    records: list[int]
    changes: list[RegistryChange]


class ApprovalAnswer(Approval):
    governed: GovernedAfterApproval | None


class LoadedPolicy(BaseModel):
    name: str
    version: str
    digest: str


class Reloaded(BaseModel):
    policies: list[LoadedPolicy]


class Delivery(BaseModel):
    accepted: bool
    duplicate: bool
    result: Literal["queued", "merged", "duplicate", "own_change", "ignored"]
