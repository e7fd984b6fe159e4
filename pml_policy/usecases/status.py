"""`status`: per model, what the registry should say (the policies and the evidence, decided now and
recorded nowhere, a version's standing decision kept where the service's reconcile keeps it)
beside what it does say, as Argo CD shows sync: the champion and the governance tags desired and
live, `synced` or `out-of-sync` with each difference (the changes a reconcile would make), the last
reconcile the service ran, the champion's latest re-check (its monitoring health) and the versions
awaiting a sign-off. Reads the registry and the log; changes neither.

>>> pml_policy.status(ws, ["credit-scorer"])[0].sync      # doctest: +SKIP
'synced'
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from pml_policy.audit.inbox import latest_for

from .governing import decide_versions, every_model, standing_only, targeted
from .workspace import Workspace


class Slot(BaseModel):
    """One thing governance sets: what the policies want there, and what is there now."""

    desired: str | None
    live: str | None


class LastReconcile(BaseModel):
    time: str
    event: str
    state: str  # done, or dead
    result: str | None


class Health(BaseModel):
    """The champion's latest re-check (its monitoring evidence)."""

    version: str
    outcome: str
    time: str


class ModelStatus(BaseModel):
    model: str
    sync: Literal["synced", "out-of-sync"]
    champion: Slot
    tags: dict[str, dict[str, Slot]]  # version -> governance tag -> desired / live
    differences: list[str]  # what a govern pass would change, as people read it
    pending: list[str]  # versions whose decision awaits a sign-off
    last_reconcile: LastReconcile | None
    monitoring: Health | None


def status(ws: Workspace, targets: list[str] | tuple[str, ...] = ()) -> list[ModelStatus]:
    """Each target's status (a model on MLflow, or sagemaker:GROUP), or every registered model a
    policy applies to; in the order asked."""
    chosen = targeted(ws, targets) if targets else [(ws.registry(), m) for m in every_model(ws)]
    store = ws.log.existing()
    rechecks = {r.model: r for r in store.latest_rechecks()} if store is not None else {}
    found = []
    for registry, model in chosen:
        governed = decide_versions(ws, model, registry)
        pending = [d.subject.version or "" for d in governed.decisions if d.outcome == "pending"]
        standing_only(ws, governed, registry, "decision")  # the desired state the service's reconcile follows
        state = governed.state
        aliases = state.aliases if state is not None else {}
        live_tags = state.tags if state is not None else {}
        alias = registry.champion_alias
        moves = [c for c in governed.changes if c.kind == "set_alias" and c.name == alias]
        chosen_one = next((c.version for c in moves if c.state in ("planned", "unchanged")), aliases.get(alias))
        tags: dict[str, dict[str, Slot]] = {}
        for c in governed.changes:
            if c.kind == "set_tag" and c.state in ("planned", "unchanged"):
                live = live_tags.get(c.version, {}).get(c.name)
                tags.setdefault(c.version, {})[c.name] = Slot(desired=c.value, live=live)
        differences = [
            _difference(c.describe(), c.kind, c.version, c.name, live_tags, aliases)
            for c in governed.changes
            if c.state == "planned"
        ]
        job = latest_for(store.db, model) if store is not None else None
        recheck = rechecks.get(model)
        found.append(
            ModelStatus(
                model=model,
                sync="out-of-sync" if differences else "synced",
                champion=Slot(desired=chosen_one, live=aliases.get(alias)),
                tags=dict(sorted(tags.items(), key=lambda kv: int(kv[0]) if kv[0].isdigit() else 0)),
                differences=differences,
                pending=pending,
                last_reconcile=LastReconcile(time=job.received, event=job.event, state=job.state, result=job.result)
                if job is not None
                else None,
                monitoring=Health(version=recheck.version, outcome=recheck.outcome, time=recheck.time)
                if recheck is not None
                else None,
            )
        )
    return found


def _difference(
    described: str, kind: str, version: str, name: str, tags: dict[str, dict[str, str]], aliases: dict[str, str]
) -> str:
    now = aliases.get(name) if kind == "set_alias" else tags.get(version, {}).get(name)
    where = "version " if kind == "set_alias" and now is not None else ""
    return f"{described} (now: {where}{now if now is not None else 'absent'})"
