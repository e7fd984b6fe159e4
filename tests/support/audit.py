"""What the audit tests of several tiers share."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from sqlalchemy import create_engine, text

from pml_policy.adapters import fetch
from pml_policy.audit import AuditStore, Entry, chain, rows
from pml_policy.audit.database import driver_url
from pml_policy.engine import evaluate, load
from pml_policy.transparency.merkle import Frontier

from ..helpers import ROOT

CHAMPION = ["--champion", "examples/credit-champion", "-p", "policies/starter"]


def _decision(example: str = "credit-pass"):
    policies = load([ROOT / "policies" / "starter"])
    subject = fetch(str(ROOT / "examples" / example))
    return Entry(evaluate(policies, subject), subject)


def _delete_record(url: str, seq: int) -> None:
    """Remove a decision by hand, rows beside it first (their foreign keys would refuse otherwise)."""
    for table in rows.CHILD_TABLES:
        _sql(url, f"DELETE FROM {table} WHERE decision_seq = {seq}")
    _sql(url, f"DELETE FROM pml_decisions WHERE seq = {seq}")


def _sql(url: str, statement: str) -> None:
    engine = create_engine(driver_url(url))
    with engine.begin() as conn:
        conn.execute(text(statement))
    engine.dispose()


def _forge_tail(url: str, signature: str | None) -> None:
    """What someone with write access but without the key can do: append a well-formed record,
    its hash recomputed from the chain (a copy of the last one under a new id), with the rows its
    body derives beside it and the Merkle tree's nodes rebuilt."""
    engine = create_engine(driver_url(url))
    try:
        with engine.begin() as conn:
            last = dict(conn.execute(text("SELECT * FROM pml_decisions ORDER BY seq DESC LIMIT 1")).mappings().one())
            forged = {
                **last,
                "seq": last["seq"] + 1,
                "id": "f0f0f0f0-forged",
                "prev_hash": last["hash"],
                "outcome": "pass",
            }
            forged["hash"] = chain.record_hash(forged)
            forged["signature"] = signature
            conn.execute(
                text(f"INSERT INTO pml_decisions ({', '.join(forged)}) VALUES ({', '.join(':' + k for k in forged)})"),
                forged,
            )
            for table, children in rows.children_of(json.loads(forged["body"])).items():
                for child in children:
                    child = {**dict(zip(rows.CHILD_COLUMNS[table], child)), "decision_seq": forged["seq"]}
                    names = ", ".join(child)
                    conn.execute(
                        text(f"INSERT INTO {table} ({names}) VALUES ({', '.join(':' + k for k in child)})"), child
                    )
            conn.execute(
                text("UPDATE pml_head SET seq = :s, hash = :h WHERE id = 1"), {"s": forged["seq"], "h": forged["hash"]}
            )
            leaves = [bytes.fromhex(h) for (h,) in conn.execute(text("SELECT hash FROM pml_decisions ORDER BY seq"))]
            conn.execute(text("DELETE FROM pml_tree"))
            for level, index, value in Frontier().extend(leaves).made:
                conn.execute(
                    text("INSERT INTO pml_tree (level, idx, hash) VALUES (:l, :i, :h)"),
                    {"l": level, "i": index, "h": value.hex()},
                )
    finally:
        engine.dispose()


def _fill(url: str, count: int) -> AuditStore:
    store = AuditStore(url)
    for i in range(count):
        store.append([_decision(("credit-pass", "credit-warn", "credit-fail")[i % 3])], "tester", {})
    return store


def _log_with_a_waiver(url: str, tmp_path: Path) -> AuditStore:
    """Three decisions; #2 fails with an action planned, a waiver used and one expired."""
    policies = tmp_path / "policies"
    shutil.copytree(ROOT / "policies" / "starter", policies)
    (policies / "waivers.pml").write_text(
        'waiver "W-1" { policy "fairness-high-risk" rule parity_gap model "credit-scorer" version "*" '
        'reason "known" approved by "cro" expires 2099-01-01 }\n'
        'waiver "W-0" { policy "fairness-high-risk" rule opportunity_gap model "credit-scorer" version "*" '
        'reason "old" approved by "cro" expires 2020-01-01 }\n'
    )
    loaded = load([policies])
    store = AuditStore(url)
    for example in ("credit-pass", "credit-fail", "credit-warn"):
        subject = fetch(str(ROOT / "examples" / example))
        store.append([Entry(evaluate(loaded, subject), subject)], "tester", {})
    return store
