"""Recorded decisions do not move: the examples' decisions under the starter policies, at a fixed
time and id, must give byte for byte the bodies, evidence and hashes in tests/data/golden-records.json,
which an earlier release wrote (63c343c, before the evaluator and audit log were made faster).
A change that moves them changes what every earlier record's hash means: if it is intended (a new
policy text, a new decision schema), regenerate the file and say why in the commit."""

from __future__ import annotations

import datetime as dt
import json

from pml_policy.adapters import fetch
from pml_policy.audit import Entry, chain
from pml_policy.audit.rows import Prepared
from pml_policy.engine import evaluate, load

from ..helpers import ROOT

GOLDEN = ROOT / "tests" / "data" / "golden-records.json"


def _records() -> list[dict[str, str]]:
    policies = load(["policies/starter"])
    champion = fetch("examples/credit-champion")
    now = dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC)
    records, prev = [], chain.GENESIS
    for seq, name in enumerate(("credit-pass", "credit-warn", "credit-fail"), 1):
        subject = fetch(f"examples/{name}")
        decision = evaluate(policies, subject, champion, now=now)
        decision.id = f"00000000-0000-4000-8000-00000000000{seq}"
        row = dict(Prepared.of(Entry(decision, subject, champion), "golden", "{}", {}).row, seq=seq, prev_hash=prev)
        prev = chain.record_hash(row)
        records.append({"body": row["body"], "evidence": row["evidence"], "hash": prev})
    return records


def test_decisions_are_recorded_byte_for_byte_as_an_earlier_release_recorded_them(monkeypatch):
    monkeypatch.chdir(ROOT)  # the examples' references are recorded as given: relative paths
    golden = json.loads(GOLDEN.read_text())
    made = _records()
    for i, (want, got) in enumerate(zip(golden, made, strict=True), 1):
        assert got["body"] == want["body"], f"record {i}: the decision body moved"
        assert got["evidence"] == want["evidence"], f"record {i}: the evidence moved"
        assert got["hash"] == want["hash"], f"record {i}: the hash moved"
    assert [json.loads(r["body"])["outcome"] for r in made] == ["pass", "warn", "fail"]
