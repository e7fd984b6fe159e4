"""`recheck` (DSL 1.1): re-evaluate each model's champion, as it serves, with its newest monitoring
evidence under the policies that apply to it (`applies to alias "champion"`, and the rest), record
the decision (kind `recheck`), and plan or make its `on fail` changes, among them `revert alias
"champion"`: back to the most recent earlier holder whose latest decision passed.

>>> run = pml_policy.recheck(ws, ["credit-scorer"], apply=True)                       # doctest: +SKIP
>>> run.models[0].decision.outcome, [c.describe() for c in run.models[0].changes]   # doctest: +SKIP
('fail', ['tag governance.status = "reverted" on version 3', 'alias "champion" -> version 2'])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pml_policy.adapters.base import Registry
from pml_policy.adapters.monitoring import read_report
from pml_policy.audit import AuditStore
from pml_policy.base.errors import EXIT_EVIDENCE, EXIT_PASS, EXIT_POLICY_FAILED
from pml_policy.engine import Decision, Subject

from .approving import attach
from .checking import with_monitoring
from .governing import targeted
from .plan import Change, Earlier, plan, unranked
from .recording import Recorded, conclude
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
    subject = with_monitoring(registry.fetch(registry.reference(model, holder)), registry, ws.policies, monitoring)
    attach(ws, [subject])
    decision = ws.evaluator.evaluate(ws.policies, subject, None, ws.data)
    decision.kind = "recheck"
    state = registry.state(model, [holder])
    changes = plan([(subject, decision)], state, unranked, earlier_holder(ws))
    done = Rechecked(model, holder, subject, decision, changes=changes)
    done.recorded = conclude(ws, done, changes, registry, apply)
    return done


def champions(registry: Registry) -> list[str]:
    """The registry's models that have a champion, in name order (a few paged listings)."""
    return sorted(m for m, state in registry.inventory().items() if registry.champion_alias in state.aliases)


def earlier_holder(ws: Workspace) -> Earlier:
    """Where `revert alias` goes: the most recent earlier holder of the alias (as `--apply` moved it)
    whose latest recorded decision or re-check passed, with that decision's id."""

    def find(model: str, alias: str, version: str) -> tuple[str, str] | None:
        store = ws.log.existing()
        return _earlier(store, model, alias, version) if store is not None else None

    return find


def _earlier(store: AuditStore, model: str, alias: str, version: str) -> tuple[str, str] | None:
    for earlier in store.alias_holders(model, alias):
        latest = store.latest_outcome(model, earlier)
        if earlier != version and latest is not None and latest.outcome in ("pass", "warn"):
            return earlier, latest.decision
    return None
