"""JSON: {"schema": "pml-policy/check", "schema_version": 1, "outcome", "decisions": [Decision…]}."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pml_policy.engine.decision import Decision, Outcome, combine

from . import Options

CHECK_SCHEMA_VERSION = 1


class CheckDocument(BaseModel):
    """The whole output of `check --format json` (docs/check-output.schema.json)."""

    model_config = ConfigDict(populate_by_name=True, ser_json_inf_nan="strings")
    schema_: Literal["pml-policy/check"] = Field(default="pml-policy/check", alias="schema")
    schema_version: Literal[1] = CHECK_SCHEMA_VERSION
    outcome: Outcome = Field(description="The worst outcome of all decisions.")
    decisions: list[Decision]


def document(decisions: list[Decision]) -> CheckDocument:
    return CheckDocument(outcome=combine([d.outcome for d in decisions]), decisions=decisions)


def render(decisions: list[Decision], options: Options) -> str:
    return document(decisions).model_dump_json(by_alias=True, indent=2) + "\n"
