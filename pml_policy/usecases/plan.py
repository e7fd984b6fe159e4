"""Registry changes: from decisions to the changes that make a registry say so, and making them.

`plan` is pure: it turns the decisions of a model's candidate versions, and the registry as it is,
into the changes that make the registry say what the policies decided. Every evaluated version gets
the tags of its `on pass` / `on fail`; an alias goes to one version only, the best passing one by the
`rank by` of the policy that sets it (ties to the newer version), and never to a version whose
decision failed, even when the policy that sets it passed. A change already in effect is
`unchanged`, so applying twice changes nothing.

`apply` makes the planned changes, tags before aliases (a run cut short never promotes a version
whose tags were not written), and records each one in the audit log as soon as it is made: the log
never says applied for a change the registry does not have. It stops at the first failure; a rerun
plans again from the registry as it then is and finishes the job.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, NamedTuple

from pml_policy.adapters.base import Registry, RegistryState
from pml_policy.base.errors import EvidenceError
from pml_policy.engine.decision import Decision
from pml_policy.engine.subject import Subject

State = Literal["planned", "unchanged", "withheld", "outranked", "applied", "failed"]


@dataclass
class Change:
    """One registry change for one model version."""

    model: str
    version: str
    kind: Literal["set_alias", "set_tag", "revert_alias"]  # a revert that can be made is a set_alias
    name: str
    value: str | None
    policy: str
    decision_id: str
    state: State = "planned"
    detail: str = ""

    def describe(self) -> str:
        if self.kind == "set_alias":
            return f'alias "{self.name}" -> version {self.version}'
        if self.kind == "revert_alias":
            return f'revert alias "{self.name}" from version {self.version}'
        return f'tag {self.name} = "{self.value}" on version {self.version}'


Ranker = Callable[[str, list[tuple[Subject, Decision]]], list[Subject]]
FAILING = "failing"  # what a tag of a revert that has no target says instead (the version keeps the alias)


class Fallback(NamedTuple):
    """Where `revert alias` goes: the version and the decision the move rests on (None: nowhere),
    and why that one and not the others."""

    version: str | None
    decision: str | None
    why: str


class Held(NamedTuple):
    """A version that failed its re-check in production and has not changed since: why it may not
    take an alias, and the tags that re-check set (tag -> (policy, value)) resting on its decision,
    which stand over the promotion decision's (a reverted version does not read `approved` again)."""

    why: str
    decision: str
    tags: dict[str, tuple[str, str]]


# (model, alias, version) -> the Fallback of a revert of `version`.
Earlier = Callable[[str, str, str], Fallback]


