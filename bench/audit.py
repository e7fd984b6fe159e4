"""Audit log throughput, measured side by side on SQLite and PostgreSQL in one run.

  * appends per second through AuditStore.append (one decision per transaction, as `check` does),
    with 1 writer and with 8 writer processes at once;
  * verify speed over a large log (default 1,000,000 records). The log is written in bulk as
    real chained rows (the same record_hash, so the chain verifies), because building a million
    records one append at a time would only measure append again;
  * beside each of those, the floor on this machine, measured in the same run: the same rows
    through the bare driver, and reading + sha256 without the chain logic;
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

from measure import fill  # noqa: E402  (bench/, beside this script)

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


def floor_appends(url: str, count: int) -> float:
    """The database alone: the same rows (one decision, its rule results and actions) written through
    the bare driver, one transaction each, built once up front. What AuditStore.append could reach."""
    from pml_policy.audit import AuditStore, chain
    from pml_policy.audit.rows import Prepared, insert_sql

    store = AuditStore(url)
    prepared = Prepared.of(entry(), "bench", "{}", {})
    raw = store.db.engine.raw_connection()
    cursor, mark = raw.cursor(), store.db.mark
    start = time.perf_counter()
    for _ in range(count):
        if store.db.is_sqlite:
            cursor.execute("BEGIN IMMEDIATE")
        cursor.execute("SELECT seq, hash FROM pml_head WHERE id = 1" + ("" if store.db.is_sqlite else " FOR UPDATE"))
        seq = cursor.fetchone()[0] + 1
        row = {**prepared.row, "id": uuid.uuid4().hex, "seq": seq, "prev_hash": chain.GENESIS, "hash": chain.GENESIS}
        cursor.execute(insert_sql("pml_decisions", tuple(row), mark), row)
        for name, rows in prepared.child_rows(seq).items():
            if rows:
                cursor.executemany(insert_sql(name, tuple(rows[0]), mark), rows)
        cursor.execute(store.db.sql("UPDATE pml_head SET seq = {seq} WHERE id = 1"), {"seq": seq})
        raw.commit()
    elapsed = time.perf_counter() - start
    raw.close()
    store.close()
    return count / elapsed


def floor_verify(url: str) -> float:
    """Reading and hashing alone: every record's columns fetched through the bare driver and its
    body and evidence put through sha256, with no chain logic. What verify could reach."""
    import hashlib

    from pml_policy.audit import AuditStore, chain

    store = AuditStore(url)
    raw = store.db.engine.raw_connection()
    if store.db.is_sqlite:
        cursor = raw.cursor()
    else:
        cursor = raw.driver_connection.cursor(name="floor")
        cursor.itersize = 2000
    start, count = time.perf_counter(), 0
    cursor.execute(f"SELECT {', '.join((*chain.HASHED, 'hash'))} FROM pml_decisions ORDER BY seq")
    for row in cursor:
        hashlib.sha256((row[1] + row[4]).encode()).hexdigest()
        count += 1
    elapsed = time.perf_counter() - start
    raw.rollback()
    raw.close()
    store.close()
    return count / elapsed


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
    out = subprocess.run(
        ["/usr/bin/time", "-f", "%M", str(exe), "audit", "export", "--audit", url, "-o", "/dev/null"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stderr.strip().splitlines()[-1]) / 1024, time.perf_counter() - start


def bench_cold_start(runs: int, tmp: Path) -> tuple[float, float]:
    """Median wall time of `check` with its SQLite append, and of the same check with --no-audit,
    run alternately so that both see the same machine."""
    exe = Path(sys.executable).with_name("pml-policy")
    args = [str(exe), "check", "examples/credit-pass", "-p", "policies/starter"]
    audited, unaudited = [*args, "--audit", f"sqlite:///{tmp}/cold.db"], [*args, "--no-audit"]
    subprocess.run(audited, cwd=ROOT, capture_output=True, check=True)  # the log exists, as after a first check
    times: dict[int, list[float]] = {0: [], 1: []}
    for _ in range(runs):
        for i, command in enumerate((audited, unaudited)):
            start = time.perf_counter()
            subprocess.run(command, cwd=ROOT, capture_output=True, check=True)
            times[i].append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1])


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
                print(
                    f"  appends, {writers} writer{'s' if writers > 1 else ' '}      {rate:9.0f} /s{target}", flush=True
                )
                if writers == 1:
                    url, drop = fresh_url(store, tmp)
                    try:
                        floor = floor_appends(url, args.appends)
                    finally:
                        drop()
                    print(
                        f"    the database alone      {floor:9.0f} /s   (append reaches {rate / floor:.0%} of it)",
                        flush=True,
                    )
            url, drop = fresh_url(store, tmp)
            try:
                seconds = fill(url, args.records)
                print(f"  (wrote {args.records:,} chained records in bulk in {seconds:.0f} s)", flush=True)
                rate, count = bench_verify(url)
                print(f"  verify {count:,} records     {rate:9.0f} /s   {verdict(rate, TARGETS['verify'])}", flush=True)
                floor = floor_verify(url)
                print(
                    f"    reading + sha256 alone  {floor:9.0f} /s   (verify reaches {rate / floor:.0%} of it)",
                    flush=True,
                )
                peak, seconds = bench_export_memory(url)
                print(
                    f"  export {count:,} records: {seconds:.0f} s, peak memory {peak:.0f} MiB (streaming)", flush=True
                )
            finally:
                drop()
        audited, unaudited = bench_cold_start(args.cold_runs, tmp)
        print(
            f"check with its SQLite append, cold start: median {audited:.3f} s   "
            f"{verdict(audited, TARGETS['cold_start'], False)}"
        )
        print(
            f"  the same check with --no-audit:          {unaudited:.3f} s   (recording adds "
            f"{audited - unaudited:+.3f} s)"
        )


if __name__ == "__main__":
    main()
