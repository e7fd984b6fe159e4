"""Audit log throughput, measured side by side on SQLite and PostgreSQL in one run.

  * appends per second through AuditStore.append (one decision per transaction, as `check` does),
    with 1 writer and with 8 writer processes at once;
  * verify speed over a large log (default 1,000,000 records). The log is written in bulk as
    real chained rows (the same record_hash, so the chain verifies), because building a million
    records one append at a time would only measure append again;
  * peak memory of `audit export` over that log (streaming: it must not grow with the log);
  * the cold start of `pml-policy check` with its SQLite append.

    python bench/audit.py [--records 1000000] [--appends 2000] [--stores sqlite,postgresql]

PostgreSQL: the machine's server at PML_TEST_PG_URL (default postgresql://postgres@127.0.0.1:5432/postgres);
each run creates and drops its own databases.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PG_ADMIN = os.environ.get("PML_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TARGETS = {"append_1_sqlite": 2000.0, "verify": 100_000.0, "cold_start": 0.5}


def entry():
    from pml_policy.adapters import fetch
    from pml_policy.audit import Entry
    from pml_policy.engine import evaluate, load

    policies = load([ROOT / "policies" / "starter"])
    subject = fetch(str(ROOT / "examples" / "credit-fail"))
    champion = fetch(str(ROOT / "examples" / "credit-champion"))
    return Entry(evaluate(policies, subject, champion), subject, champion)


def fresh_url(store: str, tmp: Path) -> tuple[str, callable]:
    if store == "sqlite":
        path = tmp / f"audit-{uuid.uuid4().hex[:8]}.db"
        return f"sqlite:///{path}", lambda: None
    import psycopg

    name = f"pml_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", drop


_ENTRY = None  # built once before timing; forked writers inherit it


def _append_many(url: str, count: int) -> None:
    from pml_policy.audit import AuditStore

    e, store = _ENTRY, AuditStore(url)
    for _ in range(count):
        e.decision.id = uuid.uuid4().hex
        store.append([e], "bench", {})
    store.close()


def bench_appends(url: str, count: int, writers: int) -> float:
    from pml_policy.audit import AuditStore

    global _ENTRY
    _ENTRY = _ENTRY or entry()
    AuditStore(url).close()
    if writers == 1:
        start = time.perf_counter()
        _append_many(url, count)
        return count / (time.perf_counter() - start)
    context = multiprocessing.get_context("fork")
    procs = [context.Process(target=_append_many, args=(url, count // writers)) for _ in range(writers)]
    start = time.perf_counter()
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    elapsed = time.perf_counter() - start
    assert all(p.exitcode == 0 for p in procs)
    assert AuditStore(url).verify().ok
    return (count // writers) * writers / elapsed


def fill_chain(url: str, records: int, batch: int = 5000) -> float:
    """Write `records` valid chained records in bulk (decision rows only); returns seconds."""
    from sqlalchemy import column, table, text

    from pml_policy.audit import AuditStore, chain
    from pml_policy.audit.store import _json_of, utc_text

    store = AuditStore(url)
    e = entry()
    body = _json_of(e.decision)[1]
    evidence = '{"champion":' + _json_of(e.champion)[1] + ',"subject":' + _json_of(e.subject)[1] + "}"
    decisions = table("pml_decisions", *(column(c) for c in (*chain.HASHED, "hash")))
    prev, seq, start = chain.GENESIS, 0, time.perf_counter()
    base = e.decision.time
    with store.engine.begin() as conn:
        while seq < records:
            rows = []
            for _ in range(min(batch, records - seq)):
                seq += 1
                row = {
                    "seq": seq, "id": uuid.uuid4().hex, "time": utc_text(base), "actor": "bench", "ci": "{}",
                    "subject_ref": "examples/credit-fail", "subject_digest": e.subject.digest, "model": "credit-scorer",
                    "version": "10", "outcome": "fail", "engine": "python", "body": body, "evidence": evidence, "prev_hash": prev,
                }
                row["hash"] = prev = chain.record_hash(row)
                rows.append(row)
            conn.execute(decisions.insert(), rows)
        conn.execute(text("UPDATE pml_head SET seq = :s, hash = :h WHERE id = 1"), {"s": seq, "h": prev})
    store.close()
    return time.perf_counter() - start


def bench_verify(url: str) -> tuple[float, int]:
    from pml_policy.audit import AuditStore

    store = AuditStore(url)
    start = time.perf_counter()
    verdict = store.verify()
    elapsed = time.perf_counter() - start
    assert verdict.ok, verdict.problem
    return verdict.records / elapsed, verdict.records


def bench_export_memory(url: str) -> tuple[float, float]:
    """Peak RSS of `pml-policy audit export` writing to /dev/null, and its time."""
    exe = Path(sys.executable).with_name("pml-policy")
    start = time.perf_counter()
    out = subprocess.run(["/usr/bin/time", "-f", "%M", str(exe), "audit", "export", "--audit", url, "-o", "/dev/null"], capture_output=True, text=True, check=True)
    return int(out.stderr.strip().splitlines()[-1]) / 1024, time.perf_counter() - start


def bench_cold_start(runs: int, tmp: Path) -> float:
    exe = Path(sys.executable).with_name("pml-policy")
    url = f"sqlite:///{tmp}/cold.db"
    args = [str(exe), "check", "examples/credit-pass", "-p", "policies/starter", "--audit", url]
    subprocess.run(args, cwd=ROOT, capture_output=True, check=True)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(args, cwd=ROOT, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def verdict(value: float, target: float, higher_is_better: bool = True) -> str:
    met = value >= target if higher_is_better else value <= target
    return f"target {'>=' if higher_is_better else '<='} {target:g}: {'met' if met else 'MISSED'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000, help="size of the log that verify and export read")
    parser.add_argument("--appends", type=int, default=2000, help="appends per measurement")
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--cold-runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=os.environ.get("PML_BENCH_DIR")) as tmp_name:
        tmp = Path(tmp_name)
        for store in args.stores.split(","):
            print(f"{store}:", flush=True)
            for writers in (1, 8):
                url, drop = fresh_url(store, tmp)
                try:
                    rate = bench_appends(url, args.appends, writers)
                finally:
                    drop()
                target = f"   {verdict(rate, TARGETS['append_1_sqlite'])}" if (store, writers) == ("sqlite", 1) else ""
                print(f"  appends, {writers} writer{'s' if writers > 1 else ' '}      {rate:9.0f} /s{target}", flush=True)
            url, drop = fresh_url(store, tmp)
            try:
                seconds = fill_chain(url, args.records)
                print(f"  (wrote {args.records:,} chained records in bulk in {seconds:.0f} s)", flush=True)
                rate, count = bench_verify(url)
                print(f"  verify {count:,} records     {rate:9.0f} /s   {verdict(rate, TARGETS['verify'])}", flush=True)
                peak, seconds = bench_export_memory(url)
                print(f"  export {count:,} records: {seconds:.0f} s, peak memory {peak:.0f} MiB (streaming)", flush=True)
            finally:
                drop()
        median = bench_cold_start(args.cold_runs, tmp)
        print(f"check with its SQLite append, cold start: median {median:.3f} s   {verdict(median, TARGETS['cold_start'], False)}")


if __name__ == "__main__":
    main()
