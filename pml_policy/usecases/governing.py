"""`govern`: the one govern sequence. Read every candidate version of a registered model in
batches, decide each (with the approvals recorded for it), rank, plan the registry changes, record
the decisions (a plan without apply), and with apply make the changes, each recorded as it is made.
The CLI's `govern`, the service's jobs and `POST /v1/govern`, its sweep and an approval that lets a
version pass all run this function.

>>> governed = pml_policy.govern(ws, "credit-scorer", apply=True)    # doctest: +SKIP
>>> [c.describe() for c in governed.changes]                            # doctest: +SKIP
['tag governance.status = "approved" on version 3', 'alias "champion" -> version 3']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pml_policy.adapters.base import Registry, RegistryState
from pml_policy.adapters.lookup import registry_for
from pml_policy.audit.standing import failed_rechecks
from pml_policy.base.errors import EXIT_EVIDENCE, EXIT_PASS, EXIT_USAGE, EvidenceError, NoPolicyApplies
from pml_policy.engine import Decision, PolicySet, Subject
from pml_policy.engine.checker import reads_artifacts, reads_card
from pml_policy.engine.rank import order, ranker

from .approving import attach
from .plan import Change, Held, Ranker, plan
from .recording import Recorded, apply_changes, conclude
from .unchanged import keep_changed, same_evidence
from .workspace import Workspace


@dataclass
class Governed:
    """One govern pass of a model: each candidate with its decision and the champion it was judged
    against, the changes planned (and with apply, made), and where the decisions were recorded."""

    model: str
    subjects: list[Subject] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    champions: list[Subject | None] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    champion: Subject | None = None  # the alias holder before this pass
    state: RegistryState | None = None  # the registry as this pass read it (aliases, each version's tags)
    held: dict[str, Held] = field(default_factory=dict)  # versions that failed in production (held_back)
    recorded: Recorded | None = None
    applied: bool = False
    standing: int = 0  # versions whose decision said nothing new (changed_only): not recorded again

    @property
    def failed(self) -> bool:
        """Whether a registry change failed (the log records what was made)."""
        return any(c.state == "failed" for c in self.changes)

    @property
    def exit_code(self) -> int:
        """3 when a registry change failed; else 0, whatever the candidates' outcomes."""
        return EXIT_EVIDENCE if self.failed else EXIT_PASS

    def as_plan(self) -> None:
        """Recorded without apply: a plan, never a gating decision (reports leave it out)."""
        for d in self.decisions:
            d.kind = "plan"


def govern(
    ws: Workspace,
    model: str,
    registry: Registry | None = None,
    *,
    candidates: str = "all",
    apply: bool = False,
    changed_only: bool = False,
) -> Governed:
    """The one govern sequence (the module's docstring). registry: default the workspace's; a
    model with no candidate version records nothing. candidates: all | new | ALIAS | tag:KEY=VALUE.
    changed_only (the service's reconcile): record only the decisions that say something new
    (`unchanged.keep_changed`); the changes still follow every version's decision."""
    registry = registry or ws.registry()
    governed = decide_versions(ws, model, registry, candidates)
    if not governed.subjects:
        return governed
    if not apply:
        governed.as_plan()
    if changed_only:
        governed.standing = standing_only(ws, governed, registry, "decision" if apply else "plan")
    if governed.decisions:
        governed.recorded = conclude(ws, governed, governed.changes, registry, apply)
    elif apply:
        apply_changes(ws, governed.changes, registry)
    governed.applied = apply
    return governed


def decide_versions(ws: Workspace, model: str, registry: Registry, candidates: str = "all") -> Governed:
    """Read the candidates in batches, decide each, rank and plan; nothing recorded. A pending
    version never receives an alias; production policies (on the champion alias) are recheck's."""
    policies = ws.policies.without_alias(registry.champion_alias)
    applicable = policies.applicable(model)
    artifacts = any(p.tree is None or reads_artifacts(p.tree) for p in applicable)
    card = any(p.tree is None or reads_card(p.tree) for p in applicable)
    subjects, state = registry.versions(model, candidates, policies.action_tags, artifacts, card)
    champion = _champion(registry, model, state, subjects)
    attach(ws, subjects, policies)
    evaluate = ws.evaluator.evaluate
    rank = rank_with(policies, ws.data)
    decisions = [evaluate(policies, s, champion, ws.data) for s in subjects]
    champions: list[Subject | None] = [champion] * len(subjects)
    held = held_back(ws, model, subjects)
    changes = plan(list(zip(subjects, decisions)), state, rank, held_back=held)
    # Judge the others against the champion this pass leaves in place, not the one it replaces:
    # otherwise a second pass, seeing the new champion, would decide (and tag) them differently.
    winner = _promoted(changes, registry.champion_alias, subjects)
    if winner is not None:
        champions = [champion if s is winner else winner for s in subjects]
        decisions = [d if s is winner else evaluate(policies, s, winner, ws.data) for s, d in zip(subjects, decisions)]
        changes = plan(list(zip(subjects, decisions)), state, rank, held_back=held)
    return Governed(model, subjects, decisions, champions, changes, champion, state, held)


