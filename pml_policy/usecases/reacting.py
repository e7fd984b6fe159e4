"""What governance does when a registry event arrives: the use case the service's workers (and its
reconciliation sweep) call, over the same govern, record and apply as the CLI.

- A version registered, or a version's tags changed: govern its model (every version: the best
  passing one holds the alias, every one has the tags of its decision), plan or apply.
- The champion alias moved: the holder needs a passing decision under the current policies. The
  service's own moves are recognised from the log and left alone (no loops); a hand move to a
  version that does not pass is reverted to the most recent earlier holder that passes
  (`revert`), tagged `governance.violation` (`flag`), or only recorded (`off`).

>>> ctx = Governance(policies, AdapterConfig(tracking_uri="http://mlflow:5000"), AUDIT_URL)  # doctest: +SKIP
>>> react(ctx, "model_version.created", {"name": "credit-scorer", "version": "4"})        # doctest: +SKIP
'governed credit-scorer: 4 decisions #12..#15; 2 applied, 6 unchanged'
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal

from pml_policy.adapters.base import AdapterConfig, Registry
from pml_policy.adapters.lookup import registry_named
from pml_policy.audit import AuditStore
from pml_policy.base.errors import UsageError
from pml_policy.engine import PolicySet, backend

from .approving import attach
from .checking import CheckRun, Recorded, apply_recorded, record
from .governing import Governed, govern
from .plan import Change, summary
from .rechecking import champions, earlier_holder, recheck

Enforce = Literal["revert", "flag", "off"]
VIOLATION_TAG = "governance.violation"
TAG_EVENTS = ("model_version_tag.set", "model_version_tag.deleted")
GOVERNED_EVENTS = ("model_version.created", *TAG_EVENTS)
ALIAS_EVENTS = ("model_version_alias.created",)
RECHECK_EVENT = "pml.recheck"  # the service's schedule (--recheck CRON): re-check a model's champion


@dataclass
class Governance:
    """What the service governs with: the policies in force, where the registry and the log are,
    and what it may do."""

    policies: PolicySet
    config: AdapterConfig
    audit_url: str
    apply: bool = False
    enforce: Enforce = "revert"
    signing_key: str | None = None
    by: str = "pml-policy service"  # the actor recorded for what the service does on its own
    data: dict[str, Any] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)  # every registry change planned or made, for metrics
    outcomes: list[str] = field(default_factory=list)  # every decision recorded, for metrics
    registry_kind: str = "mlflow"  # mlflow | sagemaker: the registry the service governs

    def registry(self) -> Registry:
        return registry_named(self.registry_kind, self.config)


def react(ctx: Governance, event: str, data: dict[str, Any]) -> str:
    """Handle one registry event; returns one line saying what was done (the inbox keeps it)."""
    model = str(data.get("name") or "")
    if not model:
        raise UsageError(f"{event}: the event names no model")
    if event in TAG_EVENTS and _own_tag(ctx, model, data, event):
        return f"{model}: tag {data.get('key')} on version {data.get('version')} was governance's own change"
    if event in GOVERNED_EVENTS:
        return govern_model(ctx, model)
    if event in ALIAS_EVENTS:
        return enforce_alias(ctx, model, str(data.get("alias") or ""), str(data.get("version") or ""))
    if event == RECHECK_EVENT:
        return recheck_model(ctx, model)
    return f"{event}: not an event governance acts on"


def sweep(ctx: Governance) -> list[tuple[str, str, dict[str, Any]]]:
    """What registry events may have been missed: (delivery id, event, data) for each model with a
    version no decision under the current policies covers (govern it), and each champion whose
    latest decision under them does not pass (enforce). The ids name what was found, so a sweep that
    finds the same again adds no second job."""
    registry = ctx.registry().inventory()
    store = AuditStore(ctx.audit_url)
    try:
        latest = store.latest_per_version()
        jobs = _missed(ctx, store, registry, latest)
    finally:
        store.close()
    return jobs


def _missed(
    ctx: Governance, store: AuditStore, registry: dict[str, Any], latest: dict[tuple[str, str], Any]
) -> list[tuple[str, str, dict[str, Any]]]:
    jobs: list[tuple[str, str, dict[str, Any]]] = []
    policies = ctx.policies.without_alias(ctx.config.champion_alias)  # production policies: recheck's
    for model, state in sorted(registry.items()):
        if not policies.applicable(model, None):
            continue
        held: dict[str, list[str]] = {}
        for alias, version in state.aliases.items():
            held.setdefault(version, []).append(alias)
        digests = {v: sorted(p.digest for p in policies.applicable(model, held.get(v, []))) for v in state.tags}
        missed = [
            v
            for v in sorted(state.tags, key=int)
            if sorted(getattr(latest.get((model, v)), "digests", [])) != digests[v]
        ]
        if missed:
            name = key(model, missed, sorted(digests.items()))
            jobs.append((f"sweep:govern:{name}", "model_version.created", {"name": model, "version": missed[-1]}))
            continue
        alias = ctx.config.champion_alias
        holder = state.aliases.get(alias)
        decided = latest.get((model, holder)) if holder else None
        if decided is None or decided.outcome in ("pass", "warn"):
            continue
        moved = store.alias_holders(model, alias)
        if moved and moved[0] == holder:
            continue  # governance put it there: re-checking a champion is `recheck`'s, not the sweep's
        # Named by the state, not by a decision: enforcing records a decision, and a champion that
        # cannot be moved (--enforce off, plan only) must not be enforced again at every sweep.
        data = {"name": model, "alias": alias, "version": holder}
        jobs.append(
            (f"sweep:alias:{key(model, holder, digests.get(holder or ''))}", "model_version_alias.created", data)
        )
    return jobs


def key(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:24]


def _own_tag(ctx: Governance, model: str, data: dict[str, Any], event: str) -> bool:
    """A tag set to the value governance last applied to it: the echo of its own change."""
    if event != "model_version_tag.set":
        return False
    store = AuditStore(ctx.audit_url)
    try:
        return store.latest_tag(model, str(data.get("version")), str(data.get("key"))) == data.get("value")
    finally:
        store.close()


def governed(ctx: Governance, model: str) -> tuple[Governed, Recorded] | None:
    """Govern every version of a model, record it (a plan without apply), and with apply make the
    changes; None when the model has no version. The worker and `POST /v1/govern` both call it."""
    adapter = ctx.registry()
    result = govern(model, ctx.policies, adapter, "all", ctx.data, ctx.audit_url)
    if not result.subjects:
        return None
    if not ctx.apply:
        result.as_plan()
    recorded = record(result, ctx.audit_url, ctx.signing_key, ctx.by)
    if ctx.apply:
        apply_recorded(result.changes, adapter, ctx.audit_url, ctx.signing_key, ctx.by)
    ctx.changes.extend(result.changes)
    ctx.outcomes.extend(d.outcome for d in result.decisions)
    return result, recorded


def govern_model(ctx: Governance, model: str) -> str:
    done = governed(ctx, model)
    if done is None:
        return f"{model}: no version to govern"
    result, recorded = done
    seqs = [seq for _, seq, _ in recorded.records]
    what = "planned" if not ctx.apply else "governed"
    return f"{what} {model}: {len(seqs)} decisions #{seqs[0]}..#{seqs[-1]}; {summary(result.changes)}"


def recheck_model(ctx: Governance, model: str) -> str:
    """Re-check the model's champion on its monitoring evidence (`recheck`), plan or make the changes."""
    (done,) = recheck(
        [model], ctx.policies, ctx.registry(), ctx.audit_url, ctx.apply, ctx.signing_key, ctx.by, ctx.data
    )
    if done.decision is None or done.recorded is None:
        return f"{model}: no champion to re-check"
    ctx.outcomes.append(done.decision.outcome)
    ctx.changes.extend(done.changes)
    (_, seq, _), *_ = done.recorded.records
    return f"re-checked {model} version {done.champion}: {done.decision.outcome} #{seq}; {summary(done.changes)}"


