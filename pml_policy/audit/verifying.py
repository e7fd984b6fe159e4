"""`audit verify`: every record's hash and link, its kind, its signature, and the rows derived
from its body, in seq order. A large log is split into seq ranges checked in worker processes at
once, each from the stored hash of the record before its range; where two ranges meet, the link
is checked again, and the change records' rows and the policy registrations are concluded over
the whole chain, so a log checked in ranges gives the verdict it gives checked in one pass.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from pml_policy.base.errors import AuditError
from pml_policy.transparency import merkle
from pml_policy.transparency.notes import Checkpoint

from . import chain, proofs, tree
from .database import Database, reason
from .derived import Derived, DerivedCheck, conclude
from .rows import APPROVAL_PREFIX, CHANGE_PREFIX, CHILD_TABLES
from .signing import PublicKey, SignatureCheck

_CHUNK = 1 << 16  # leaves hashed at once by verify --from: a perfect subtree, a few MB
# Below this many records one process is quicker than starting others (a worker starts in ~0.3 s).
PARALLEL_FROM = 50_000
_COLUMNS = ", ".join((*chain.HASHED, "hash", "signature", "kind", "policy_set"))
_SEQ, _ID, _TIME, _BODY, _HASH = (*(chain.HASHED.index(c) for c in ("seq", "id", "time", "body")), len(chain.HASHED))


@dataclass
class RangeVerdict:
    """One range's walk: its chain verdict, and the first kind or derived-row problem in it."""

    first: int
    last: int
    start: str  # the stored hash of record first - 1: the link the range was checked from
    chain: chain.Verdict
    kind: tuple[int, str] | None
    derived: Derived


