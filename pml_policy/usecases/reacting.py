"""What governance does when a registry event arrives: the use case the service's workers (and its
reconciliation sweep and schedule) call, over the same govern sequence, recording and applying as
the CLI.

- A version registered, a version's tags set or deleted, the champion alias deleted: govern its
  model (`governing.govern`, recording only the decisions that say something new), planned or
  applied; with --enforce flag a deleted champion alias is flagged on its last holder instead.
- The champion alias moved: the holder needs a passing decision under the current policies. A hand
  move to a version that does not pass is reverted to the most recent earlier holder that passes
  (`revert`), tagged `governance.violation` (`flag`), or only recorded (`off`).
- The service's own changes, when their webhooks come back, are recognised from its change records
  (`own_change`) and cost nothing.
- The schedule's re-check: `rechecking.recheck_model`.

>>> event = {"name": "credit-scorer", "version": "4"}
>>> react(ws, "model_version.created", event, Controls(apply=True)).message   # doctest: +SKIP
'governed credit-scorer: 4 decisions #12..#15; 2 applied, 6 unchanged'
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal

from pml_policy.adapters.base import Registry, RegistryState
from pml_policy.audit.applied import Applied, applied
from pml_policy.base.errors import UsageError
from pml_policy.engine import Decision

from .approving import attach
from .checking import Checked
from .governing import govern
from .plan import Change, summary
from .rechecking import champions, fallback, recheck_model
from .recording import apply_changes, record
from .workspace import Workspace

Enforce = Literal["revert", "flag", "off"]
VIOLATION_TAG = "governance.violation"
TAG_EVENTS = ("model_version_tag.set", "model_version_tag.deleted")
ALIAS_DELETED = "model_version_alias.deleted"
RECONCILE_EVENT = "pml.reconcile"  # the sweep's: a governance tag or alias differs from what governance set
# Events that only say "look at this model again" (`merging`: which of them one pending job takes).
GOVERNED_EVENTS = ("model_version.created", *TAG_EVENTS, ALIAS_DELETED, RECONCILE_EVENT)
ALIAS_EVENTS = ("model_version_alias.created",)
RECHECK_EVENT = "pml.recheck"  # the service's schedule (--recheck CRON): re-check a model's champion
HANDLED_EVENTS = (*GOVERNED_EVENTS, *ALIAS_EVENTS, RECHECK_EVENT)


def merging(enforce: Enforce) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(the events a model's pending job may take, the events of the pending jobs that take them).
    A job takes others only if it governs the model whatever its data says: a tag-set job may be
    the echo of governance's own tag, and then does nothing, and under --enforce flag or off a
    deleted alias is flagged or noted, not governed; either would swallow what it took."""
    takers: tuple[str, ...] = ("model_version.created", "model_version_tag.deleted", RECONCILE_EVENT)
    if enforce == "revert":
        takers += (ALIAS_DELETED,)
    return (*takers, "model_version_tag.set"), takers


@dataclass(frozen=True)
class Controls:
    """What the service may do on its own: change the registry (apply), and how it answers a
    champion moved by hand to a version that does not pass (enforce)."""

    apply: bool = False
    enforce: Enforce = "revert"


@dataclass
class Reaction:
    """What an event led to: one line for the inbox, and the decisions and changes it recorded."""

    message: str
    decisions: list[Decision] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    own: bool = False  # the echo of a change governance made: it cost nothing


def react(ws: Workspace, event: str, data: dict[str, Any], controls: Controls) -> Reaction:
    """Handle one registry event (its workspace acts as the service)."""
    model = str(data.get("name") or "")
    if not model:
        raise UsageError(f"{event}: the event names no model")
    if own_change(ws, event, data):
        return Reaction(f"{model}: {_what(event, data)} was governance's own change", own=True)
    if event == ALIAS_DELETED and controls.enforce != "revert":
        return _alias_deleted(ws, model, str(data.get("alias") or ""), controls)
    if event in GOVERNED_EVENTS:  # a deleted champion alias or governance tag: govern puts it back
        return _govern(ws, model, controls.apply)
    if event in ALIAS_EVENTS:
        return enforce_alias(ws, model, str(data.get("alias") or ""), str(data.get("version") or ""), controls)
    if event == RECHECK_EVENT:
        return _recheck(ws, model, controls.apply)
    return Reaction(f"{event}: not an event governance acts on")


def _govern(ws: Workspace, model: str, apply: bool) -> Reaction:
    governed = govern(ws, model, apply=apply, changed_only=True)
    if not governed.subjects and not governed.standing:
        return Reaction(f"{model}: no version to govern")
    what = "governed" if apply else "planned"
    seqs = governed.recorded.seqs if governed.recorded is not None else []
    decided = f"{len(seqs)} decisions #{seqs[0]}..#{seqs[-1]}" if seqs else "no new decision"
    line = f"{what} {model}: {decided} ({governed.standing} unchanged); {summary(governed.changes)}"
    return Reaction(line, governed.decisions, governed.changes)