def standing_only(ws: Workspace, governed: Governed, registry: Registry, kind: str) -> int:
    """What the service's reconcile records and follows (`unchanged.keep_changed`): the decisions
    that say something new; versions whose standing decision stands, the changes planned again
    with it. `status` shows the same desired state."""
    rank = rank_with(ws.policies.without_alias(registry.champion_alias), ws.data)

    def replan(judged: list[tuple[Subject, Decision]]) -> list[Change]:
        return plan(judged, governed.state or RegistryState({}), rank, held_back=governed.held)

    return keep_changed(ws, governed, kind, replan)


def held_back(ws: Workspace, model: str, subjects: list[Subject]) -> dict[str, Held]:
    """Versions that failed their latest re-check in production and whose evidence has not changed
    since (the tags and aliases governance writes, and the monitoring report, aside): not promoted
    again, and their re-check's tags kept, so a reverted champion does not flap back (alias or tag)
    at the next govern pass."""
    store = ws.log.existing()
    failed = failed_rechecks(store.db, model) if store is not None else {}
    if not failed:
        return {}
    managed = ws.policies.managed_tags
    return {
        v: Held(f"version {v} failed its re-check in production and has not changed since", f.decision, f.tags)
        for s in subjects
        if (f := failed.get(v := s.model.version or "")) is not None and same_evidence(s, f.subject, managed)
    }


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


def _promoted(changes: list[Change], alias: str, subjects: list[Subject]) -> Subject | None:
    version = next(
        (c.version for c in changes if c.kind == "set_alias" and c.name == alias and c.state == "planned"), None
    )
    return next((s for s in subjects if s.model.version == version), None) if version is not None else None


def _champion(registry: Registry, model: str, state: RegistryState, subjects: list[Subject]) -> Subject | None:
    holder = state.aliases.get(registry.champion_alias)
    if holder is None:
        return None
    for s in subjects:  # usually among the candidates: no second read
        if s.model.version == holder:
            return s
    return registry.fetch(registry.reference(model, holder))


# ---- several models: `pml-policy govern MODEL... | --all` ----------------------------------------


@dataclass
class ModelGoverned:
    """One model of a `govern` run: its pass, or the error that stopped it (the others go on)."""

    target: str
    governed: Governed | None = None
    error: EvidenceError | NoPolicyApplies | None = None


@dataclass
class GovernRun:
    """Every model a `govern` command named, in order; its exit code."""

    models: list[ModelGoverned]
    named: bool  # models were named (not --all): one that no policy covers is a usage error

    @property
    def exit_code(self) -> int:
        """3 when a model could not be read or a change failed; 2 when a named model has no policy; else 0."""
        if any(isinstance(m.error, EvidenceError) or (m.governed and m.governed.failed) for m in self.models):
            return EXIT_EVIDENCE
        if self.named and any(isinstance(m.error, NoPolicyApplies) for m in self.models):
            return EXIT_USAGE
        return EXIT_PASS


def govern_models(
    ws: Workspace, targets: list[str] | tuple[str, ...] = (), *, candidates: str = "all", apply: bool = False
) -> GovernRun:
    """Govern each target (a model on MLflow, or sagemaker:GROUP), or with none every registered
    model (on the workspace's registry) that a policy applies to. With several models, one that
    cannot be read or that no policy covers is reported in its place and the others go on; with
    one, its error is raised."""
    named = bool(targets)
    chosen = targeted(ws, targets) if targets else [(ws.registry(), m) for m in every_model(ws)]
    run = GovernRun([], named)
    for registry, model in chosen:
        try:
            run.models.append(ModelGoverned(model, govern(ws, model, registry, candidates=candidates, apply=apply)))
        except (EvidenceError, NoPolicyApplies) as exc:
            if len(chosen) == 1:
                raise
            run.models.append(ModelGoverned(model, error=exc))
    return run


def targeted(ws: Workspace, targets: Sequence[str]) -> list[tuple[Registry, str]]:
    """Each target's registry and model name in it: sagemaker:GROUP, else a model on MLflow; one
    adapter per registry, shared by its models."""
    registries: dict[str, Registry] = {}
    chosen = []
    for target in targets:
        registry, model = registry_for(target, ws.adapters)
        chosen.append((registries.setdefault(registry.name, registry), model))
    return chosen


def every_model(ws: Workspace) -> list[str]:
    """The registered models that a policy applies to, in name order (a few paged listings)."""
    found = ws.registry().inventory()
    return [m for m in sorted(found) if ws.policies.applicable(m, None)]
