"""The rows a period's aggregates return (aggregates.py counts them; reports/data.py reads them)."""

from __future__ import annotations

from typing import Any, NamedTuple


class OutcomeCount(NamedTuple):
    outcome: str
    decisions: int


class DayCount(NamedTuple):
    day: str  # YYYY-MM-DD
    outcome: str
    decisions: int


class RuleFailureCount(NamedTuple):
    policy: str
    rule: str
    failures: int
    last_message: str
    last_observed: dict[str, Any]
    enforce: str  # as of its latest failure


class ModelLatest(NamedTuple):
    model: str
    decisions: int
    last_time: str
    last_version: str | None
    last_outcome: str
    why: list[str]  # policy/rule that blocked the latest decision
    champion: str | None  # the version the champion alias was last moved to by --apply


class WaiverCount(NamedTuple):
    waiver: str
    policy: str
    rule: str
    uses: int
    expired_uses: int


class ApprovalGiven(NamedTuple):
    seq: int
    time: str
    model: str
    version: str
    role: str
    approver: str
    reason: str
    digest: str
    expires: str | None
    revoked_by: int | None  # the record that withdrew it, up to the period's end
    latest_evidence: str | None  # the subject (JSON) of the latest decision on that version, up to the period's end


class Awaiting(NamedTuple):
    model: str
    version: str
    time: str
    rules: list[str]  # "policy/rule: message" of each rule awaiting a sign-off


class RecheckRow(NamedTuple):
    seq: int
    time: str
    model: str
    version: str
    outcome: str
    monitoring: dict[str, Any] | None  # the report the re-check read, from its recorded evidence


class RevertRow(NamedTuple):
    time: str
    model: str
    version: str  # the alias went back to this version
    detail: str


class PolicyVersionCount(NamedTuple):
    name: str
    version: str
    digest: str
    decisions: int
    first: str
    last: str
