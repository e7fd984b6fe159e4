"""JSON: {"schema": "pml-policy/check", "schema_version": 3, "outcome", "decisions": [Decision…]}."""

from __future__ import annotations

from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from pml_policy.engine.decision import Decision, Outcome, combine

from . import Options

# 2: decisions of schema 2 (expired waivers as {id, expires}).
# 3: decisions of schema 3 (the outcome `pending`, language 1.1's approvals).
CHECK_SCHEMA_VERSION: Final = 3


class AuditRef(BaseModel):
    decision: str
    seq: int = Field(description="The record's position in the audit chain.")
    hash: str = Field(description="The record's sha256: publish the last one to detect a truncated log.")


class AuditInfo(BaseModel):
    recorded: bool = Field(description="False only under --no-audit.")
    store: str | None = Field(default=None, description="The audit log's URL, password hidden.")
    records: list[AuditRef] = Field(default_factory=list)


class CheckDocument(BaseModel):
    """The whole output of `check --format json` (`pml-policy schema` prints its JSON Schema)."""

    model_config = ConfigDict(populate_by_name=True, ser_json_inf_nan="strings")
    schema_: Literal["pml-policy/check"] = Field(default="pml-policy/check", alias="schema")
    schema_version: Literal[3] = CHECK_SCHEMA_VERSION
    outcome: Outcome = Field(description="The worst outcome of all decisions.")
    decisions: list[Decision]
    audit: AuditInfo | None = Field(default=None, description="Where the decisions were recorded.")


def document(decisions: list[Decision], audit: dict[str, Any] | None = None) -> CheckDocument:
    return CheckDocument(
        outcome=combine([d.outcome for d in decisions]),
        decisions=decisions,
        audit=AuditInfo.model_validate(audit) if audit is not None else None,
    )


def render(decisions: list[Decision], options: Options) -> str:
    return document(decisions, options.audit).model_dump_json(by_alias=True, indent=2) + "\n"