def ranges(head: int, workers: int) -> list[tuple[int, int]]:
    """[first, last] seq ranges covering 1..head, one per worker."""
    size = -(-head // workers) if head else 1
    return [(first, min(first + size - 1, head)) for first in range(1, max(head, 1) + 1, size)]


def worker_count(head: int, asked: int | None) -> int:
    """The processes to check a log of `head` records with: as asked, else one per CPU for a large log."""
    if asked is not None:
        return max(1, min(asked, head or 1))
    return min(os.cpu_count() or 1, 8) if head >= PARALLEL_FROM else 1


def check_range(
    db: Database, raw: Any, seqs: tuple[int, int], watch: str | None, signatures: SignatureCheck | None = None
) -> RangeVerdict:
    """Walk records first..last on an open connection (in the snapshot the caller chose)."""
    first, last = seqs
    cursor = raw.cursor()
    start = chain.GENESIS
    if first > 1:
        cursor.execute(db.sql("SELECT hash FROM pml_decisions WHERE seq = {seq}"), {"seq": first - 1})
        row = cursor.fetchone()
        start = row[0] if row else ""  # record first - 1 is gone: its range's walk says so
    rows = reader(db, raw, "pml_verify")
    rows.execute(
        db.sql(f"SELECT {_COLUMNS} FROM pml_decisions WHERE seq >= {{first}} AND seq <= {{last}} ORDER BY seq"),
        {"first": first, "last": last},
    )
    kinds = _KindCheck()
    derived = DerivedCheck(lambda table: reader(db, raw, f"pml_verify_{table}"), seqs, db.sql)
    verdict = chain.walk(_checking(rows, signatures, kinds, derived), (first - 1, start), watch)
    if verdict.ok and verdict.records < last - first + 1:  # the range ends early: a gap, or the log's end
        missing = first + verdict.records
        cursor.execute(db.sql("SELECT MIN(seq) FROM pml_decisions WHERE seq > {seq}"), {"seq": missing})
        after = cursor.fetchone()[0]
        if after is not None:  # as one pass names it; at the log's end, its head row says so (combine)
            problem = f"record #{missing} is missing: the log goes from #{missing - 1} to #{after}"
            verdict = replace(verdict, ok=False, problem=problem, seq=missing)
    kind = (kinds.at or 0, kinds.problem) if kinds.problem else None
    return RangeVerdict(first, last, start, verdict, kind, derived.result())


def _check_range_in_worker(url: str, seqs: tuple[int, int], watch: str | None) -> RangeVerdict:
    db = Database(url)
    try:
        with db.driver() as raw:
            db.snapshot(raw)
            found = check_range(db, raw, seqs, watch)
            raw.rollback()
            return found
    finally:
        db.close()


def check_ranges(
    db: Database, parts: list[tuple[int, int]], watch: str | None, processes: bool = True
) -> list[RangeVerdict]:
    """The ranges checked in worker processes at once, each on a connection of its own; one
    after the other here when this process runs other threads (a fork would copy their locks, a
    spawn re-runs a script without a main guard), or with `processes=False` (the tests)."""
    import multiprocessing
    import threading

    if not processes or threading.active_count() > 1 or "fork" not in multiprocessing.get_all_start_methods():
        return [_check_range_in_worker(db.url, part, watch) for part in parts]
    with ProcessPoolExecutor(len(parts), mp_context=multiprocessing.get_context("fork")) as pool:
        return list(pool.map(_check_range_in_worker, [db.url] * len(parts), parts, [watch] * len(parts)))


def combine(
    parts: list[RangeVerdict],
    head: tuple[int, str],
    expect_head: str | None,
    open_cursor: Any,
    signatures: SignatureCheck | None = None,
    also: Callable[[chain.Verdict], chain.Verdict] | None = None,
    conclude_chain: bool = True,
) -> chain.Verdict:
    """One verdict from the ranges' walks, in order: the first broken link (ranges must meet), then
    the end of the log against its head row, then `also` (a checkpoint), then the first problem
    of signatures, kinds or derived rows (at one record, a bad signature first). conclude_chain:
    the change rows and policy registrations are checked against the whole chain the parts cover."""
    records, prev = 0, chain.GENESIS
    for part in parts:
        if part.start != prev:  # where two ranges meet: the stored hash both read must be the same
            return chain.Verdict(
                False,
                records,
                prev,
                f"record #{part.first} does not follow record #{part.first - 1}: its predecessor hash differs "
                "(records removed, reordered or inserted)",
                part.first,
            )
        if not part.chain.ok:  # its count is the range's: the records before it held too
            return replace(part.chain, records=records + part.chain.records)
        records, prev = records + part.chain.records, part.chain.head
        if part.chain.records < part.last - part.first + 1:
            break  # the log ends in this range (no record after it: check_range looked)
    walked = chain.Verdict(True, records, prev, seen=any(p.chain.seen for p in parts))
    ended = chain.ended(walked, head, expect_head)
    if ended.ok and also is not None:
        ended = also(ended)
    if not ended.ok:
        return ended
    found = [(at, 1, problem) for at, problem in (p.kind for p in parts if p.kind)]
    if signatures is not None:
        signatures.finish(ended.records)
        if signatures.problem is not None:
            found.append((signatures.at or 0, 0, signatures.problem))
    if conclude_chain:
        derived = conclude([p.derived for p in parts], open_cursor)
    else:
        derived = min(((p.derived.problem, p.derived.at) for p in parts if p.derived.problem), default=None)
    if derived is not None:
        found.append((derived[1] or 0, 2, derived[0]))
    if found:
        at, _, problem = min(found)
        return chain.Verdict(False, max(at - 1, 0), ended.head, problem, at or None)
    return ended


def verify_log(
    db: Database,
    expect_head: str | None = None,
    public_key: PublicKey | None = None,
    checkpoint: tuple[int, str] | Checkpoint | None = None,
    workers: int | None = 1,
    signed_from: int = 1,
) -> chain.Verdict:
    """AuditStore.verify: the chain, streamed in seq order through the driver's own cursors
    (server-side on PostgreSQL), in seq ranges checked by `workers` processes at once; then the
    rows outside the chain, then the Merkle tree beside it, then a C2SP checkpoint's root."""
    signatures = SignatureCheck(public_key, signed_from) if public_key else None
    try:
        with db.driver() as raw:
            # One snapshot for every read below: appends may go on meanwhile, and the chain and
            # the rows beside it must be read as of the same moment.
            db.snapshot(raw)
            head = proofs.read_head(raw.cursor())  # verify up to the head seen first
            count = 1 if signatures else worker_count(head[0], workers)
            parts = ranges(head[0], count)
            if count == 1:
                found = [check_range(db, raw, parts[0], expect_head, signatures)]
            else:
                found = check_ranges(db, parts, expect_head)
            opened = lambda table: reader(db, raw, f"pml_verify_{table}")  # noqa: E731
            cut = _pinned(db, raw, checkpoint)
            verdict = combine(found, head, expect_head, opened, signatures, cut)
            if verdict.ok:
                verdict = outside_the_chain(db, raw, verdict, head[0])
            if verdict.ok:
                verdict = in_the_tree(db, raw, verdict, head[0])
            raw.rollback()
    except db.errors() as exc:
        raise AuditError(f"cannot read the audit log at {db.shown}: {reason(exc)}", db.hint()) from None
    return verdict


def verify_from(db: Database, checkpoint: Checkpoint, signatures: SignatureCheck | None = None) -> chain.Verdict:
    """From a trusted checkpoint: the first `size` records' hashes must hash to its root (their
    content is not re-hashed: the checkpoint vouches for them), and every record after it is
    verified in full (hash, link, kind, signature, the rows its body derives); rows outside the
    chain are looked for as in a full verify. The whole-chain conclusions (the applied-change rows
    in their order, the policy registrations table) are a full verify's."""
    try:
        with db.driver() as raw:
            db.snapshot(raw)
            try:
                return _after(db, raw, checkpoint, signatures)
            finally:
                raw.rollback()
    except db.errors() as exc:
        raise AuditError(f"cannot read the audit log at {db.shown}: {reason(exc)}", db.hint()) from None


def _after(db: Database, raw: Any, checkpoint: Checkpoint, signatures: SignatureCheck | None) -> chain.Verdict:
    size, head = checkpoint.size, proofs.read_head(raw.cursor())
    if size > head[0]:
        problem = f"the log holds {head[0]} records, fewer than the checkpoint's {size}: it was cut or rewound"
        return chain.Verdict(False, 0, head[1], problem, head[0] + 1)
    if not _leaves_hash_to(db, raw, size, checkpoint.root):
        problem = f"records #1 to #{size} no longer hash to the checkpoint's root: the log was rewritten before it"
        return chain.Verdict(False, 0, head[1], problem, None)
    if signatures is not None:  # the records the checkpoint vouches for are not read again
        signatures.signed_from = max(signatures.signed_from, size + 1)
    part = check_range(db, raw, (size + 1, max(head[0], size + 1)), None, signatures)
    pinned = RangeVerdict(1, size, chain.GENESIS, chain.Verdict(True, size, part.start), None, Derived.empty())
    parts = [pinned, part] if head[0] > size else [pinned]
    verdict = combine(parts, head, None, lambda _: None, signatures, None, conclude_chain=False)
    return outside_the_chain(db, raw, verdict, head[0]) if verdict.ok else verdict


def _pinned(
    db: Database, raw: Any, checkpoint: tuple[int, str] | Checkpoint | None
) -> Callable[[chain.Verdict], chain.Verdict] | None:
    """What a checkpoint asks of the verified chain: an earlier release's (seq, hash), or a tree's root."""
    if isinstance(checkpoint, tuple):
        return lambda verdict: against_checkpoint(db, raw, verdict, checkpoint)
    if isinstance(checkpoint, Checkpoint):
        return lambda verdict: against_root(db, raw, verdict, checkpoint)
    return None


def _leaves_hash_to(db: Database, raw: Any, size: int, root: bytes) -> bool:
    """Whether records #1..#size are all there and their hashes (the leaves) hash to `root`: read
    from the (seq, hash) index, never from the records."""
    hint = " INDEXED BY ix_pml_decisions_leaves" if db.is_sqlite else ""
    cursor = reader(db, raw, "pml_verify_leaves")
    cursor.execute(
        db.sql(f"SELECT hash FROM pml_decisions{hint} WHERE seq >= 1 AND seq <= {{size}} ORDER BY seq"), {"size": size}
    )
    chunks = iter(lambda: [bytes.fromhex(h) for (h,) in cursor.fetchmany(_CHUNK)], [])
    try:
        counted, found = merkle.root_of_chunks(chunks, _CHUNK)
    except ValueError:  # a hash that is not hex was written by hand
        return False
    return counted == size and found == root


def in_the_tree(db: Database, raw: Any, verdict: chain.Verdict, head: int) -> chain.Verdict:
    """Every node of the Merkle tree beside the chain, rebuilt from the records' hashes."""
    found = tree.check(db, reader(db, raw, "pml_verify_leaves"), reader(db, raw, "pml_verify_nodes"), head)
    if found is None:
        return verdict
    return chain.Verdict(False, verdict.records, verdict.head, found[0], found[1])


def against_root(db: Database, raw: Any, verdict: chain.Verdict, checkpoint: Checkpoint) -> chain.Verdict:
    """A C2SP checkpoint pins history: the log's first `size` records must still hash to its root."""
    if checkpoint.size > verdict.records:
        problem = (
            f"the log holds {verdict.records} records, fewer than the checkpoint's {checkpoint.size}: it was cut or "
            "rewound"
        )
        return chain.Verdict(False, verdict.records, verdict.head, problem, verdict.records + 1)
    try:
        stored = tree.root(db, raw.cursor(), checkpoint.size)
    except AuditError as exc:  # a node the root needs was deleted by hand
        return chain.Verdict(False, 0, verdict.head, exc.message, None)
    if stored != checkpoint.root:
        problem = (
            f"the log's first {checkpoint.size} records no longer hash to the checkpoint's root: the log was "
            "rewritten after it"
        )
        return chain.Verdict(False, 0, verdict.head, problem, None)
    return verdict


def against_checkpoint(db: Database, raw: Any, verdict: chain.Verdict, checkpoint: tuple[int, str]) -> chain.Verdict:
    """A checkpoint pins history: its record must be in the chain just verified (the head at or
    after it: a head rewound below it hides a rewrite), with the hash the checkpoint names."""
    seq, expected = checkpoint
    cursor = raw.cursor()
    cursor.execute(db.sql("SELECT hash FROM pml_decisions WHERE seq = {seq}"), {"seq": seq})
    found = cursor.fetchone()
    if seq > verdict.records:
        problem = (
            f"the log's head is record #{verdict.records}, before the checkpoint's record #{seq}: it was cut or rewound"
        )
    elif found is None or found[0] != expected:
        what = "is no longer in the log" if found is None else "has another hash now"
        problem = f"the checkpoint's record #{seq} {what}: the log was cut or rewritten after it"
    else:
        return verdict
    return chain.Verdict(False, min(verdict.records, seq - 1), verdict.head, problem, seq)


def outside_the_chain(db: Database, raw: Any, verdict: chain.Verdict, head: int) -> chain.Verdict:
    """The chain is the log: a record with a seq outside 1..head, or a row beside one, was written
    by hand (a negative seq, a record after the head, a head rewound): tampering, named."""
    cursor = raw.cursor()
    found = []
    for table, column in (("pml_decisions", "seq"), *((t, "decision_seq") for t in CHILD_TABLES)):
        cursor.execute(
            db.sql(f"SELECT MIN({column}), MAX({column}) FROM {table} WHERE {column} < 1 OR {column} > {{head}}"),
            {"head": head},
        )
        low, high = cursor.fetchone()
        if low is not None:
            found.append((table, low if low < 1 else high))
    if not found:
        return verdict
    table, seq = found[0]
    what = "a record" if table == "pml_decisions" else f"a row of {table} beside record"
    problem = (
        f"{what} #{seq} lies outside the chain (records #1 to the head, #{head}): written by hand, never appended "
        "by pml-policy; no command reads it"
    )
    return chain.Verdict(False, verdict.records, verdict.head, problem, seq)


def reader(db: Database, raw: Any, name: str) -> Any:
    """A cursor that streams: SQLite's own, a named server-side one on PostgreSQL."""
    if db.is_sqlite:
        return raw.cursor()
    cursor = raw.driver_connection.cursor(name=name)
    cursor.itersize = 2000  # rows per round trip
    return cursor


class _KindCheck:
    """A record's kind column must say what its (hashed) body says: a plan turned into a gating
    decision by hand is found. In canonical JSON the body's top-level "kind" follows its "id"."""

    def __init__(self) -> None:
        self.problem: str | None = None
        self.at: int | None = None

    def feed(self, seq: int, record_id: str, body: str, kind: str) -> None:
        if body.startswith(CHANGE_PREFIX):
            said = "change"
        elif body.startswith(APPROVAL_PREFIX):
            said = "approval"
        else:
            named = f'"id":{json.dumps(record_id, ensure_ascii=False)},"kind":"'
            said = next((k for k in ("plan", "recheck") if named + k + '"' in body), "decision")
        if kind != said and self.problem is None:
            self.problem, self.at = f"record #{seq} was altered: its kind is {kind!r} but its body says {said!r}", seq


def _checking(
    rows: Iterator[Any], signatures: SignatureCheck | None, kinds: _KindCheck, derived: DerivedCheck
) -> Iterator[Any]:
    """The rows as chain.walk reads them (the hashed columns, then the hash), each record's
    signature, kind and derived rows checked on the way."""
    for row in rows:
        if signatures is not None:
            signatures.feed(row[_SEQ], row[_HASH], row[_HASH + 1])
        kinds.feed(row[_SEQ], row[_ID], row[_BODY], row[_HASH + 2])
        derived.feed(row[_SEQ], row[_ID], row[_TIME], row[_BODY], row[_HASH + 3])
        yield row[: _HASH + 1]
