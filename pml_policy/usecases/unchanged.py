"""Decide only what changed: a reconcile records a version's fresh decision only when it says
something the decision the version stands on (its latest of that kind) does not: another outcome
or rule result (observed values included: a champion's metric, an approval, the time a rule reads),
other policy versions, another champion, or other evidence (without the tags and aliases governance
itself writes, as approvals bind it). Otherwise the standing decision stays the record, and the
changes planned from the fresh one rest on it. The log grows with the changes, not with the events
times the versions."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Container
from typing import TYPE_CHECKING, Any

from pml_policy.audit.rows import json_of
from pml_policy.audit.standing import standing as standing_decisions
from pml_policy.engine import Decision, Subject
from pml_policy.engine.signoffs import bound_digest

from .plan import Change
from .workspace import Workspace

if TYPE_CHECKING:
    from .governing import Governed


def substance(body: dict[str, Any], holder: bool = False) -> str:
    """What a decision says, without when it was made, its id and the evidence it was made on (the
    caller compares that, as approvals bind it). For the version that holds (or is to hold) the
    alias, `holder`: the champion it was compared with is left out (it was judged against the
    champion it replaced; a deleted alias or its own promotion is no reason to judge it again), its
    rules' outcomes still count."""

    def observed(r: dict[str, Any]) -> Any:
        seen = r.get("observed")
        if holder and isinstance(seen, dict):
            return {k: v for k, v in seen.items() if not k.startswith("champion")}
        return seen

    said = {
        "outcome": body["outcome"],
        "champion": None if holder else (body.get("champion") or {}).get("reference"),
        "waivers": body.get("waivers_used"),
        "policies": [
            {
                "policy": [p["name"], p["version"], p["digest"], p["outcome"]],
                "actions": p.get("actions"),
                "rules": [[r["rule"], r["outcome"], observed(r), r.get("waiver")] for r in p["rules"]],
            }
            for p in body["policies"]
        ],
    }
    return hashlib.sha256(json.dumps(said, sort_keys=True, default=str).encode()).hexdigest()


Replan = Callable[[list[tuple[Subject, Decision]]], list[Change]]


def keep_changed(ws: Workspace, governed: Governed, kind: str, replan: Replan) -> int:
    """Leave out of `governed` the decisions that say nothing new; the changes planned from them
    rest on the standing decisions instead. A version whose standing decision passed, on this very
    evidence under these policies, is no promotion candidate when only the champion it would be
    compared with changed: that decision stands (a better version coming later does not make it
    rejected), and the changes are planned again with it (`replan`). Returns how many stood."""
    store = ws.log.existing()
    if store is None or not governed.subjects:
        return 0
    standing = standing_decisions(store.db, governed.model, kind)
    managed = ws.policies.managed_tags
    holders = {c.version for c in governed.changes if c.kind == "set_alias" and c.state in ("planned", "unchanged")}
    moved: dict[str, str] = {}  # fresh decision id -> the standing decision's id
    judged: list[Decision] = []  # every version's decision the changes follow: fresh, or standing
    kept = []
    for subject, decision, champion in zip(governed.subjects, governed.decisions, governed.champions):
        old = standing.get(subject.model.version or "")
        holder = subject.model.version in holders
        if old is None or not same_evidence(subject, old.subject, managed):
            kept.append((subject, decision, champion))  # new, or other evidence: a decision to record
        elif substance(json_of(decision)[0], holder) == substance(old.body, holder):
            moved[decision.id] = old.decision
        elif _passed_under(old.body, decision):
            decision = Decision.model_validate(old.body)
            moved[decision.id] = old.decision
        else:
            kept.append((subject, decision, champion))
        judged.append(decision)
    if any(a is not b for a, b in zip(judged, governed.decisions)):
        governed.changes = replan(list(zip(governed.subjects, judged)))
    for change in governed.changes:
        change.decision_id = moved.get(change.decision_id, change.decision_id)
    governed.subjects = [s for s, _, _ in kept]
    governed.decisions = [d for _, d, _ in kept]
    governed.champions = [c for _, _, c in kept]
    return len(moved)


def same_evidence(subject: Subject, recorded: str, managed: Container[str]) -> bool:
    """`subject` holds the evidence recorded (JSON) again, the tags and aliases governance writes,
    operational tags and monitoring aside (as approvals bind it)."""
    return bound_digest(subject, managed) == bound_digest(Subject.model_validate_json(recorded), managed)


def _passed_under(body: dict[str, Any], fresh: Decision) -> bool:
    """The standing decision (on the same evidence) passed under the policy versions `fresh` used."""
    versions = sorted((p.name, p.version, p.digest) for p in fresh.policies)
    return (
        body["outcome"] in ("pass", "warn")
        and sorted((p["name"], p["version"], p["digest"]) for p in body["policies"]) == versions
    )
