"""Reading the audit log: list its records, show one, verify the chain, sign a checkpoint. Readers
never create a log: on a URL where there is none they raise NoAuditLog (exit 3, the service 404)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pml_policy.audit import chain
from pml_policy.audit.queries import Change, Record, RecordSummary
from pml_policy.audit.signing import PublicKey, read_checkpoint
from pml_policy.base.errors import EXIT_PASS, EXIT_POLICY_FAILED, UsageError
from pml_policy.outputs.documents import record_document

from .workspace import Workspace


def records(
    ws: Workspace,
    *,
    model: str | None = None,
    policy: str | None = None,
    outcome: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int | None = 50,
    kind: str | None = None,
    before: int | None = None,
) -> list[RecordSummary]:
    """Recorded decisions, plans, changes and approvals, newest first (before: a record number to
    page from; limit None: all)."""
    store = ws.log.store(create=False)
    return store.records(model, policy, outcome, since, until, limit, True, kind, before)


@dataclass
class Shown:
    """One record and the action rows beside it (the registry changes planned and made for it)."""

    row: Record
    actions: list[Change]

    def document(self) -> dict[str, Any]:
        """The record's one JSON shape (outputs.documents)."""
        return record_document(self.row, self.actions)


def show(ws: Workspace, ref: str) -> Shown:
    """A record by decision id, a unique id prefix (6+ characters), or #SEQ."""
    store = ws.log.store(create=False)
    row = store.get(ref)
    return Shown(row, store.changes(row["id"]))


@dataclass
class Verified:
    """The chain's verdict, where it was checked, and with what."""

    verdict: chain.Verdict
    store: str
    signed: bool  # a public key was given: every record from the first signed one on is signed by it

    @property
    def exit_code(self) -> int:
        return EXIT_PASS if self.verdict.ok else EXIT_POLICY_FAILED


def verify(
    ws: Workspace,
    expect_head: str | None = None,
    public_key: str | Path | None = None,
    checkpoint: str | Path | None = None,
    workers: int | None = 1,
    signed_from: int = 1,
) -> Verified:
    """Recompute the chain and every table beside it; with a public key, every record from the
    record (from `signed_from` on: where a log that gained its key later began signing) must carry
    its valid signature; with a checkpoint file (signature checked with the key), the chain must
    reach its record and still hold it; expect_head: a head hash published earlier. workers:
    processes checking seq ranges at once (None: one per CPU for a large log)."""
    key = PublicKey(public_key) if public_key else None
    published = read_checkpoint(str(checkpoint), key) if checkpoint else None
    store = ws.log.store(create=False)
    return Verified(store.verify(expect_head, key, published, workers, signed_from), store.shown, key is not None)


def checkpoint(ws: Workspace) -> dict[str, Any]:
    """The log's head (seq, hash, time), signed with the workspace's key: publish it elsewhere."""
    signer = ws.log.signer
    if signer is None:
        raise UsageError("a checkpoint is signed: give --signing-key FILE or set PML_AUDIT_SIGNING_KEY")
    return ws.log.store(create=False).checkpoint(signer)
