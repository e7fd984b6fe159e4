"""What an evaluation returns: a Decision with each policy's and each rule's result.

These models are the JSON output (schema "pml-policy/decision", version DECISION_SCHEMA_VERSION)
and what the audit log records. A change that breaks readers bumps the version.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

DECISION_SCHEMA_VERSION = 1

RuleOutcome = Literal["pass", "fail", "skip", "error", "waived"]
Outcome = Literal["pass", "warn", "fail"]
Level = Literal["advisory", "soft", "hard"]
SEVERITY = {"pass": 0, "warn": 1, "fail": 2}


class RuleResult(BaseModel):
    policy: str
    rule: str
    title: str | None = None
    enforce: Level
    outcome: RuleOutcome
    message: str = Field(description="One line a business user can read.")
    required: str = Field(description="The require expression, as written.")
    observed: dict[str, Any] = Field(default_factory=dict, description="Every path the rule read, with its value (null when absent).")
    waiver: str | None = Field(default=None, description="The waiver that covered a failure or an error.")
    expired_waivers: list[str] = Field(default_factory=list, description="Waivers that would have covered it but have expired.")
    line: int | None = Field(default=None, description="Line of the rule in its policy file.")

    @property
    def ref(self) -> str:
        return f"{self.policy}/{self.rule}"

    @property
    def blocking(self) -> bool:
        """True when this result fails the decision."""
        return self.outcome in ("fail", "error") and self.enforce != "advisory"


class PlannedAction(BaseModel):
    kind: Literal["set_alias", "set_tag"]
    name: str = Field(description="The alias, or the tag key.")
    value: str | None = None
    policy: str


class PolicyResult(BaseModel):
    name: str
    version: str
    digest: str = Field(description="sha256 of the policy's canonical text.")
    source: str = Field(description="The file the policy was loaded from.")
    outcome: Outcome
    rules: list[RuleResult]
    actions: list[PlannedAction] = Field(default_factory=list)


class SubjectSummary(BaseModel):
    reference: str
    source: str
    model: str | None = None
    version: str | None = None
    digest: str


class Counts(BaseModel):
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    errored: int = 0
    waived: int = 0


class Decision(BaseModel):
    schema_: Literal["pml-policy/decision"] = Field(default="pml-policy/decision", alias="schema")
    schema_version: int = DECISION_SCHEMA_VERSION
    id: str
    time: dt.datetime
    engine: str
    subject: SubjectSummary
    champion: SubjectSummary | None = None
    outcome: Outcome
    policies: list[PolicyResult]
    waivers_used: list[str] = Field(default_factory=list)
    expired_waivers: list[str] = Field(default_factory=list)
    counts: Counts

    model_config = {"populate_by_name": True}

    @property
    def rules(self) -> list[RuleResult]:
        return [r for p in self.policies for r in p.rules]

    @property
    def actions(self) -> list[PlannedAction]:
        return [a for p in self.policies for a in p.actions]


def combine(outcomes: list[str]) -> Outcome:
    """The worst of several outcomes."""
    return max(outcomes, key=SEVERITY.__getitem__, default="pass")  # type: ignore[return-value]
