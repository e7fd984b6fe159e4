"""Canonical JSON and the hash chain: what a record's sha256 covers, and how a chain is checked."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Any

GENESIS = "0" * 64  # the predecessor hash of the first record

# The columns a record's hash covers, in canonical (sorted) order; `hash` itself is not one.
HASHED = (
    "actor",
    "body",
    "ci",
    "engine",
    "evidence",
    "id",
    "model",
    "outcome",
    "prev_hash",
    "seq",
    "subject_digest",
    "subject_ref",
    "time",
    "version",
)


def canonical(value: Any) -> str:
    """Canonical JSON: sorted keys, no spaces, UTF-8 text, NaN written as a string."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _text(value: str | None) -> str:
    """A string or null as json.dumps(value, ensure_ascii=False) writes it (the C encoder, directly)."""
    return "null" if value is None else encode_basestring(value)


def record_hash(row: Mapping[str, Any]) -> str:
    """sha256 of the record's canonical JSON: the HASHED columns with sorted keys and no spaces, the
    JSON columns embedded as they are stored, so checking a record never re-parses its body."""
    return hash_values(*(row[key] for key in HASHED))


def hash_values(
    actor: str,
    body: str,
    ci: str,
    engine: str,
    evidence: str,
    id: str,
    model: str | None,
    outcome: str,  # noqa: A002
    prev_hash: str,
    seq: int,
    subject_digest: str,
    subject_ref: str,
    time: str,
    version: str | None,
) -> str:
    """record_hash over the columns in HASHED order: one f-string, because verify runs it on every
    record of the log (a generic loop over the keys took as long as the hashing itself)."""
    text = (
        f'{{"actor":{_text(actor)},"body":{body},"ci":{ci},"engine":{_text(engine)},"evidence":{evidence},'
        f'"id":{_text(id)},"model":{_text(model)},"outcome":{_text(outcome)},"prev_hash":{_text(prev_hash)},'
        f'"seq":{int(seq)},"subject_digest":{_text(subject_digest)},"subject_ref":{_text(subject_ref)},'
        f'"time":{_text(time)},"version":{_text(version)}}}'
    )
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Verdict:
    ok: bool
    records: int
    head: str
    problem: str | None = None
    seq: int | None = None
    decision_id: str | None = None
    seen: bool = False  # whether the walk met the expected head's hash


_SEQ, _ID, _PREV = HASHED.index("seq"), HASHED.index("id"), HASHED.index("prev_hash")


def walk(rows: Iterable[Sequence[Any]], start: tuple[int, str] = (0, GENESIS), watch: str | None = None) -> Verdict:
    """Walk records in seq order from the one after `start` (seq, hash), each as its HASHED columns
    and then its hash; name the first one that breaks the chain. `records` counts the records
    that hold; `seen` says whether one of them has the hash `watch`."""
    prev, expected, count, seen = start[1], start[0] + 1, 0, False
    for row in rows:
        *values, stored = row
        seq = values[_SEQ]
        if seq != expected:
            problem = f"record #{expected} is missing: the log goes from #{expected - 1} to #{seq}"
            return Verdict(False, count, prev, problem, expected, seen=seen)
        if values[_PREV] != prev:
            problem = (
                f"record #{seq} does not follow record #{seq - 1}: its predecessor hash differs (records removed, "
                "reordered or inserted)"
            )
            return Verdict(False, count, prev, problem, seq, values[_ID], seen)
        if hash_values(*values) != stored:
            problem = f"record #{seq} was altered: its content no longer matches its hash"
            return Verdict(False, count, prev, problem, seq, values[_ID], seen)
        prev, expected, count = stored, expected + 1, count + 1
        seen = seen or prev == watch
    return Verdict(True, count, prev, seen=seen)


def ended(walked: Verdict, head_row: tuple[int, str] | None, expect_head: str | None) -> Verdict:
    """A whole chain's walk (records 1..n) against the head row, and the head published earlier."""
    if not walked.ok:
        return walked
    count, prev = walked.records, walked.head
    if head_row is not None and head_row != (count, prev):
        return Verdict(
            False,
            count,
            prev,
            f"the log ends at record #{count} but its head says #{head_row[0]}: records were removed from the end",
            count + 1,
        )
    if expect_head is not None and not walked.seen:
        return Verdict(
            False,
            count,
            prev,
            f"the published head {expect_head} is not in the log: records were removed from the end, or the log was "
            "rewritten",
        )
    return walked
