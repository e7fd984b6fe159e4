"""The tail every deciding operation shares: record the decisions (before anything is reported or
applied), then make the planned registry changes, each recorded as it is made."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from pml_policy.adapters.base import Registry
from pml_policy.audit import Entry
from pml_policy.engine import Decision, Subject

from .plan import Change, apply
from .workspace import Workspace


class Decided(Protocol):
    """Decisions with the evidence and the champion each was made on."""

    @property
    def decisions(self) -> list[Decision]: ...
    @property
    def subjects(self) -> list[Subject]: ...
    @property
    def champions(self) -> list[Subject | None]: ...


@dataclass
class Recorded:
    """Where decisions were recorded: the log (as people see its URL) and each (decision id, seq, hash)."""

    store: str
    records: list[tuple[str, int, str]]

    @property
    def seqs(self) -> list[int]:
        return [seq for _, seq, _ in self.records]

    def note(self) -> str:
        seqs = ", ".join(f"#{seq}" for seq in self.seqs)
        return f"recorded in the audit log {self.store} as {seqs}; head {self.records[-1][2]}"

    @staticmethod
    def report(recorded: Recorded | None) -> tuple[str, dict[str, Any]]:
        """The line for people and the `audit` object for machines (JSON output)."""
        if recorded is None:
            return "NOT RECORDED: --no-audit was given; these decisions are not in the audit log", {
                "recorded": False,
                "store": None,
                "records": [],
            }
        records = [{"decision": i, "seq": n, "hash": h} for i, n, h in recorded.records]
        return recorded.note(), {"recorded": True, "store": recorded.store, "records": records}


def entries_of(decided: Decided) -> list[Entry]:
    """What the log keeps of each decision: the decision, its evidence and its champion's."""
    return [Entry(d, s, c) for d, s, c in zip(decided.decisions, decided.subjects, decided.champions)]


def record(ws: Workspace, decided: Decided) -> Recorded:
    """Append the decisions to the workspace's log in one transaction, as its actor (raises
    AuditError, PolicyConflict); signed when the workspace has a signing key."""
    appended = ws.append(entries_of(decided))
    shown = ws.log.store().shown
    return Recorded(shown, [(d.id, seq, h) for d, (seq, h) in zip(decided.decisions, appended)])


def apply_changes(ws: Workspace, changes: list[Change], registry: Registry) -> list[Change]:
    """Make the planned changes through the registry, each recorded in the log as soon as it is
    made (tags before aliases; the first failure stops it, recorded too)."""
    store = ws.log.store()

    def recorded(change: Change) -> None:
        store.record_change(
            change.decision_id,
            change.policy,
            change.kind,
            change.name,
            change.value,
            change.state,
            change.detail,
            ws.actor,
        )

    return apply(changes, registry, recorded)


def conclude(ws: Workspace, decided: Decided, changes: list[Change], registry: Registry, do_apply: bool) -> Recorded:
    """Record the decisions, then (with do_apply) make the changes planned from them."""
    recorded = record(ws, decided)
    if do_apply:
        apply_changes(ws, changes, registry)
    return recorded
