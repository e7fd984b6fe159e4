"""`recheck` (DSL 1.1): re-evaluate each model's champion, as it serves, with its newest monitoring
evidence under the policies that apply to it (`applies to alias "champion"`, and the rest), record
the decision (kind `recheck`), and plan or make its `on fail` changes, among them `revert alias
"champion"`: back to the most recent earlier holder that still passes on its own evidence
(`fallback`); with none, the alias stays and the revert's tags say `failing`.

>>> run = pml_policy.recheck(ws, ["credit-scorer"], apply=True)                       # doctest: +SKIP
>>> run.models[0].decision.outcome, [c.describe() for c in run.models[0].changes]   # doctest: +SKIP
('fail', ['tag governance.status = "reverted" on version 3', 'alias "champion" -> version 2'])
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pml_policy.adapters.base import Registry
from pml_policy.adapters.monitoring import read_report
from pml_policy.audit.applied import promoted_at
from pml_policy.audit.standing import failed_rechecks
from pml_policy.base.errors import EXIT_EVIDENCE, EXIT_PASS, EXIT_POLICY_FAILED
from pml_policy.engine import Decision, Subject

from .approving import attach
from .checking import Checked, with_monitoring
from .governing import targeted
from .plan import Change, Earlier, Fallback, plan, unranked
from .recording import Recorded, conclude, record
from .workspace import Workspace


@dataclass
class Rechecked:
    """One model's re-check: its champion, the decision and where it was recorded, the changes."""

    model: str
    champion: str | None  # the version holding the alias; None: nothing to re-check
    subject: Subject | None = None
    decision: Decision | None = None
    recorded: Recorded | None = None
    changes: list[Change] = field(default_factory=list)

    # What the shared tail (recording.conclude) records: this one decision, on the champion's evidence.
    @property
    def decisions(self) -> list[Decision]:
        return [self.decision] if self.decision else []

    @property
    def subjects(self) -> list[Subject]:
        return [self.subject] if self.subject else []

    @property
    def champions(self) -> list[Subject | None]:
        return [None] * len(self.decisions)  # it is the champion


@dataclass
class RecheckRun:
    """Every model re-checked, in order; its exit code."""

    models: list[Rechecked]

    @property
    def exit_code(self) -> int:
        """3 when a registry change failed; 1 when a champion failed its re-check or awaits a sign-off."""
        if any(c.state == "failed" for r in self.models for c in r.changes):
            return EXIT_EVIDENCE
        if any(r.decision is not None and r.decision.outcome in ("fail", "pending") for r in self.models):
            return EXIT_POLICY_FAILED
        return EXIT_PASS


def recheck(
    ws: Workspace,
    targets: list[str] | tuple[str, ...] = (),
    *,
    apply: bool = False,
    monitoring: str | Path | None = None,
) -> RecheckRun:
    """Re-check the champion of each target (a model on MLflow, or sagemaker:GROUP); with none,
    of every model on the workspace's registry that has one. monitoring: one report file for every
    champion, instead of the newest one its registry has."""
    report = read_report(Path(monitoring)) if monitoring is not None else None
    chosen = targeted(ws, targets)
    if not chosen:
        registry = ws.registry()
        chosen = [(registry, model) for model in champions(registry)]
    return RecheckRun([recheck_model(ws, model, registry, apply, report) for registry, model in chosen])


def recheck_model(
    ws: Workspace, model: str, registry: Registry, apply: bool = False, monitoring: dict[str, Any] | None = None
) -> Rechecked:
    """Re-check one model's champion: read it with its monitoring evidence, decide it (no champion to
    compare with: it is the champion), plan its changes, record, and with apply make them."""
    holder = registry.state(model, []).aliases.get(registry.champion_alias)
    if holder is None:
        return Rechecked(model, None)
    fetched = registry.fetch(registry.reference(model, holder)).promoted(_promoted_at(ws, model, registry, holder))
    subject = with_monitoring(fetched, registry, ws.policies, monitoring)
    attach(ws, [subject])
    decision = ws.evaluator.evaluate(ws.policies, subject, None, ws.data)
    decision.kind = "recheck"
    state = registry.state(model, [holder])
    changes = plan([(subject, decision)], state, unranked, fallback(ws, registry))
    done = Rechecked(model, holder, subject, decision, changes=changes)
    done.recorded = conclude(ws, done, changes, registry, apply)
    return done


def _promoted_at(ws: Workspace, model: str, registry: Registry, version: str) -> dt.datetime | None:
    """When governance moved the champion alias to this version (`model.promoted_at`), from the log."""
    store = ws.log.existing()
    when = promoted_at(store.db, model, registry.champion_alias, version) if store is not None else None
    return dt.datetime.fromisoformat(when.replace("Z", "+00:00")) if when else None


def champions(registry: Registry) -> list[str]:
    """The registry's models that have a champion, in name order (a few paged listings)."""
    return sorted(m for m, state in registry.inventory().items() if registry.champion_alias in state.aliases)


def fallback(ws: Workspace, registry: Registry) -> Earlier:
    """Where `revert alias` goes: the most recent earlier holder of the alias (each was moved there
    on a decision that passed) that still passes now on its own evidence, under the policies that
    decide promotions, judged without a champion (not compared with the version being reverted:
    rules guarded by `when champion exists` are skipped). That decision is recorded, and the move
    rests on it. A version whose latest re-check failed is passed over."""

    def find(model: str, alias: str, version: str) -> Fallback:
        store = ws.log.existing()
        if store is None:
            return Fallback(None, None, "the log records no earlier holder")
        policies = ws.policies.without_alias(alias)
        failed = failed_rechecks(store.db, model)
        passed_over: list[str] = []
        for earlier in dict.fromkeys(store.alias_holders(model, alias)):
            if earlier == version:
                continue
            if earlier in failed:
                passed_over.append(f"version {earlier} failed its re-check")
                continue
            subject = registry.fetch(registry.reference(model, earlier))
            attach(ws, [subject], policies)
            decision = ws.evaluator.evaluate(policies, subject, None, ws.data)
            if decision.outcome not in ("pass", "warn"):
                passed_over.append(f"version {earlier} is {decision.outcome} now")
                continue
            seq = record(ws, Checked([decision], [subject], [None], [registry])).seqs[0]
            why = f"version {earlier} passes now on its own evidence, judged without a champion (#{seq})"
            return Fallback(earlier, decision.id, "; ".join([why, *passed_over]))
        return Fallback(None, None, "; ".join(passed_over) or f'no earlier holder of alias "{alias}"')

    return find
