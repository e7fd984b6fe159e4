"""The audit store: SQLite by default (`.pml/audit.db`), any SQLAlchemy URL (PostgreSQL for teams).

The write path and verification live here; the connection in database.py, the schema and its
migrations in schema.py, the rows an entry becomes in rows.py, reading in queries.py and
aggregates.py. Appends take a lock on the single head row (SQLite: BEGIN IMMEDIATE; PostgreSQL:
SELECT … FOR UPDATE), so many processes can append at once and the chain never forks; each append
is one transaction, so a writer killed mid-way leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from pml_policy.base.errors import AuditError, UsageError

from . import chain, proofs, queries, registered, schema, tree
from .aggregates import Aggregates
from .context import actor, ci_context
from .database import WAIT, Database, reason
from .rows import (
    ACTION_COLUMNS,
    CHILD_TABLES,
    Entry,
    Prepared,
    approval_record,
    change_record,
    insert_sql,
    utc_text,
)
from .signing import PublicKey, SignatureCheck, Signer
from .signing import checkpoint as make_checkpoint

if TYPE_CHECKING:
    from pml_policy.transparency.notes import Checkpoint


class AuditStore:
    """An audit log, opened (created or upgraded on first use)."""

    def __init__(self, url: str, create: bool = True, signer: Signer | None = None, wait: float = WAIT) -> None:
        """`create=False` for commands that only read: they never create a log (or its folder).
        With a signer, every record appended is signed (its hash, with an Ed25519 key). `wait`:
        seconds a write waits for another writer (SQLite) before it fails."""
        self.db = Database(url, wait)
        self.signer = signer
        self._confirmed: set[tuple[str, str, str]] = set()  # (name, version, digest) known to be in the log
        try:
            schema.prepare(self.db, create)
            self.head()  # a log without its head row was edited by hand: nothing reads or writes it
        except self.db.errors() as exc:
            raise AuditError(f"cannot open the audit log at {self.shown}: {reason(exc)}", self.db.hint()) from None

    @property
    def shown(self) -> str:
        """The URL as people see it (no password)."""
        return self.db.shown

    def schema_version(self) -> int:
        return schema.schema_version(self.db)

    def close(self) -> None:
        self.db.close()

    # ---- writing ------------------------------------------------------------------------------

    def append(self, entries: list[Entry], actor: str | list[str], ci: dict[str, str]) -> list[tuple[int, str]]:
        """Record the decisions, in one transaction; returns each record's (seq, hash). `actor`: one
        for all, or one per entry (the service commits many callers' decisions together)."""
        ci_json = chain.canonical(ci)
        evidence: dict[int, str] = {}
        actors = [actor] * len(entries) if isinstance(actor, str) else actor
        prepared = [
            Prepared.of(e, a, ci_json, evidence) for e, a in zip(entries, actors)
        ]  # JSON before the lock: writers wait less
        # Straight to the driver: SQLAlchemy's statement machinery cost more than the database
        # itself on each append (table and column names are ours; values are always bound).
        try:
            with self.db.writing() as cursor:
                seq, prev = proofs.read_head(cursor, lock=not self.db.is_sqlite)
                size, head = seq, prev
                claimed = self._claim_policies(cursor, entries)
                tables: dict[str, list[dict[str, Any]]] = {name: [] for name in ("pml_decisions", *CHILD_TABLES)}
                appended = []
                for p in prepared:
                    seq += 1
                    row = dict(p.row, seq=seq, prev_hash=prev)
                    row["hash"] = prev = chain.record_hash(row)
                    row["signature"] = self.signer.sign(prev) if self.signer else None
                    tables["pml_decisions"].append(row)
                    for name, rows in p.child_rows(seq).items():
                        tables[name].extend(rows)
                    appended.append((seq, prev))
                tables["pml_tree"] = tree.grown(self.db, cursor, size, head, [h for _, h in appended])
                # PostgreSQL: every write below in one pipeline, a round trip instead of one per
                # statement (an append of one decision took 19 and spent most of its time waiting).
                with contextlib.nullcontext() if self.db.is_sqlite else cursor.connection.pipeline():
                    for name, rows in tables.items():  # parents before children (foreign keys)
                        if rows:
                            cursor.executemany(insert_sql(name, tuple(rows[0]), self.db.mark), rows)
                    cursor.execute(
                        self.db.sql("UPDATE pml_head SET seq = {seq}, hash = {hash} WHERE id = 1"),
                        {"seq": seq, "hash": prev},
                    )
        except self.db.errors() as exc:
            raise self._not_recorded(exc) from None
        self._confirmed |= claimed  # only once committed
        return appended

    def record_change(
        self,
        decision_id: str,
        policy: str,
        kind: str,
        name: str,
        value: str | None,
        state: str,
        detail: str = "",
        by: str | None = None,
    ) -> None:
        """A registry change as it happened (applied or failed): a chained record of kind `change`
        (signed with a key), and the action row beside the decision that planned it, derived from it."""
        try:
            with self.db.writing() as cursor:
                cursor.execute(
                    self.db.sql(
                        "SELECT seq, subject_ref, subject_digest, model, version FROM pml_decisions WHERE id = {id} "
                        "AND " + queries.in_chain()
                    ),
                    {"id": decision_id},
                )
                found = cursor.fetchone()
                if found is None:
                    raise AuditError(
                        f"decision {decision_id} is not in the audit log at {self.db.shown}: the change was {state} "
                        "but cannot be recorded"
                    )
                decision = dict(zip(("seq", "subject_ref", "subject_digest", "model", "version"), found))
                now = utc_text(dt.datetime.now(dt.UTC))
                action = {
                    "decision_seq": decision["seq"],
                    "policy": policy,
                    "kind": kind,
                    "name": name,
                    "value": value,
                    "state": state,
                    "time": now,
                    "detail": detail or None,
                }
                row = change_record(
                    {**action, "decision": decision_id},
                    decision,
                    by or actor(),
                    chain.canonical(ci_context()),
                    str(uuid.uuid4()),
                    now,
                )
                self._chain(cursor, row)
                cursor.execute(insert_sql("pml_actions", ACTION_COLUMNS, self.db.mark), action)
        except self.db.errors() as exc:
            raise AuditError(
                f'registry change {state} but NOT RECORDED: {kind} "{name}" (decision {decision_id}): cannot write '
                f"the audit log at {self.db.shown}: {reason(exc)}",
                self.db.hint(),
            ) from None

    def record_approval(self, approval: dict[str, Any], subject_ref: str, by: str) -> int:
        """A sign-off (or, with `revokes`, its withdrawal) as a chained record of kind `approval`,
        signed with a key; everything it says is in its hashed body and columns. Returns its seq."""
        try:
            with self.db.writing() as cursor:
                if approval.get("revokes") is not None:
                    self._revocable(cursor, approval["revokes"])
                row = approval_record(
                    approval,
                    subject_ref,
                    by,
                    chain.canonical(ci_context()),
                    str(uuid.uuid4()),
                    utc_text(dt.datetime.now(dt.UTC)),
                )
                return self._chain(cursor, row)
        except self.db.errors() as exc:
            raise AuditError(
                f"the approval was not recorded: cannot write the audit log at {self.db.shown}: {reason(exc)}",
                self.db.hint(),
            ) from None

    def _revocable(self, cursor: Any, seq: int) -> None:
        cursor.execute(
            self.db.sql("SELECT kind, outcome FROM pml_decisions WHERE seq = {seq} AND " + queries.in_chain()),
            {"seq": seq},
        )
        found = cursor.fetchone()
        if found is None or tuple(found) != ("approval", "approved"):
            raise UsageError(f"record #{seq} is not an approval", "`pml-policy approvals MODEL` lists them")

    def approvals(
        self, model: str | None, version: str | None = None, signed_only: bool = False
    ) -> list[queries.ApprovalRow]:
        """The sign-offs recorded for a model (one version, or all; every model with None), oldest
        first, each with the record that revoked it, if any. signed_only (a store with a signer):
        only records whose hash recomputes from their columns and whose signature this key
        verifies count, approvals and withdrawals alike: someone with write access to the
        database but not the key cannot make a sign-off count."""
        if not signed_only:
            return queries.approvals(self.db, model, version)
        signer = self.signer
        if signer is None:
            raise UsageError("signed approvals are asked for, but no signing key was given")

        def trusted(row: Any) -> bool:
            return chain.record_hash(row) == row["hash"] and signer.verifies(row["hash"], row["signature"])

        return queries.approvals(self.db, model, version, trusted)

    def latest_rechecks(self) -> list[queries.LatestRecheck]:
        """Each model's latest re-check of its champion."""
        return queries.latest_rechecks(self.db)

    def latest_evidence(self, model: str) -> dict[str, str]:
        """version -> the subject (JSON) of the latest decision or plan recorded on it."""
        return queries.latest_evidence(self.db, model)

    def _chain(self, cursor: Any, row: dict[str, Any]) -> int:
        """Append one record at the head (locked on PostgreSQL): link, hash, sign, insert, move the head."""
        seq, prev = proofs.read_head(cursor, lock=not self.db.is_sqlite)
        row.update(seq=seq + 1, prev_hash=prev)
        row["hash"] = chain.record_hash(row)
        row["signature"] = self.signer.sign(row["hash"]) if self.signer else None
        cursor.execute(insert_sql("pml_decisions", tuple(row), self.db.mark), row)
        nodes = tree.grown(self.db, cursor, seq, prev, [row["hash"]])
        if nodes:
            cursor.executemany(insert_sql("pml_tree", tuple(nodes[0]), self.db.mark), nodes)
        cursor.execute(
            self.db.sql("UPDATE pml_head SET seq = {seq}, hash = {hash} WHERE id = 1"),
            {"seq": row["seq"], "hash": row["hash"]},
        )
        return int(row["seq"])

    def _not_recorded(self, exc: BaseException) -> AuditError:
        return AuditError(
            f"the decision was not recorded: cannot write the audit log at {self.db.shown}: {reason(exc)}",
            self.db.hint(),
        )

    def _claim_policies(self, cursor: Any, entries: list[Entry]) -> set[tuple[str, str, str]]:
        """A policy name and version, once used, keeps its digest: a changed policy needs a new version.
        Returns the (name, version, digest) this transaction confirms."""
        used: dict[tuple[str, str], tuple[Any, Any]] = {}  # (name, version) -> (policy, first decision using it)
        for e in entries:
            for p in e.decision.policies:
                used.setdefault((p.name, p.version), (p, e.decision))
        confirmed = {(n, v, p.digest) for (n, v), (p, _) in used.items()}
        if confirmed <= self._confirmed:
            return confirmed  # a recorded name and version never changes digest: nothing to ask the database
        known = registered.known(self.db, cursor, (name for name, _ in used))
        registered.refuse_changed((registered.Used(n, v, p.digest, p.source) for (n, v), (p, _) in used.items()), known)
        new = [
            {
                "name": n,
                "version": v,
                "digest": p.digest,
                "source": p.source,
                "first_decision": d.id,
                "first_time": utc_text(d.time),
            }
            for (n, v), (p, d) in used.items()
            if (n, v) not in known
        ]
        if new:
            cursor.executemany(insert_sql("pml_policies", tuple(new[0]), self.db.mark), new)
        return confirmed

    # ---- reading ------------------------------------------------------------------------------

    def head(self) -> tuple[int, str]:
        with self.db.driver() as raw:
            return proofs.read_head(raw.cursor())

    def verify(
        self,
        expect_head: str | None = None,
        public_key: PublicKey | None = None,
        checkpoint: tuple[int, str] | Checkpoint | None = None,
        workers: int | None = 1,
        signed_from: int = 1,
    ) -> chain.Verdict:
        """Recompute every record's hash and link, its kind and the rows derived from its body,
        streaming in seq order through the driver's own cursors (server-side on PostgreSQL), in
        seq ranges checked by `workers` processes at once (None: one per CPU for a log of
        PARALLEL_FROM records or more; the default, 1: one pass). With a public key (one pass),
        every record (from `signed_from` on) must carry a valid signature; with a checkpoint (seq,
        hash), the chain verified must reach that record and still hold it. A record or a row beside
        one outside seq 1..head is tampering too: no reader looks at it."""
        from . import verifying  # not on the write path: a `check` never loads it

        return verifying.verify_log(self.db, expect_head, public_key, checkpoint, workers, signed_from)

    def verify_from(
        self, checkpoint: Checkpoint, public_key: PublicKey | None = None, signed_from: int = 1
    ) -> chain.Verdict:
        """Verify from a trusted checkpoint: its records' hashes against its root, every later record in full."""
        from . import verifying

        signatures = SignatureCheck(public_key, signed_from) if public_key else None
        return verifying.verify_from(self.db, checkpoint, signatures)

    def tree_root(self, size: int | None = None) -> tuple[int, bytes]:
        """(size, root) of the Merkle tree of the first `size` records (None: all of them)."""
        return proofs.root(self.db, size)

    def inclusion(self, seq: int, size: int | None = None) -> proofs.Inclusion:
        return proofs.inclusion(self.db, seq, size)

    def consistency(self, old: int, new: int | None = None) -> proofs.Consistency:
        return proofs.consistency(self.db, old, new)

    def checkpoint(self, signer: Signer, origin: str | None = None) -> str:
        """The tree head as a C2SP checkpoint (origin, size, root), signed by the log's key."""
        size, root = proofs.root(self.db)
        return make_checkpoint(signer, origin or self.origin, size, root)

    @property
    def origin(self) -> str:
        return proofs.default_origin(self.db)

    # ---- reading (queries.py, aggregates.py) ---------------------------------------------------

    def records(
        self,
        model: str | None = None,
        policy: str | None = None,
        outcome: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        limit: int | None = None,
        newest_first: bool = True,
        kind: str | None = None,
        before: int | None = None,
    ) -> list[queries.RecordSummary]:
        return queries.records(self.db, model, policy, outcome, since, until, limit, newest_first, kind, before)

    def get(self, ref: str) -> queries.Record:
        """A record by decision id, a unique id prefix (6+ characters), or #SEQ."""
        return queries.get(self.db, ref)

    def stream(self, batch: int = 2000) -> Iterator[queries.Record]:
        """Every record in chain order, fetched in batches: constant memory for any size of log."""
        return queries.stream(self.db, batch)

    def latest_decisions(self, since: dt.datetime | None = None, model: str | None = None) -> Iterator[queries.Record]:
        return queries.latest_decisions(self.db, since, model)

    def changes(self, decision_id: str) -> list[queries.Change]:
        """Every action row of a decision: planned with it, then applied or failed."""
        return queries.changes(self.db, decision_id)

    def alias_holders(self, model: str, alias: str) -> list[str]:
        """The versions --apply moved an alias to, most recent first."""
        return queries.alias_holders(self.db, model, alias)

    def latest_tag(self, model: str, version: str, key: str) -> str | None:
        """The value --apply last set a version's tag to, or None."""
        return queries.latest_tag(self.db, model, version, key)

    def refuse_changed(self, used: list[registered.Used]) -> None:
        """PolicyConflict when a policy version the log has registered has another digest in `used`."""
        with self.db.driver() as raw:
            registered.refuse_changed(used, registered.known(self.db, raw.cursor(), (u.name for u in used)))

    def latest_outcome(self, model: str, version: str) -> queries.Latest | None:
        """The latest gating decision on a version (id, outcome, policy digests), or None."""
        return queries.latest_outcome(self.db, model, version)

    def latest_per_version(self) -> dict[tuple[str, str], queries.Latest]:
        """The latest decision or plan on every model version in the log."""
        return queries.latest_per_version(self.db)

    def aggregates(self, since: dt.datetime, until: dt.datetime, model: str | None = None) -> Aggregates:
        """A period's numbers for reports; use as a context manager."""
        return Aggregates(self.db, since, until, model)
