"""Audit log throughput, measured side by side on SQLite and PostgreSQL in one run, each figure
beside its floor on this machine (measured in the same run) and its target (issue #15):

  * appends through AuditStore.append: one decision per transaction as `check` records it (rate in
    wall and CPU time; target on SQLite >= 2,500/s CPU), 8 writer processes at once, and a govern
    of 100 versions (100 decisions in one transaction; target >= 8,000 decisions/s recorded).
    Floor: the same rows through the bare driver;
  * verify over a log of real records (decisions of the starter policies with their evidence and
    the rows beside them, written in bulk as the write path makes them), in one pass and in seq
    ranges by one process per CPU (what `audit verify` does); targets >= 200,000 records/s on
    SQLite and >= 60,000/s on PostgreSQL. Floor: reading the records and sha256 alone, one process;
  * peak memory of `audit export` over that log (streaming: it must not grow with the log);
  * the cold start of `pml-policy check` with its SQLite append, from an installed wheel (built
    and byte-compiled as pip installs it), beside the floor `python -c "import click, lark, yaml;
    from pydantic import BaseModel"`; target <= 1.3x.

    python bench/audit.py [--records 200000] [--appends 2000] [--stores sqlite,postgresql]

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

from measure import fill, run_pml  # noqa: E402  (bench/, beside this script)

PG_ADMIN = os.environ.get("PML_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TARGETS = {"append_cpu_sqlite": 2500.0, "govern_100": 8000.0, "verify_sqlite": 200_000.0, "verify_postgresql": 60_000.0}
COLD_START_RATIO = 1.3


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


def _append_many(url: str, count: int, per_transaction: int = 1) -> None:
    from pml_policy.audit import AuditStore

    store, entries = AuditStore(url), _entries(per_transaction)
    for _ in range(count // per_transaction):
        for e in entries:
            e.decision.id = uuid.uuid4().hex
        store.append(entries, "bench", {})
    store.close()


def _entries(count: int) -> list:
    """`count` decisions against one champion, as govern records a model's versions."""
    import copy

    global _ENTRY
    _ENTRY = _ENTRY or entry()
    made = []
    for _ in range(count):
        e = copy.copy(_ENTRY)
        e.decision = _ENTRY.decision.model_copy(update={"id": uuid.uuid4().hex})
        made.append(e)
    return made


def bench_appends(url: str, count: int, writers: int = 1, per_transaction: int = 1) -> tuple[float, float]:
    """Decisions recorded per second: (wall, CPU of this process; CPU is None for several writers)."""
    from pml_policy.audit import AuditStore

    _entries(1)
    AuditStore(url).close()
    if writers == 1:
        start, cpu = time.perf_counter(), time.process_time()
        _append_many(url, count, per_transaction)
        return count / (time.perf_counter() - start), count / (time.process_time() - cpu)
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
    return (count // writers) * writers / elapsed, float("nan")


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


def bench_verify(url: str, workers: int | None) -> tuple[float, int]:
    from pml_policy.audit import AuditStore

    store = AuditStore(url)
    start = time.perf_counter()
    verdict = store.verify(workers=workers)
    elapsed = time.perf_counter() - start
    assert verdict.ok, verdict.problem
    return verdict.records / elapsed, verdict.records


def bench_export_memory(url: str) -> tuple[float, float]:
    """Peak RSS of `pml-policy audit export` writing to /dev/null, and its time."""
    elapsed, peak, _ = run_pml("audit", "export", "--audit", url, "-o", "/dev/null")
    return peak, elapsed


def bench_cold_start(runs: int, tmp: Path) -> tuple[float, float]:
    """Median wall time of `check examples/credit-pass -p policies/starter` with its SQLite append,
    from the wheel as pip installs it (unpacked and byte-compiled; the dependencies are this
    environment's), and of the floor, run alternately so that both see the same machine."""
    import compileall
    import zipfile

    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp / "wheel"), str(ROOT)],
        check=True,
        capture_output=True,
    )
    site = tmp / "site"
    with zipfile.ZipFile(next((tmp / "wheel").glob("pml_policy-*.whl"))) as wheel:
        wheel.extractall(site)
    compileall.compile_dir(site, quiet=1)
    env = {**os.environ, "PYTHONPATH": str(site)}  # before this checkout's editable install
    run = tmp / "run"
    run.mkdir()
    check = (
        "import sys; from pml_policy.cli import main; sys.argv = ['pml-policy', 'check', sys.argv[1], '-p', "
        f"sys.argv[2], '--audit', 'sqlite:///{run}/cold.db']; main()"
    )
    commands = {
        "check": [sys.executable, "-c", check, str(ROOT / "examples/credit-pass"), str(ROOT / "policies/starter")],
        "floor": [sys.executable, "-c", "import click, lark, yaml; from pydantic import BaseModel"],
    }
    done = subprocess.run(commands["check"], cwd=run, env=env, capture_output=True, text=True)
    assert done.returncode == 0 and str(site) in _origin(env, run), done.stderr  # the wheel's code, the log made
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            start = time.perf_counter()
            subprocess.run(command, cwd=run, env=env, capture_output=True, check=True)
            times[name].append(time.perf_counter() - start)
    return statistics.median(times["check"]), statistics.median(times["floor"])


