"""`explain --replay`: a recorded decision's evidence re-evaluated under the policies as they are now."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from pml_policy.audit.queries import Record
from pml_policy.base.errors import EXIT_PASS, NoPolicyApplies, UsageError
from pml_policy.engine import Decision, PolicySet, RuleResult, Subject, evaluate

from .workspace import Workspace


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

    @property
    def exit_code(self) -> int:
        """0: replayed (what would change is the answer, not a failure)."""
        return EXIT_PASS


def recorded_decision(row: Record) -> Decision:
    """The decision a record holds, as the evaluator made it."""
    return Decision.model_validate_json(row["body"])


def replay(ws: Workspace, ref: str) -> Replay:
    """Re-evaluate the evidence of a recorded decision (its id, a 6+ character prefix, or #SEQ) under
    the workspace's policies, at the time the decision was made, with the workspace's context data."""
    row = ws.log.store(create=False).get(ref)
    if row["kind"] in ("change", "approval"):
        raise UsageError(
            f"{ref} is a {'registry change' if row['kind'] == 'change' else 'approval'} record, not a decision",
            "show it with `pml-policy audit show`",
        )
    return replay_under(row, ws.policies, ws.data)


def replay_under(row: Record, policies: PolicySet, data: dict[str, Any] | None = None) -> Replay:
    """`replay` under policies already loaded: `impact` replays many records under one set."""
    recorded = recorded_decision(row)
    now = reevaluate(row, recorded.time, policies, data)
    return Replay(recorded, now, rule_changes(recorded, now) if now else [])


def reevaluate(
    row: Record, at: dt.datetime, policies: PolicySet, data: dict[str, Any] | None = None
) -> Decision | None:
    """The decision these policies make on a record's evidence (subject and champion) at time `at`
    (the recorded `now`); None when none of them applies to its subject."""
    evidence = json.loads(row["evidence"])
    subject = Subject.model_validate(evidence["subject"])
    champion = Subject.model_validate(evidence["champion"]) if evidence["champion"] else None
    try:
        return evaluate(policies, subject, champion, data, now=at)
    except NoPolicyApplies:
        return None


def rule_changes(before: Decision, after: Decision) -> list[RuleChange]:
    """The rules that decide otherwise in `after` than in `before`, by policy/rule: a different
    outcome, or a rule only one of them has."""
    old_rules = {r.ref: r for r in before.rules}
    new_rules = {r.ref: r for r in after.rules}
    changes = []
    for key in sorted(old_rules.keys() | new_rules.keys()):
        old, new = old_rules.get(key), new_rules.get(key)
        if old is None or new is None or old.outcome != new.outcome:
            changes.append(RuleChange(key, old, new))
    return changes
