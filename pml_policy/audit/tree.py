"""The RFC 9162 Merkle tree over the chain, kept in pml_tree beside it.

Leaf i is the hash of record #i+1. Every perfect subtree of two leaves or more is stored when the
record that completes it is appended, in the same transaction (about one node per record), so a
proof or a root at any size reads O(log n) rows: the perfect subtrees its ranges split into
(transparency.merkle). `audit verify` rebuilds every node from the records' hashes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pml_policy.base.errors import AuditError
from pml_policy.transparency import merkle

from .database import Database

_NODE_ORDER = "CAST(idx + 1 AS BIGINT) * (CAST(1 AS BIGINT) << level), level"  # the order appends make them in


def grown(db: Database, cursor: Any, size: int, head: str, hashes: Sequence[str]) -> list[dict[str, Any]]:
    """The pml_tree rows that records with `hashes` complete, appended after `size` records whose
    last has hash `head`: the tree's right edge is read first (O(log n) rows)."""
    if not hashes:
        return []
    frontier = merkle.Frontier(size, _edge(db, cursor, size, head))
    frontier.extend(bytes.fromhex(h) for h in hashes)
    return [{"level": level, "idx": index, "hash": value.hex()} for level, index, value in frontier.made]


def _edge(db: Database, cursor: Any, size: int, head: str) -> list[tuple[int, int, bytes]]:
    """The perfect subtrees of a tree of `size` leaves whose last is `head`, from the table."""
    parts = merkle.Frontier.parts(size)
    stored = _nodes(db, cursor, [part for part in parts if part[0] > 0])
    edge = []
    for level, index in parts:
        value = merkle.leaf_hash(bytes.fromhex(head)) if level == 0 else stored.get((level, index))
        if value is None:
            raise _damaged(db, level, index)
        edge.append((level, index, value))
    return edge


def range_hashes(db: Database, cursor: Any, ranges: Iterable[tuple[int, int]]) -> list[bytes]:
    """MTH of each leaf range (as the proofs ask for them), from one read of the leaves and one of
    the nodes they need."""
    ranges = list(ranges)
    needed = {part for start, end in ranges for part in merkle.perfect_parts(start, end)}
    leaves = sorted(index for level, index in needed if level == 0)
    found = _nodes(db, cursor, [part for part in needed if part[0] > 0])
    if leaves:
        marks = ", ".join(f"{{s{i}}}" for i in range(len(leaves)))
        cursor.execute(
            db.sql(f"SELECT seq, hash FROM pml_decisions WHERE seq IN ({marks})"),
            {f"s{i}": index + 1 for i, index in enumerate(leaves)},
        )
        found.update(((0, seq - 1), merkle.leaf_hash(bytes.fromhex(h))) for seq, h in cursor.fetchall())

    def perfect(level: int, index: int) -> bytes:
        if (level, index) not in found:
            raise _damaged(db, level, index)
        return found[(level, index)]

    return [merkle.range_hash(start, end, perfect) for start, end in ranges]


def root(db: Database, cursor: Any, size: int) -> bytes:
    return range_hashes(db, cursor, [(0, size)])[0]


def check(db: Database, records: Any, nodes: Any, head: int) -> tuple[str, int] | None:
    """Rebuild the tree from the records' hashes (seq 1..head, streamed on `records`) and compare
    every node stored (streamed on `nodes`): the first difference, as (problem, seq), or None."""
    records.execute(
        db.sql("SELECT hash FROM pml_decisions WHERE seq >= 1 AND seq <= {head} ORDER BY seq"), {"head": head}
    )
    nodes.execute(f"SELECT level, idx, hash FROM pml_tree ORDER BY {_NODE_ORDER}")
    stored = iter(nodes)
    frontier = merkle.Frontier()
    for (record_hash,) in records:
        frontier.made.clear()
        frontier.append(bytes.fromhex(record_hash))
        for level, index, value in frontier.made:
            row = next(stored, None)
            if row is None or (row[0], row[1]) != (level, index):
                return f"pml_tree: the node over leaves {_span(level, index)} was deleted or moved", frontier.size
            if row[2] != value.hex():
                return (
                    f"pml_tree: the node over leaves {_span(level, index)} was changed: it no longer matches the "
                    "records' hashes",
                    frontier.size,
                )
    extra = next(stored, None)
    if extra is not None:
        return (
            f"pml_tree: a node over leaves {_span(extra[0], extra[1])} lies outside the tree of the chain's "
            f"{frontier.size} records: written by hand",
            frontier.size,
        )
    return None


def _nodes(db: Database, cursor: Any, keys: list[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    if not keys:
        return {}
    where = " OR ".join(f"(level = {{l{i}}} AND idx = {{i{i}}})" for i in range(len(keys)))
    values = {f"{name}{i}": v for i, key in enumerate(keys) for name, v in zip("li", key)}
    cursor.execute(db.sql(f"SELECT level, idx, hash FROM pml_tree WHERE {where}"), values)
    return {(level, index): bytes.fromhex(h) for level, index, h in cursor.fetchall()}


def _span(level: int, index: int) -> str:
    return f"{index << level}..{((index + 1) << level) - 1}"


def _damaged(db: Database, level: int, index: int) -> AuditError:
    return AuditError(
        f"the Merkle tree beside the audit log at {db.shown} lacks its node over leaves {_span(level, index)}: "
        "it was edited by hand",
        "run `pml-policy audit verify`; restore the log from a backup",
    )