def _recheck(ws: Workspace, model: str, apply: bool) -> Reaction:
    """Re-check the model's champion on its monitoring evidence, plan or make the changes. A
    champion that failed is then reconciled like any event (with apply): the version that failed
    is held back, and the alias goes where the policies say, not only where the revert put it."""
    done = recheck_model(ws, model, ws.registry(), apply)
    if done.decision is None or done.recorded is None:
        return Reaction(f"{model}: no champion to re-check")
    seq = done.recorded.seqs[0]
    outcome: str = done.decision.outcome
    if done.subject is not None and done.subject.monitoring is None and outcome in ("pass", "warn"):
        outcome += " (awaiting monitoring)"
    line = f"re-checked {model} version {done.champion}: {outcome} #{seq}; {summary(done.changes)}"
    reaction = Reaction(line, [done.decision], done.changes)
    if apply and done.decision.outcome not in ("pass", "warn"):
        then = _govern(ws, model, apply)
        reaction.message += f"; then {then.message}"
        reaction.decisions += then.decisions
        reaction.changes += then.changes
    return reaction


def sweep(ws: Workspace) -> list[tuple[str, str, dict[str, Any]]]:
    """What registry events may have been missed: (delivery id, event, data) for each model with a
    version no decision under the current policies covers (govern it), a governance tag or the
    champion alias deleted or edited (`drift`: govern puts them back, an alias as --enforce says),
    and each champion whose latest decision under them does not pass (enforce). The ids name what
    was found, so a sweep that finds the same again adds no second job."""
    registry = ws.registry()
    inventory = registry.inventory()
    store = ws.log.existing()
    latest = store.latest_per_version() if store is not None else {}
    made = applied(store.db) if store is not None else Applied({}, {}, {})
    jobs: list[tuple[str, str, dict[str, Any]]] = []
    policies = ws.policies.without_alias(registry.champion_alias)  # production policies: recheck's
    alias = registry.champion_alias
    for model, state in sorted(inventory.items()):
        if not policies.applicable(model, None):
            continue
        held: dict[str, list[str]] = {}
        for name, version in state.aliases.items():
            held.setdefault(version, []).append(name)
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
        drifted = drift(model, state, made, alias)
        if drifted:
            # Named by what differs and by governance's latest change to the model: the same drift
            # found again adds nothing, and after a change is made, a drift found again is new.
            event = ALIAS_DELETED if drifted == [f"alias {alias}"] else RECONCILE_EVENT
            name = key(model, drifted, made.last.get(model, 0))
            jobs.append((f"sweep:drift:{name}", event, {"name": model, "alias": alias}))
            continue
        holder = state.aliases.get(alias)
        decided = latest.get((model, holder)) if holder else None
        if decided is None or decided.outcome in ("pass", "warn"):
            continue
        if made.aliases.get((model, alias)) == holder:
            continue  # governance put it there: re-checking a champion is `recheck`'s, not the sweep's
        # Named by the state, not by a decision: enforcing records a decision, and a champion that
        # cannot be moved (--enforce off, plan only) must not be enforced again at every sweep.
        data = {"name": model, "alias": alias, "version": holder}
        jobs.append(
            (f"sweep:alias:{key(model, holder, digests.get(holder or ''))}", "model_version_alias.created", data)
        )
    return jobs


def drift(model: str, state: RegistryState, made: Applied, alias: str) -> list[str]:
    """Where the live registry differs from what governance last made it say: a governance tag
    gone or edited on a version that exists, the champion alias gone while the version governance
    moved it to exists. (An alias moved elsewhere is the enforcement's, below.)"""
    found = [
        f"tag {k} on {v}"
        for (v, k), value in sorted(made.tags.get(model, {}).items())
        if v in state.tags and state.tags[v].get(k) != value
    ]
    holder = made.aliases.get((model, alias))
    if holder is not None and holder in state.tags and alias not in state.aliases:
        found.append(f"alias {alias}")
    return found


def key(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:24]


def own_change(ws: Workspace, event: str, data: dict[str, Any]) -> bool:
    """The echo of governance's own change (from its change records): a tag set to the value it
    last applied, the alias moved to the version it last moved it to."""
    if event not in ("model_version_tag.set", *ALIAS_EVENTS):
        return False
    store = ws.log.existing()
    if store is None:
        return False
    model, version = str(data.get("name") or ""), str(data.get("version") or "")
    if event in ALIAS_EVENTS:
        holders = store.alias_holders(model, str(data.get("alias") or ""))
        return bool(holders) and holders[0] == version
    return store.latest_tag(model, version, str(data.get("key") or "")) == data.get("value")


