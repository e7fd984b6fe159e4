"""RFC 9162 (Certificate Transparency v2) Merkle trees, section 2.1: hashes, proofs and their checks.

Leaf `i` (0-based) of the audit log's tree is the 32-byte hash of record #i+1. Every hash a proof
needs is the hash of a range of leaves that splits into perfect, aligned subtrees (a range starting
at a multiple of its largest power of two): `range_hash` builds it from those, which a store keeps
(audit/tree.py) or a caller computes. Proofs are asked for as ranges first (`inclusion_ranges`,
`consistency_ranges`), so that a store can fetch every node a proof needs in one query.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

EMPTY_ROOT = hashlib.sha256(b"").digest()  # MTH({}) = HASH()
Perfect = Callable[[int, int], bytes]  # (level, index) -> the hash of leaves index*2**level .. (index+1)*2**level - 1


class ProofError(ValueError):
    """A proof that does not hold, or that asks for sizes no tree has."""


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(size: int) -> int:
    """k: the largest power of two smaller than size (size > 1)."""
    return 1 << ((size - 1).bit_length() - 1)


def perfect_parts(start: int, end: int) -> list[tuple[int, int]]:
    """The (level, index) of the perfect subtrees a range splits into, left to right: the largest
    first. The ranges the proofs ask for are always aligned that way."""
    parts = []
    while start < end:
        level = (end - start).bit_length() - 1
        if start % (1 << level):
            raise ProofError(f"leaves {start}..{end - 1} do not start a subtree of the tree")
        parts.append((level, start >> level))
        start += 1 << level
    return parts


def range_hash(start: int, end: int, perfect: Perfect) -> bytes:
    """MTH(D[start:end]) from the hashes of its perfect subtrees (right to left, as the tree pairs them)."""
    if start == end:
        return EMPTY_ROOT
    hashes = [perfect(level, index) for level, index in perfect_parts(start, end)]
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """PATH(index, D[0:size]) as leaf ranges, bottom-up (RFC 9162 2.1.3.1)."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of {size} leaves")
    start, end, path = 0, size, []
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            path.append((start + k, end))
            end = start + k
        else:
            path.append((start, start + k))
            start += k
    return path[::-1]


def consistency_ranges(old: int, new: int) -> list[tuple[int, int]]:
    """PROOF(old, D[0:new]) as leaf ranges, bottom-up (RFC 9162 2.1.4.1); empty when old == new."""
    if not 0 < old <= new:
        raise ProofError(f"no consistency proof from a tree of {old} leaves to one of {new}")
    start, size, complete, path = 0, new, True, []
    while old != size:
        k = _split(size)
        if old <= k:
            path.append((start + k, start + size))
            size = k
        else:
            path.append((start, start + k))
            start, old, size, complete = start + k, old - k, size - k, False
    if not complete:  # the old tree's root is not a node of the proof's own: its subtree is sent
        path.append((start, start + size))
    return path[::-1]


def verify_inclusion(leaf: bytes, index: int, size: int, path: Sequence[bytes], root: bytes) -> None:
    """RFC 9162 2.1.3.2: `leaf` (the entry, unhashed) is leaf `index` of the tree of `size` with `root`."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is not below the tree size {size}")
    fn, sn, r = index, size - 1, leaf_hash(leaf)
    for p in path:
        if sn == 0:
            raise ProofError("the inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the inclusion proof is shorter than the tree is deep")
    if r != root:
        raise ProofError("the inclusion proof does not lead to the root hash")


def verify_consistency(old: int, new: int, old_root: bytes, new_root: bytes, path: Sequence[bytes]) -> None:
    """RFC 9162 2.1.4.2: the tree of `new` leaves with `new_root` extends the tree of `old` with `old_root`."""
    if old == new:
        if path or old_root != new_root:
            raise ProofError("two trees of one size with different roots: the log forked")
        return
    if old == 0:
        return  # the empty tree is a prefix of every tree
    if not 0 < old < new:
        raise ProofError(f"a tree of {new} leaves cannot extend one of {old}: the log was rolled back")
    if not path:
        raise ProofError("the consistency proof is empty")
    hashes = list(path)
    if old & (old - 1) == 0:  # a power of two: the old root is the proof's first node
        hashes.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = hashes[0]
    for c in hashes[1:]:
        if sn == 0:
            raise ProofError("the consistency proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0 or fr != old_root or sr != new_root:
        raise ProofError("the consistency proof does not join the two roots: the log forked or was rewritten")


def root_of(leaves: Sequence[bytes]) -> bytes:
    """MTH of every leaf at once, a level at a time (a node without a sibling moves up as it is,
    which is how RFC 9162 splits at the largest power of two): for a million leaves, what a
    Frontier does leaf by leaf in a third of the time."""
    sha256 = hashlib.sha256
    level = [sha256(b"\x00" + leaf).digest() for leaf in leaves]
    if not level:
        return EMPTY_ROOT
    while len(level) > 1:
        paired = [sha256(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def root_of_chunks(chunks: Iterable[Sequence[bytes]], chunk: int) -> tuple[int, bytes]:
    """(leaves, MTH) of leaves read in chunks of `chunk` (a power of two; the last may be shorter):
    each full chunk is a perfect subtree hashed level by level, carried as a binary counter carries,
    so memory holds one chunk, not the log."""
    if chunk & (chunk - 1):
        raise ValueError("chunks of a power of two leaves")
    edge: list[tuple[int, bytes]] = []  # (size, hash) of perfect subtrees, the largest first
    size, tail = 0, None
    for leaves in chunks:
        if tail is not None:
            raise ValueError("only the last chunk may be short")
        value = root_of(leaves)
        size += len(leaves)
        if len(leaves) < chunk:
            tail = value
            continue
        width = chunk
        while edge and edge[-1][0] == width:
            value, width = node_hash(edge.pop()[1], value), width * 2
        edge.append((width, value))
    hashes = [h for _, h in edge] + ([tail] if tail is not None and size % chunk else [])
    if not hashes:
        return 0, EMPTY_ROOT
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return size, result


@dataclass
class Frontier:
    """The right edge of a growing tree: the perfect subtrees its leaves form so far, (level, index,
    hash) from the largest. Appending a leaf merges equal levels as a binary counter carries, and
    every node it completes is kept in `made` (what a store saves)."""

    size: int = 0
    edge: list[tuple[int, int, bytes]] = field(default_factory=list)
    made: list[tuple[int, int, bytes]] = field(default_factory=list)

    @staticmethod
    def parts(size: int) -> list[tuple[int, int]]:
        """(level, index) of the perfect subtrees of a tree of `size` leaves: its frontier to load."""
        return perfect_parts(0, size)

    def append(self, leaf: bytes) -> None:
        level, index, value = 0, self.size, leaf_hash(leaf)
        while self.edge and self.edge[-1][0] == level:
            _, left_index, left = self.edge.pop()
            level, index, value = level + 1, left_index >> 1, node_hash(left, value)
            self.made.append((level, index, value))
        self.edge.append((level, index, value))
        self.size += 1

    def extend(self, leaves: Iterable[bytes]) -> Frontier:
        for leaf in leaves:
            self.append(leaf)
        return self

    def root(self) -> bytes:
        if not self.edge:
            return EMPTY_ROOT
        result = self.edge[-1][2]
        for _, _, left in reversed(self.edge[:-1]):
            result = node_hash(left, result)
        return result
