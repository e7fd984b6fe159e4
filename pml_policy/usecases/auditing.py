"""Reading the audit log: list its records, show one, verify the chain, sign a checkpoint. Readers
never create a log: on a URL where there is none they raise NoAuditLog (exit 3, the service 404)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pml_policy.audit import chain
from pml_policy.audit.queries import Change, Record, RecordSummary
from pml_policy.audit.signing import PublicKey, read_checkpoint
from pml_policy.base.errors import EXIT_PASS, EXIT_POLICY_FAILED, UsageError
from pml_policy.outputs.documents import record_document

from . import proving
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
    pinned: int | None = None  # verified from a trusted checkpoint of this many records
    witnesses: list[str] = field(default_factory=list)  # the names that cosigned the checkpoint

    @property
    def exit_code(self) -> int:
        return EXIT_PASS if self.verdict.ok else EXIT_POLICY_FAILED

    def how(self) -> str:
        """What was verified how, in one line."""
        if self.pinned is None:
            what = "chain intact, Merkle tree intact"
        else:
            what = (
                f"chain intact after the trusted checkpoint (records #1 to #{self.pinned} hash to its root: their "
                "content is vouched for by it, not re-hashed; every record after it verified in full)"
            )
        if self.witnesses:
            what += f"; the checkpoint cosigned by {', '.join(self.witnesses)}"
        return what


def verify(
    ws: Workspace,
    expect_head: str | None = None,
    public_key: str | Path | None = None,
    checkpoint: str | Path | None = None,
    workers: int | None = 1,
    signed_from: int = 1,
    witnesses: tuple[str, ...] = (),
    trusted: str | None = None,
) -> Verified:
    """Recompute the chain, every table beside it and the Merkle tree; with a public key, every record from the
    record (from `signed_from` on: where a log that gained its key later began signing) must carry
    its valid signature; with a checkpoint file (signature checked with the key, cosigned by every
    `witnesses` key), the log must still hold it; expect_head: a head hash published earlier.
    workers: processes checking seq ranges at once (None: one per CPU for a large log). trusted: a
    checkpoint (signed by the key) to verify from: only what came after it is verified in full."""
    key = PublicKey(public_key) if public_key else None
    if trusted is not None:
        if checkpoint is not None or expect_head is not None:
            raise UsageError("--from verifies from one checkpoint: give --checkpoint or --expect-head without it")
        return verify_from(ws, trusted, key, witnesses, signed_from)
    if witnesses and not checkpoint:
        raise UsageError("--witness checks a checkpoint's cosignature: give --checkpoint FILE too")
    published = read_checkpoint(str(checkpoint), key) if checkpoint else None
    names = proving.witnessed_by(str(checkpoint), list(witnesses)) if witnesses and checkpoint else []
    store = ws.log.store(create=False)
    verdict = store.verify(expect_head, key, published, workers, signed_from)
    return Verified(verdict, store.shown, key is not None, witnesses=names)


def verify_from(
    ws: Workspace, trusted: str, key: PublicKey | None, witnesses: tuple[str, ...] = (), signed_from: int = 1
) -> Verified:
    """Verify from a trusted checkpoint (signed by the log's key, cosigned by every witness given)."""
    if key is None:
        raise UsageError("--from trusts a checkpoint only with its signature: give --public-key FILE (the log's key)")
    tree = read_checkpoint(trusted, key)
    if isinstance(tree, tuple):
        raise UsageError(f"--from {trusted}: a checkpoint of an earlier release (no tree): write a new one")
    names = proving.witnessed_by(trusted, list(witnesses))
    store = ws.log.store(create=False)
    return Verified(store.verify_from(tree, key, signed_from), store.shown, True, tree.size, names)


def checkpoint(ws: Workspace, origin: str | None = None) -> str:
    """The log's tree head as a C2SP checkpoint, signed with the workspace's key: publish it elsewhere."""
    return proving.checkpoint(ws, origin)
