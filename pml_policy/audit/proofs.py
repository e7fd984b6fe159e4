"""What the log proves about itself without being read whole: its head, the root of its Merkle tree
at any size, inclusion proofs of records and consistency proofs between sizes (RFC 9162), each
from O(log n) rows of the tree kept beside the chain (tree.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pml_policy.base.errors import AuditError, UsageError
from pml_policy.transparency import merkle

from . import tree
from .database import Database, reason


def read_head(cursor: Any, lock: bool = False) -> tuple[int, str]:
    """The last record's (seq, hash); with lock, held until the transaction ends (PostgreSQL)."""
    cursor.execute("SELECT seq, hash FROM pml_head WHERE id = 1" + (" FOR UPDATE" if lock else ""))
    found = cursor.fetchone()
    if found is None or not isinstance(found[0], int) or not isinstance(found[1], str):
        raise AuditError(
            "the audit log's head row (pml_head) is missing or damaged: it was edited by hand",
            "run `pml-policy audit verify` on a copy restored from a backup; no record can be added meanwhile",
        )
    return int(found[0]), found[1]


def default_origin(db: Database) -> str:
    """The log's name in checkpoints when none is configured: pml-policy/ and the database's name."""
    from sqlalchemy.engine import make_url

    name = Path(db.sqlite_path).name if db.sqlite_path else make_url(db.url).database or "audit"
    return "pml-policy/" + "".join("_" if c.isspace() or c == "+" else c for c in name)


@dataclass(frozen=True)
class Inclusion:
    """Record #seq is leaf seq - 1 of the tree of `size` leaves whose root is `root`."""

    seq: int
    record_hash: str  # hex, as `audit export` shows it: the leaf
    size: int
    root: bytes
    path: list[bytes]


@dataclass(frozen=True)
class Consistency:
    old: int
    new: int
    old_root: bytes
    new_root: bytes
    path: list[bytes]


def root(db: Database, size: int | None = None) -> tuple[int, bytes]:
    """(size, root hash) of the tree of the first `size` records (None: every record)."""
    with _reading(db) as (cursor, head):
        size = head if size is None else _within(size, head, db)
        return size, tree.root(db, cursor, size)


def inclusion(db: Database, seq: int, size: int | None = None) -> Inclusion:
    """The inclusion proof of record #seq in the tree of `size` records (None: every record)."""
    with _reading(db) as (cursor, head):
        size = head if size is None else _within(size, head, db)
        if not 1 <= seq <= size:
            raise UsageError(f"record #{seq} is not in a tree of {size} records", "prove against a later checkpoint")
        cursor.execute(db.sql("SELECT hash FROM pml_decisions WHERE seq = {seq}"), {"seq": seq})
        (record_hash,) = cursor.fetchone()
        ranges = merkle.inclusion_ranges(seq - 1, size)
        *path, top = tree.range_hashes(db, cursor, [*ranges, (0, size)])
        return Inclusion(seq, record_hash, size, top, path)


def consistency(db: Database, old: int, new: int | None = None) -> Consistency:
    """The consistency proof from the tree of `old` records to the tree of `new` (None: every record)."""
    with _reading(db) as (cursor, head):
        new = head if new is None else _within(new, head, db)
        if not 0 < old <= new:
            raise UsageError(f"no consistency proof from a tree of {old} records to one of {new}")
        ranges = [*merkle.consistency_ranges(old, new), (0, old), (0, new)]
        *path, old_root, new_root = tree.range_hashes(db, cursor, ranges)
        return Consistency(old, new, old_root, new_root, path)


def _within(size: int, head: int, db: Database) -> int:
    if not 0 <= size <= head:
        raise AuditError(
            f"the audit log at {db.shown} holds {head} records, not {size}: it was cut or rewound, or this is "
            "another log"
        )
    return size


@contextmanager
def _reading(db: Database) -> Iterator[tuple[Any, int]]:
    """A cursor in one snapshot, and the head as of it."""
    try:
        with db.driver() as raw:
            db.snapshot(raw)
            cursor = raw.cursor()
            yield cursor, read_head(cursor)[0]
            raw.rollback()
    except db.errors() as exc:
        raise AuditError(f"cannot read the audit log at {db.shown}: {reason(exc)}", db.hint()) from None
