"""Canonical JSON and the hash chain: what a record's sha256 covers, and how a chain is checked."""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64  # the predecessor hash of the first record

# The columns a record's hash covers, in canonical (sorted) order; `hash` itself is not one.
HASHED = ("actor", "body", "ci", "engine", "evidence", "id", "model", "outcome", "prev_hash", "seq", "subject_digest", "subject_ref", "time", "version")
_RAW_JSON = {"body", "ci", "evidence"}  # columns that already hold canonical JSON


def canonical(value: Any) -> str:
    """Canonical JSON: sorted keys, no spaces, UTF-8 text, NaN written as a string."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


_NEEDS_ESCAPE = re.compile(r'[\x00-\x1f"\\\u2028\u2029]')


def _json_value(value: Any) -> str:
    """json.dumps(value, ensure_ascii=False), fast for the plain strings and ints of a record."""
    if type(value) is str and not _NEEDS_ESCAPE.search(value):
        return f'"{value}"'
    if type(value) is int:
        return str(value)
    if value is None:
        return "null"
    return json.dumps(value, ensure_ascii=False)


def record_hash(row: Mapping[str, Any]) -> str:
    """sha256 of the record's canonical JSON; the JSON columns are embedded as they are stored,
    so checking a record never re-parses its body (verify reads 100,000s of records a second)."""
    parts = [f'"{key}":{row[key] if key in _RAW_JSON else _json_value(row[key])}' for key in HASHED]
    return hashlib.sha256(("{" + ",".join(parts) + "}").encode()).hexdigest()


@dataclass
class Verdict:
    ok: bool
    records: int
    head: str
    problem: str | None = None
    seq: int | None = None
    decision_id: str | None = None


def verify_rows(rows: Iterable[Mapping[str, Any]], head_row: tuple[int, str] | None, expect_head: str | None = None) -> Verdict:
    """Walk the records in seq order; name the first one that breaks the chain."""
    prev, expected, count, seen_expected = GENESIS, 1, 0, expect_head is None
    for row in rows:
        seq = row["seq"]
        if seq != expected:
            return Verdict(False, count, prev, f"record #{expected} is missing: the log goes from #{expected - 1} to #{seq}", expected)
        if row["prev_hash"] != prev:
            return Verdict(False, count, prev, f"record #{seq} does not follow record #{seq - 1}: its predecessor hash differs (records removed, reordered or inserted)", seq, row["id"])
        if record_hash(row) != row["hash"]:
            return Verdict(False, count, prev, f"record #{seq} was altered: its content no longer matches its hash", seq, row["id"])
        prev, expected, count = row["hash"], expected + 1, count + 1
        seen_expected = seen_expected or prev == expect_head
    if head_row is not None and head_row != (count, prev):
        return Verdict(False, count, prev, f"the log ends at record #{count} but its head says #{head_row[0]}: records were removed from the end", count + 1)
    if not seen_expected:
        return Verdict(False, count, prev, f"the published head {expect_head} is not in the log: records were removed from the end, or the log was rewritten")
    return Verdict(True, count, prev)
