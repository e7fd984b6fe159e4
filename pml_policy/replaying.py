"""`explain --replay`: a recorded decision's evidence re-evaluated under the policies as they are now."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .audit.queries import Record
from .engine import Decision, RuleResult, Subject, evaluate, load
from .errors import NoPolicyApplies


@dataclass
class RuleChange:
    rule: str  # policy/rule
    before: RuleResult | None  # None: a rule the recorded decision did not have
    after: RuleResult | None  # None: a rule the current policies no longer have


@dataclass
class Replay:
    recorded: Decision
    now: Decision | None  # None: no current policy applies to the subject
    changes: list[RuleChange]  # the rules that would now decide otherwise, by policy/rule


def recorded_decision(row: Record) -> Decision:
    """The decision a record holds, as the evaluator made it."""
    return Decision.model_validate_json(row["body"])


def replay(row: Record, policy_paths: list[str], data: dict[str, Any] | None = None) -> Replay:
    """Re-evaluate the evidence a record holds (subject and champion) under the policies at these
    paths, at the time the decision was made, with this context data."""
    recorded = recorded_decision(row)
    evidence = json.loads(row["evidence"])
    subject = Subject.model_validate(evidence["subject"])
    champion = Subject.model_validate(evidence["champion"]) if evidence["champion"] else None
    try:
        now = evaluate(load(policy_paths), subject, champion, data, now=recorded.time)  # the recorded `now`
    except NoPolicyApplies:
        return Replay(recorded, None, [])
    before = {r.ref: r for r in recorded.rules}
    after = {r.ref: r for r in now.rules}
    changes = []
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key), after.get(key)
        if old is None or new is None or old.outcome != new.outcome:
            changes.append(RuleChange(key, old, new))
    return Replay(recorded, now, changes)
