"""Report time and peak memory over audit logs of 10k, 100k and 1M decisions (SQLite).

Each log is written in bulk: real decisions of the starter policies (pass, warn and fail, ten rule
results each, with their evidence) copied into chained records of their own, spread over 90 days
and 8 models, so that `audit verify` finds every record and its rows as the write path makes them. Then
`pml-policy report --period … --format json` runs as a user runs it, timed, with its peak memory
read by /usr/bin/time: once with the chain's verification (which reads every record) and once
with --no-verify (the SQL aggregates alone).

    python bench/report.py [--sizes 10000,100000,1000000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from measure import run_pml  # noqa: E402  (bench/, beside this script)


def fill(url: str, count: int, batch: int = 20_000) -> float:
    """Decisions of the starter policies on the three example candidates, recorded first through
    the real write path (which registers the policies), then copied in bulk: each copy a record of
    its own (id, time, model, version), chained, with the rows derived from its body, as `audit
    verify` checks them."""
    from pml_policy.adapters import fetch
    from pml_policy.audit import AuditStore, Entry, chain
    from pml_policy.audit.rows import CHILD_TABLES, Prepared, insert_sql, utc_text
    from pml_policy.engine import evaluate, load

    store = AuditStore(url)
    policies = load([ROOT / "policies" / "starter"])
    champion = fetch(str(ROOT / "examples" / "credit-champion"))
    entries = []
    for example in ("credit-pass", "credit-warn", "credit-fail"):
        subject = fetch(str(ROOT / "examples" / example))
        entries.append(Entry(evaluate(policies, subject, champion), subject, champion))
    store.append(entries, "bench", {})
    templates = [Prepared.of(e, "bench", "{}", {}) for e in entries]
    bodies = [json.loads(t.row["body"]) for t in templates]
    seq, prev = store.head()
    start_time, started = dt.datetime.now(dt.UTC) - dt.timedelta(days=90), time.perf_counter()
    with store.db.writing() as cursor:
        while seq < count:
            tables: dict[str, list[dict]] = {name: [] for name in ("pml_decisions", *CHILD_TABLES)}
            for _ in range(min(batch, count - seq)):
                seq += 1
                k = 2 if seq % 7 == 0 else (1 if seq % 5 == 0 else 0)  # fail, warn, pass
                when = start_time + dt.timedelta(seconds=seq * 90 * 86400 / count)
                model, version, record_id = f"model-{seq % 8}", str(seq // 8), str(uuid.uuid4())
                body = dict(bodies[k], id=record_id, time=when.isoformat().replace("+00:00", "Z"))
                body["subject"] = dict(body["subject"], model=model, version=version)
                row = dict(
                    templates[k].row,
                    id=record_id,
                    time=utc_text(when),
                    model=model,
                    version=version,
                    body=chain.canonical(body),
                    seq=seq,
                    prev_hash=prev,
                )
                row["hash"] = prev = chain.record_hash(row)
                row["signature"] = None
                tables["pml_decisions"].append(row)
                for name in CHILD_TABLES:
                    tables[name].extend(dict(child, decision_seq=seq) for child in templates[k].children[name])
            for name, rows in tables.items():
                if rows:
                    cursor.executemany(insert_sql(name, tuple(rows[0]), store.db.mark), rows)
        cursor.execute(
            store.db.sql("UPDATE pml_head SET seq = {seq}, hash = {hash} WHERE id = 1"), {"seq": seq, "hash": prev}
        )
    store.close()
    return time.perf_counter() - started


def report(url: str, verify: bool) -> tuple[float, float]:
    args = ["report", "--period", "last-90d", "--format", "json", "-o", "/dev/null", "--audit", url]
    args += ["-p", str(ROOT / "policies"), *([] if verify else ["--no-verify"])]
    elapsed, peak, _ = run_pml(*args)
    return elapsed, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    args = parser.parse_args()
    print(f"{'decisions':>10} {'fill s':>8} {'report s':>9} {'peak MiB':>9} {'--no-verify s':>14} {'peak MiB':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            url = f"sqlite:///{tmp}/audit-{size}.db"
            filled = fill(url, size)
            with_verify, peak = report(url, True)
            without, peak_nv = report(url, False)
            print(
                f"{size:>10,} {filled:8.1f} {with_verify:9.2f} {peak:9.0f} {without:14.2f} {peak_nv:9.0f}", flush=True
            )


if __name__ == "__main__":
    main()
