"""`pml-policy impact`: what a policy change would decide differently on the decisions already
recorded. The latest decision on every model version in the period is re-evaluated on its recorded
evidence, at its recorded time, under the proposed policies, and compared with what was recorded
(or with the current policies on the same evidence)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from pml_policy.audit.queries import Record
from pml_policy.base.errors import EXIT_PASS, EXIT_POLICY_FAILED
from pml_policy.engine import Decision, PolicySet

from .replaying import RuleChange, recorded_decision, reevaluate, rule_changes
from .workspace import Workspace

UNGOVERNED = "not governed"  # no policy of the set applies to the subject


@dataclass
class VersionImpact:
    """One model version (or subject) whose outcome or rules would change."""

    subject: str  # "credit-scorer v3", or the subject reference when it has no model version
    decision: str  # the recorded decision's id
    time: dt.datetime
    before: str  # its outcome, as recorded or under the current policies
    after: str  # under the proposed policies, or UNGOVERNED
    rules: list[RuleChange]

    @property
    def outcome_changed(self) -> bool:
        return self.before != self.after


@dataclass
class Impact:
    proposed: list[str]  # "name version" of each proposed policy
    baseline: str  # "recorded", or "current policies" (--current)
    since: dt.datetime | None
    model: str | None
    replayed: int = 0
    changed: list[VersionImpact] = field(default_factory=list)  # only these are kept: memory stays bounded
    fail_on_change: bool = False

    @property
    def exit_code(self) -> int:
        """1 with fail_on_change when some version's outcome would change; else 0."""
        return EXIT_POLICY_FAILED if self.fail_on_change and self.outcome_changes else EXIT_PASS

    @property
    def outcome_changes(self) -> list[VersionImpact]:
        return [v for v in self.changed if v.outcome_changed]

    def now(self, outcome: str) -> list[VersionImpact]:
        """The versions that would now have this outcome and did not before."""
        return [v for v in self.outcome_changes if v.after == outcome]

    def summary(self) -> str:
        """One line: "3 of 41 versions would now fail: credit-scorer v3, …; 1 would now pass: …"."""
        if not self.replayed:
            return "no recorded decision in the period to replay"
        moves = [(o, self.now(o)) for o in ("fail", "pending", "warn", "pass", UNGOVERNED)]
        phrases = [f"{len(vs)} would now {_verb(o)}: {_names(vs)}" for o, vs in moves if vs]
        if not phrases:
            quiet = len(self.changed)
            tail = f" ({quiet} with rules that would decide otherwise)" if quiet else ""
            return f"no outcome would change on {self.replayed} version{_s(self.replayed)}{tail}"
        phrases[0] = phrases[0].replace(" would", f" of {self.replayed} version{_s(self.replayed)} would", 1)
        return "; ".join(phrases)


def impact(
    ws: Workspace,
    current: PolicySet | None = None,
    since: dt.datetime | None = None,
    model: str | None = None,
    fail_on_change: bool = False,
) -> Impact:
    """Replay the latest decision on every model version since `since` (of `model`) under the
    workspace's policies (the proposed ones); compare with the recorded decision, or with the
    current policies when given. One pass over the log, streamed; only the versions that would
    change are kept."""
    proposed, data = ws.policies, ws.data
    result = Impact(
        [f"{p.name} {p.version}" for p in proposed.policies],
        "recorded" if current is None else "current policies",
        since,
        model,
        fail_on_change=fail_on_change,
    )
    for row in ws.log.store(create=False).latest_decisions(since, model):
        result.replayed += 1
        changed = _compare(row, proposed, current, data)
        if changed is not None:
            result.changed.append(changed)
    return result


def _compare(
    row: Record, proposed: PolicySet, current: PolicySet | None, data: dict[str, Any] | None
) -> VersionImpact | None:
    recorded = recorded_decision(row)
    before: Decision | None = recorded if current is None else reevaluate(row, recorded.time, current, data)
    after = reevaluate(row, recorded.time, proposed, data)
    if before is None and after is None:
        return None
    rules = rule_changes(before or _empty(recorded), after or _empty(recorded))
    outcome_before = before.outcome if before else UNGOVERNED
    outcome_after = after.outcome if after else UNGOVERNED
    if outcome_before == outcome_after and not rules:
        return None
    model, version = row["model"], row["version"]
    subject = f"{model} v{version}" if model and version else row["subject_ref"]
    return VersionImpact(subject, row["id"], recorded.time, outcome_before, outcome_after, rules)


def _empty(decision: Decision) -> Decision:
    """A decision with no rule: the side of a comparison where no policy applies."""
    return decision.model_copy(update={"rules": []})


def _verb(outcome: str) -> str:
    return "be " + outcome if outcome == UNGOVERNED else outcome


def _names(versions: list[VersionImpact]) -> str:
    shown = ", ".join(v.subject for v in versions[:5])
    return shown + (f" and {len(versions) - 5} more" if len(versions) > 5 else "")


def _s(count: int) -> str:
    return "" if count == 1 else "s"