def _what(event: str, data: dict[str, Any]) -> str:
    if event in ALIAS_EVENTS:
        return f'alias "{data.get("alias")}" -> version {data.get("version")}'
    return f"tag {data.get('key')} on version {data.get('version')}"


def _alias_deleted(ws: Workspace, model: str, alias: str, controls: Controls) -> Reaction:
    """The champion alias deleted by hand, under --enforce flag or off: not put back; with flag,
    its last holder (governance's own move) is tagged with the violation."""
    registry = ws.registry()
    if alias != registry.champion_alias or alias in registry.state(model, []).aliases:
        return Reaction(f'{model}: alias "{alias}" deleted; nothing to enforce')
    store = ws.log.existing()
    holders = store.alias_holders(model, alias) if store is not None else []
    latest = store.latest_outcome(model, holders[0]) if store is not None and holders else None
    if controls.enforce == "off" or latest is None:
        return Reaction(f'{model}: alias "{alias}" deleted by hand; not enforced (--enforce {controls.enforce})')
    reason = f'alias "{alias}" deleted by hand from version {holders[0]}'
    change = Change(model, holders[0], "set_tag", VIOLATION_TAG, reason, "governance", latest.decision)
    if controls.apply:
        apply_changes(ws, [change], registry)
    return Reaction(f"{model}: {reason}; {change.describe()}: {change.state}", [], [change])


def rechecks_due(ws: Workspace, slot: str) -> list[tuple[str, str, dict[str, Any]]]:
    """One re-check job per model that has a champion, named by the schedule's slot: replicas that
    enqueue the same slot add each job once."""
    return [(f"recheck:{slot}:{key(m)}", RECHECK_EVENT, {"name": m}) for m in champions(ws.registry())]


def enforce_alias(ws: Workspace, model: str, alias: str, version: str, controls: Controls) -> Reaction:
    """The champion alias moved to `version` by hand: a version that does not pass under the
    current policies is reverted or flagged as configured; one that passes stays, except under
    --enforce revert with --apply, where the model is reconciled and the alias goes where the
    policies say. Every step recorded."""
    registry = ws.registry()
    if alias != registry.champion_alias:
        return Reaction(f'{model}: alias "{alias}" is not the champion alias; nothing to enforce')
    holder = registry.state(model, []).aliases.get(alias)
    if holder != version:
        return Reaction(f'{model}: alias "{alias}" has moved on to version {holder} since; nothing to enforce')
    subject = registry.fetch(registry.reference(model, version))
    policies = ws.policies.without_alias(alias)  # is it a version governance would promote? (recheck: production)
    attach(ws, [subject], policies)
    decision = ws.evaluator.evaluate(policies, subject, None, ws.data)
    seq = record(ws, Checked([decision], [subject], [None], [registry])).seqs[0]
    if decision.outcome in ("pass", "warn"):
        passes = Reaction(
            f'{model}: alias "{alias}" -> version {version} moved by hand; it passes (#{seq})', [decision]
        )
        if controls.enforce != "revert" or not controls.apply:
            return passes
        then = _govern(ws, model, True)  # it passes, but the policies rank another first: theirs is the champion
        return Reaction(f"{passes.message}; then {then.message}", [decision, *then.decisions], then.changes)
    if controls.enforce == "off":
        line = f'{model}: alias "{alias}" -> version {version} moved by hand; it fails (#{seq}); not enforced'
        return Reaction(line, [decision])
    reason = f'alias "{alias}" moved by hand to version {version}, whose decision is {decision.outcome} (#{seq})'
    change = _enforcement(ws, registry, model, alias, version, decision.id, reason, controls.enforce)
    if controls.apply:
        apply_changes(ws, [change], registry)
    line = f"{model}: {reason}; {change.describe()}: {change.state if controls.apply else 'planned (no --apply)'}"
    return Reaction(line, [decision], [change])


def _enforcement(
    ws: Workspace,
    registry: Registry,
    model: str,
    alias: str,
    version: str,
    decision_id: str,
    reason: str,
    enforce: Enforce,
) -> Change:
    """Revert to the most recent earlier holder that passes now on its own evidence (`fallback`:
    the change rests on that decision); flag the version when so configured, or when no earlier
    holder passes (an alias is never simply removed)."""
    if enforce == "revert":
        target = fallback(ws, registry)(model, alias, version)
        if target.version is not None and target.decision is not None:
            detail = f"{reason}; {target.why}"
            return Change(model, target.version, "set_alias", alias, None, "governance", target.decision, detail=detail)
        reason += f"; no earlier holder passes now ({target.why}), so the version is flagged instead"
    return Change(model, version, "set_tag", VIOLATION_TAG, reason, "governance", decision_id, detail=reason)