def plan(
    candidates: list[tuple[Subject, Decision]],
    registry: RegistryState,
    rank: Ranker,
    earlier: Earlier | None = None,
    held_back: dict[str, Held] | None = None,
) -> list[Change]:
    """The changes, tags first and aliases last. `rank(policy, contenders)` orders the contenders
    for an alias set by `policy`, best first; `earlier` finds where `revert alias` goes (without
    it, a revert is withheld). `held_back`: the versions that failed in production and have not
    changed since: no alias, and their re-check's tags stand. A revert that is withheld leaves the
    version holding the alias, so the tags its `on fail` sets say `failing`, never that it was
    reverted."""
    held_back = held_back or {}
    tags: list[Change] = []
    contests: dict[str, tuple[str, list[tuple[Subject, Decision]]]] = {}  # alias -> (policy, contenders)
    withheld: list[Change] = []
    reverts: list[Change] = []
    for subject, decision in candidates:
        model, version = subject.model.name or "", subject.model.version or ""
        for action in [*decision.actions, *decision.withheld]:
            change = Change(model, version, action.kind, action.name, action.value, action.policy, decision.id)
            if action.kind == "revert_alias":
                reverts.append(_revert(change, registry, earlier))
                continue
            if action.state == "withheld":  # the engine held it back: the whole decision failed
                change.state = "withheld"
                change.detail = (
                    f'policy "{action.policy}" passed, but the decision failed (blocked by {action.blocked_by})'
                )
                withheld.append(change)
            elif action.kind == "set_tag":
                held = held_back.get(version)
                if held is not None and action.name in held.tags:
                    change.policy, change.value = held.tags[action.name]
                    change.decision_id, change.detail = held.decision, held.why
                current = registry.tags.get(version, {}).get(action.name)
                change.state = "unchanged" if current == change.value else "planned"
                tags.append(change)
            elif decision.outcome in ("fail", "pending"):  # from `on fail` / `on pending`: never to such a version
                change.state, change.detail = "withheld", f"the decision is {decision.outcome}"
                withheld.append(change)
            elif version in held_back:
                change.state, change.detail = "withheld", held_back[version].why
                withheld.append(change)
            else:
                contests.setdefault(action.name, (action.policy, []))[1].append((subject, decision))
    aliases: list[Change] = []
    for alias, (policy, contenders) in contests.items():
        ranked = rank(policy, contenders)
        by_version = {s.model.version: d for s, d in contenders}
        for place, subject in enumerate(ranked):
            version = subject.model.version or ""
            change = Change(subject.model.name or "", version, "set_alias", alias, None, policy, by_version[version].id)
            if place == 0:
                change.state = "unchanged" if registry.aliases.get(alias) == version else "planned"
                if change.state == "planned" and alias in registry.aliases:
                    change.detail = f"from version {registry.aliases[alias]}"
            else:
                change.state, change.detail = "outranked", f"version {ranked[0].model.version} ranks higher"
            aliases.append(change)
    for revert in reverts:
        if revert.kind == "revert_alias" and revert.state == "withheld":
            for tag in tags:
                if (tag.version, tag.policy, tag.decision_id) == (revert.version, revert.policy, revert.decision_id):
                    tag.value, tag.detail = FAILING, "the revert has no target: the version keeps the alias"
                    current = registry.tags.get(tag.version, {}).get(tag.name)
                    tag.state = "unchanged" if current == FAILING else "planned"
    return tags + withheld + aliases + reverts


def unranked(_policy: str, contenders: list[tuple[Subject, Decision]]) -> list[Subject]:
    """The Ranker of a plan for one subject (check --apply, recheck): nothing to rank."""
    return [s for s, _ in contenders]


def _revert(change: Change, registry: RegistryState, earlier: Earlier | None) -> Change:
    """`revert alias "A"` on a version that failed: A back to the Fallback `earlier` finds (a
    set_alias resting on the decision it names); withheld, saying why, when there is none. The
    alias is never simply removed."""
    alias, version = change.name, change.version
    if registry.aliases.get(alias) != version:
        change.state, change.detail = "unchanged", f'version {version} does not hold alias "{alias}"'
        return change
    target = earlier(change.model, alias, version) if earlier else None
    if target is None or target.version is None or target.decision is None:
        change.state = "withheld"
        change.detail = f'no earlier holder of alias "{alias}" passes now; it stays'
        if target is not None and target.why:
            change.detail += f" ({target.why})"
        return change
    why = f"reverted from version {version}, whose decision {change.decision_id} failed; {target.why}"
    to = target.version
    return Change(change.model, to, "set_alias", alias, None, change.policy, target.decision, "planned", why)


def apply(changes: list[Change], adapter: Registry, record: Callable[[Change], None]) -> list[Change]:
    """Make each planned change through the adapter and record it at once; stop at the first
    failure (recorded too). Returns the changes that were attempted."""
    attempted = []
    for change in changes:
        if change.state != "planned":
            continue
        attempted.append(change)
        try:
            if change.kind == "set_tag":
                adapter.set_tag(change.model, change.version, change.name, change.value or "")
            else:
                also = adapter.set_alias(change.model, change.version, change.name)
                change.detail = "; ".join(filter(None, [change.detail, also]))
        except EvidenceError as exc:
            change.state, change.detail = "failed", exc.message
            record(change)
            break
        change.state = "applied"
        record(change)
    return attempted


def summary(changes: list[Change]) -> str:
    counts: dict[str, int] = {}
    for c in changes:
        counts[c.state] = counts.get(c.state, 0) + 1
    return ", ".join(f"{n} {state}" for state, n in counts.items()) or "no changes"
