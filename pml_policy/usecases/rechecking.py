"""`recheck` as a library call (DSL 1.1): re-evaluate each model's champion, as it serves, with its
newest monitoring evidence under the policies that apply to it (`applies to alias "champion"`, and
the rest), record the decision (kind `recheck`), and plan or make its `on fail` changes, among them
`revert alias "champion"`: back to the most recent earlier holder whose latest decision passed.

>>> done = recheck(["credit-scorer"], policies, MlflowAdapter(config), AUDIT_URL, apply=True)  # doctest: +SKIP
>>> done[0].decision.outcome, [c.describe() for c in done[0].changes]                      # doctest: +SKIP
('fail', ['tag governance.status = "reverted" on version 3', 'alias "champion" -> version 2'])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pml_policy.adapters.base import Registry
from pml_policy.audit import AuditStore
from pml_policy.base.errors import NoAuditLog
from pml_policy.engine import Decision, PolicySet, Subject, backend

from .approving import attach
from .checking import CheckRun, Recorded, apply_recorded, record, with_monitoring
from .plan import Change, Earlier, plan, unranked


@dataclass
class Rechecked:
    """One model's re-check: its champion, the decision and where it was recorded, the changes."""

    model: str
    champion: str | None  # the version holding the alias; None: nothing to re-check
    subject: Subject | None = None
    decision: Decision | None = None
    recorded: Recorded | None = None
    changes: list[Change] = field(default_factory=list)


def recheck(
    models: list[str],
    policies: PolicySet,
    adapter: Registry,
    audit_url: str,
    apply: bool = False,
    signing_key: str | None = None,
    by: str | None = None,
    data: dict[str, Any] | None = None,
    monitoring: dict[str, Any] | None = None,
) -> list[Rechecked]:
    """Re-check the champion of each model (every model with one, when none is named)."""
    alias = adapter.champion_alias
    names = models or champions(adapter)
    done = []
    for model in names:
        state = adapter.state(model, [])
        holder = state.aliases.get(alias)
        if holder is None:
            done.append(Rechecked(model, None))
            continue
        subject = with_monitoring(adapter.fetch(adapter.reference(model, holder)), adapter, policies, monitoring)
        attach([subject], policies, audit_url)
        decision = backend("python").evaluate(policies, subject, None, data or {})  # it is the champion
        decision.kind = "recheck"
        recorded = record(CheckRun([decision], [subject], [None], [adapter]), audit_url, signing_key, by)
        state = adapter.state(model, [holder])
        changes = plan([(subject, decision)], state, unranked, earlier_holder(audit_url))
        if apply:
            apply_recorded(changes, adapter, audit_url, signing_key, by)
        done.append(Rechecked(model, holder, subject, decision, recorded, changes))
    return done


def champions(adapter: Registry) -> list[str]:
    """The registry's models that have a champion, in name order (a few paged listings)."""
    return sorted(m for m, state in adapter.inventory().items() if adapter.champion_alias in state.aliases)


def earlier_holder(audit_url: str) -> Earlier:
    """Where `revert alias` goes: the most recent earlier holder of the alias (as `--apply` moved it)
    whose latest recorded decision or re-check passed, with that decision's id."""

    def find(model: str, alias: str, version: str) -> tuple[str, str] | None:
        try:
            store = AuditStore(audit_url, create=False)
        except NoAuditLog:
            return None
        try:
            for earlier in store.alias_holders(model, alias):
                latest = store.latest_outcome(model, earlier)
                if earlier != version and latest is not None and latest.outcome in ("pass", "warn"):
                    return earlier, latest.decision
            return None
        finally:
            store.close()

    return find