def _origin(env: dict[str, str], cwd: Path) -> str:
    where = "import pml_policy.cli; print(pml_policy.cli.__file__)"
    return subprocess.run([sys.executable, "-c", where], env=env, cwd=cwd, capture_output=True, text=True).stdout


def verdict(value: float, target: float, higher_is_better: bool = True) -> str:
    met = value >= target if higher_is_better else value <= target
    return f"target {'>=' if higher_is_better else '<='} {target:g}: {'met' if met else 'MISSED'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=200_000, help="size of the log that verify and export read")
    parser.add_argument("--appends", type=int, default=2000, help="appends per measurement")
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--cold-runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=os.environ.get("PML_BENCH_DIR")) as tmp_name:
        tmp = Path(tmp_name)
        for store in args.stores.split(","):
            print(f"{store}:", flush=True)
            bench_store(store, tmp, args.appends, args.records)
        check, floor = bench_cold_start(args.cold_runs, tmp)
        print(f"cold start, check with its SQLite append (installed wheel): median {check:.3f} s", flush=True)
        print(
            f"  floor: python -c 'import click, lark, yaml; from pydantic import BaseModel': {floor:.3f} s   "
            f"ratio {check / floor:.2f}x   {verdict(check / floor, COLD_START_RATIO, higher_is_better=False)}"
        )


def bench_store(store: str, tmp: Path, appends: int, records: int) -> None:
    def measured(label: str, writers: int = 1, per_transaction: int = 1, target: float | None = None) -> float:
        url, drop = fresh_url(store, tmp)
        try:
            wall, cpu = bench_appends(url, appends, writers, per_transaction)
        finally:
            drop()
        cpu_text = "" if cpu != cpu else f", {cpu:7.0f} /s CPU"
        line = f"  {label:<34} {wall:7.0f} /s wall{cpu_text}"
        print(line + (f"   {verdict(cpu if per_transaction == 1 else wall, target)}" if target else ""), flush=True)
        return wall

    sqlite = store == "sqlite"
    one = measured("appends, 1 per transaction", target=TARGETS["append_cpu_sqlite"] if sqlite else None)
    url, drop = fresh_url(store, tmp)
    try:
        floor = floor_appends(url, appends)
    finally:
        drop()
    print(f"    the database alone (same rows)   {floor:7.0f} /s wall   (append reaches {one / floor:.0%} of it)")
    measured("appends, 8 writer processes", writers=8)
    measured("govern of 100 versions (1 transaction)", per_transaction=100, target=TARGETS["govern_100"])
    url, drop = fresh_url(store, tmp)
    try:
        seconds = fill(url, records)
        print(f"  (wrote {records:,} real chained records with their rows in bulk in {seconds:.0f} s)", flush=True)
        whole, count = bench_verify(url, workers=1)
        ranged, _ = bench_verify(url, workers=None)
        floor = floor_verify(url)
        target = TARGETS[f"verify_{store}"]
        print(f"  verify {count:,} records, one pass    {whole:7.0f} /s", flush=True)
        print(
            f"  verify, seq ranges (1 process/CPU)  {ranged:7.0f} /s   {verdict(ranged, target)}   "
            f"({ranged / whole:.1f}x one pass)",
            flush=True,
        )
        print(f"    reading + sha256 alone, 1 process {floor:7.0f} /s   (one pass reaches {whole / floor:.0%} of it)")
        peak, seconds = bench_export_memory(url)
        print(f"  export {count:,} records: {seconds:.0f} s, peak memory {peak:.0f} MiB (streaming)", flush=True)
    finally:
        drop()


if __name__ == "__main__":
    main()