def rechecks_due(ctx: Governance, slot: str) -> list[tuple[str, str, dict[str, Any]]]:
    """One re-check job per model that has a champion, named by the schedule's slot: replicas that
    enqueue the same slot add each job once."""
    return [(f"recheck:{slot}:{key(m)}", RECHECK_EVENT, {"name": m}) for m in champions(ctx.registry())]


def enforce_alias(ctx: Governance, model: str, alias: str, version: str) -> str:
    """The champion alias moved to `version`: keep it if the version passes under the current
    policies, else revert or flag as configured; every step recorded."""
    adapter = ctx.registry()
    if alias != adapter.champion_alias:
        return f'{model}: alias "{alias}" is not the champion alias; nothing to enforce'
    holder = adapter.state(model, []).aliases.get(alias)
    if holder != version:
        return f'{model}: alias "{alias}" has moved on to version {holder} since; nothing to enforce'
    store = AuditStore(ctx.audit_url)  # read from here; what is recorded goes through record()
    try:
        moved = store.alias_holders(model, alias)
        if moved and moved[0] == version:
            return f'{model}: alias "{alias}" -> version {version} was governance\'s own move'
        subject = adapter.fetch(adapter.reference(model, version))
        policies = ctx.policies.without_alias(alias)  # is it a version governance would promote? (recheck: production)
        attach([subject], policies, ctx.audit_url)
        decision = backend("python").evaluate(policies, subject, None, ctx.data)
        checked = CheckRun([decision], [subject], [None], [adapter])
        (_, seq, _), *_ = record(checked, ctx.audit_url, ctx.signing_key, ctx.by).records
        ctx.outcomes.append(decision.outcome)
        if decision.outcome in ("pass", "warn"):
            return f'{model}: alias "{alias}" -> version {version} moved by hand; it passes (#{seq})'
        if ctx.enforce == "off":
            return f'{model}: alias "{alias}" -> version {version} moved by hand; it fails (#{seq}); not enforced'
        reason = f'alias "{alias}" moved by hand to version {version}, whose decision is {decision.outcome} (#{seq})'
        change = _enforcement(ctx, model, alias, version, decision.id, reason)
        if ctx.apply:
            apply_recorded([change], adapter, ctx.audit_url, ctx.signing_key, ctx.by)
        ctx.changes.append(change)
        return f"{model}: {reason}; {change.describe()}: {change.state if ctx.apply else 'planned (no --apply)'}"
    finally:
        store.close()


def _enforcement(ctx: Governance, model: str, alias: str, version: str, decision_id: str, reason: str) -> Change:
    """Revert to the most recent earlier holder whose latest decision passed (the change rests on
    that decision); flag the version when so configured, or when no earlier holder passes (an alias
    is never simply removed)."""
    if ctx.enforce == "revert":
        target = earlier_holder(ctx.audit_url)(model, alias, version)
        if target is not None:
            return Change(model, target[0], "set_alias", alias, None, "governance", target[1], detail=reason)
        reason += "; no earlier holder passes, so the version is flagged instead"
    return Change(model, version, "set_tag", VIOLATION_TAG, reason, "governance", decision_id, detail=reason)
