"""`govern` as a library call: decide every candidate version of a registered model in one pass,
rank, plan the registry changes, and apply them with each change recorded.

>>> import pml_policy
>>> result = pml_policy.govern("credit-scorer", policies, MlflowAdapter(config))  # doctest: +SKIP
>>> [c.describe() for c in result.changes]                                    # doctest: +SKIP
['alias "champion" -> version 3', ...]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pml_policy.adapters.base import Registry, RegistryState
from pml_policy.engine import Decision, PolicySet, Subject, backend
from pml_policy.engine.checker import reads_artifacts, reads_card
from pml_policy.engine.rank import order, ranker

from .approving import attach
from .plan import Change, Ranker, plan


@dataclass
class Governed:
    """One govern pass: each candidate with its decision and the champion it was judged against."""

    subjects: list[Subject]
    decisions: list[Decision]
    champions: list[Subject | None]
    changes: list[Change]
    champion: Subject | None  # the alias holder before this pass

    def as_plan(self) -> None:
        """Recorded without --apply: a plan, never a gating decision (reports leave it out)."""
        for d in self.decisions:
            d.kind = "plan"


def govern(
    model: str,
    policies: PolicySet,
    adapter: Registry,
    candidates: str = "all",
    data: dict[str, Any] | None = None,
    audit_url: str | None = None,
) -> Governed:
    """Read the candidates in batches, decide each (with the approvals recorded in the log at
    `audit_url`), and plan the registry changes. A pending version never receives an alias."""
    data = data or {}
    policies = policies.without_alias(adapter.champion_alias)  # production policies are recheck's
    tag_keys = policies.action_tags
    applicable = policies.applicable(model)
    artifacts = any(p.tree is None or reads_artifacts(p.tree) for p in applicable)
    card = any(p.tree is None or reads_card(p.tree) for p in applicable)
    subjects, registry = adapter.versions(model, candidates, tag_keys, artifacts, card)
    champion = _champion(adapter, model, registry, subjects)
    attach(subjects, policies, audit_url)
    evaluator = backend("python")
    rank = rank_with(policies, data)
    champions: list[Subject | None] = [champion] * len(subjects)
    decisions = [evaluator.evaluate(policies, s, champion, data) for s in subjects]
    changes = plan(list(zip(subjects, decisions)), registry, rank)
    # Judge the others against the champion this pass leaves in place, not the one it replaces:
    # otherwise a second pass, seeing the new champion, would decide (and tag) them differently.
    promoted = next(
        (
            c.version
            for c in changes
            if c.kind == "set_alias" and c.name == adapter.champion_alias and c.state == "planned"
        ),
        None,
    )
    if promoted is not None:
        winner = next(s for s in subjects if s.model.version == promoted)
        champions = [champion if s is winner else winner for s in subjects]
        decisions = [
            d if s is winner else evaluator.evaluate(policies, s, winner, data) for s, d in zip(subjects, decisions)
        ]
        changes = plan(list(zip(subjects, decisions)), registry, rank)
    return Governed(subjects, decisions, champions, changes, champion)


def rank_with(policies: PolicySet, data: dict[str, Any]) -> Ranker:
    """The ranking govern uses: `rank by` of the policy that sets the alias, best first."""
    rankers: dict[str, Any] = {}

    def rank(policy_name: str, contenders: list[tuple[Subject, Decision]]) -> list[Subject]:
        policy = policies.get(policy_name)
        if policy_name not in rankers:
            rankers[policy_name] = ranker(policy, data)
        value = rankers[policy_name]
        descending = policy.rank is None or policy.rank.order == "desc"
        return order([(s, value(s)) for s, _ in contenders], descending)

    return rank


def _champion(adapter: Registry, model: str, registry: RegistryState, subjects: list[Subject]) -> Subject | None:
    holder = registry.aliases.get(adapter.champion_alias)
    if holder is None:
        return None
    for s in subjects:  # usually among the candidates: no second read
        if s.model.version == holder:
            return s
    return adapter.fetch(adapter.reference(model, holder))
