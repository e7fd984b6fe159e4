"""What an evaluation returns: a Decision with each policy's and each rule's result.

These models are the JSON output (schema "pml-policy/decision", version DECISION_SCHEMA_VERSION)
and what the audit log records. A change that breaks readers bumps the version.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

# 2: expired waivers are {id, expires} objects, no longer "ID (expired DATE)" strings; actions carry
#    a state (planned, or withheld when the whole decision failed) and the rule that blocked them;
#    `kind` says whether it gated (decision) or was only planned (plan: govern without --apply).
# 3: language 1.1's approvals: the rule and decision outcome `pending`, counts.pending, and
#    `on pending` actions. Readers of version 2 see no new field they must understand otherwise.
DECISION_SCHEMA_VERSION = 3

RuleOutcome = Literal["pass", "fail", "skip", "error", "waived", "pending"]
Outcome = Literal["pass", "warn", "pending", "fail"]
Level = Literal["advisory", "soft", "hard"]
SEVERITY = {"pass": 0, "warn": 1, "pending": 2, "fail": 3}
UNMET = frozenset({"fail", "error"})  # rule outcomes whose requirement was not shown to hold


def is_blocking(outcome: str, enforce: str) -> bool:
    """The one rule of what fails a decision: a hard or soft rule that failed or errored (unwaived)."""
    return outcome in UNMET and enforce != "advisory"


def is_awaited(outcome: str, enforce: str) -> bool:
    """What makes a decision pending (unless something fails it): a hard or soft rule awaiting approval."""
    return outcome == "pending" and enforce != "advisory"


@dataclass(slots=True, frozen=True, order=True)
class ExpiredWaiver:
    """A waiver that would have covered a rule, had it not expired: reported, never applied."""

    id: str
    expires: Annotated[dt.date, Field(description="The last day it was valid (UTC).")]

    def __str__(self) -> str:
        return f"{self.id} (expired {self.expires.isoformat()})"


def _legacy_expired(values: Any) -> Any:
    """Decisions of schema version 1 (recorded before 2) wrote "ID (expired YYYY-MM-DD)"."""
    if not isinstance(values, list):
        return values
    out = []
    for v in values:
        if isinstance(v, str) and v.endswith(")") and " (expired " in v:  # ids may hold spaces: split at the last
            waiver, _, day = v[:-1].rpartition(" (expired ")
            v = {"id": waiver, "expires": day}
        out.append(v)
    return out


ExpiredWaivers = Annotated[list[ExpiredWaiver], BeforeValidator(_legacy_expired)]


# The per-rule and per-policy results are plain dataclasses: an evaluation makes dozens of them,
# and pydantic's model_construct costs ~9 µs each. Pydantic still validates, serialises and
# documents them as fields of Decision.


@dataclass(slots=True)
class RuleResult:
    policy: str
    rule: str
    title: str | None
    enforce: Level
    outcome: RuleOutcome
    message: Annotated[str, Field(description="One line a business user can read.")]
    required: Annotated[str, Field(description="The require expression, as written.")]
    observed: Annotated[
        dict[str, Any], Field(description="Every path the rule read, with its value (null when absent).")
    ]
    waiver: Annotated[str | None, Field(description="The waiver that covered a failure or an error.")] = None
    expired_waivers: Annotated[
        ExpiredWaivers, Field(description="Waivers that would have covered it but have expired.")
    ] = field(default_factory=list)
    line: Annotated[int | None, Field(description="Line of the rule in its policy file.")] = None

    @property
    def ref(self) -> str:
        return f"{self.policy}/{self.rule}"

    @property
    def blocking(self) -> bool:
        """True when this result fails the decision."""
        return is_blocking(self.outcome, self.enforce)


@dataclass(slots=True)
class PlannedAction:
    kind: Literal["set_alias", "set_tag", "revert_alias"]
    name: Annotated[str, Field(description="The alias, or the tag key.")]
    policy: str
    value: str | None = None
    state: Annotated[
        Literal["planned", "withheld"],
        Field(description="withheld: an `on pass` action of a policy that passed, in a decision that did not pass."),
    ] = "planned"
    blocked_by: Annotated[str | None, Field(description="The policy/rule that withheld it.")] = None

    @property
    def text(self) -> str:
        """As people read it: `set alias "champion"`, `set tag "governance.status" = "approved"`."""
        if self.kind == "set_tag":
            return f'set tag "{self.name}" = "{self.value}"'
        return f'{"set" if self.kind == "set_alias" else "revert"} alias "{self.name}"'


@dataclass(slots=True)
class PolicyResult:
    name: str
    version: str
    digest: Annotated[str, Field(description="sha256 of the policy's canonical text.")]
    source: Annotated[str, Field(description="The file the policy was loaded from.")]
    outcome: Outcome
    rules: list[RuleResult]
    actions: list[PlannedAction] = field(default_factory=list)


@dataclass(slots=True)
class SubjectSummary:
    reference: str
    source: str
    digest: str
    model: str | None = None
    version: str | None = None


@dataclass(slots=True)
class Counts:
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    errored: int = 0
    waived: int = 0
    pending: int = 0


class Decision(BaseModel):
    schema_: Literal["pml-policy/decision"] = Field(default="pml-policy/decision", alias="schema")
    schema_version: int = DECISION_SCHEMA_VERSION
    id: str
    kind: Literal["decision", "plan", "recheck"] = Field(
        default="decision",
        description="plan: a govern run without --apply, recorded but never a gating decision; recheck: the model "
        "in production re-evaluated on its monitoring evidence (1.1).",
    )
    time: dt.datetime
    engine: str
    subject: SubjectSummary
    champion: SubjectSummary | None = None
    outcome: Outcome
    policies: list[PolicyResult]
    waivers_used: list[str] = Field(default_factory=list)
    expired_waivers: ExpiredWaivers = Field(default_factory=list)
    counts: Counts

    # Built on first validation or JSON dump: text output never needs it. Observed values are kept
    # as read, so NaN and infinities are written "NaN" and "Infinity" in JSON, not null.
    model_config = ConfigDict(populate_by_name=True, defer_build=True, ser_json_inf_nan="strings")

    @classmethod
    def assembled(cls, **fields: Any) -> Decision:
        """A decision from values the evaluator built and typed itself, every field given by name:
        what model_construct does without its per-field alias and default lookups (a twentieth of
        an evaluation). The pydantic attributes set are the ones model_construct sets."""
        if fields.keys() != _DECISION_FIELDS:
            raise TypeError(f"Decision.assembled needs exactly {sorted(_DECISION_FIELDS)}")
        made = cls.__new__(cls)
        object.__setattr__(made, "__dict__", fields)
        object.__setattr__(made, "__pydantic_fields_set__", set(_DECISION_FIELDS))
        object.__setattr__(made, "__pydantic_extra__", None)
        object.__setattr__(made, "__pydantic_private__", None)
        return made

    @property
    def rules(self) -> list[RuleResult]:
        return [r for p in self.policies for r in p.rules]

    @property
    def actions(self) -> list[PlannedAction]:
        """The actions planned: what `--apply` would make."""
        return [a for p in self.policies for a in p.actions if a.state == "planned"]

    @property
    def withheld(self) -> list[PlannedAction]:
        """`on pass` actions of policies that passed, held back because the whole decision did not."""
        return [a for p in self.policies for a in p.actions if a.state == "withheld"]


_DECISION_FIELDS = Decision.model_fields.keys()


def combine(outcomes: list[Outcome]) -> Outcome:
    """The worst of several outcomes."""
    return max(outcomes, key=SEVERITY.__getitem__, default="pass")
