"""The audit log on SQLite and PostgreSQL side by side, every figure beside its floor from the
same run, contenders interleaved round by round (bench/measure.py), and the target of issue #15:

  * appends through AuditStore.append, one decision per transaction as `check` records it (target
    on SQLite >= 2,500/s CPU), and a govern of 100 distinct versions in one transaction (each
    subject's evidence its own, as govern records them; target >= 8,000 decisions/s). Floor for
    both: the same rows written as the store writes them (its transaction, and on PostgreSQL its one
    pipeline), without the JSON, hashing and policy registration above them. Also 8 writer processes;
  * verify over a log of real records (decisions of the starter policies with their evidence and
    the rows beside them, written in bulk as the write path makes them), in one pass and in seq
    ranges by one process per CPU (what `audit verify` does); targets >= 200,000 records/s on
    SQLite and >= 60,000/s on PostgreSQL. Floor: reading the records and sha256 alone, one process;
  * peak memory of `audit export` over that log (streaming: it must not grow with the log);
  * the cold start of `pml-policy check` with its SQLite append, from an installed wheel with its
    .pyc files, as a fresh CI runner runs it (no parse cache, no cache key) and as a second run does
    (the policies' parse cache filled), beside the floor `python -c "import click, lark, yaml;
    from pydantic import BaseModel"`; target <= 1.3x.

    python bench/audit.py [--records 200000] [--appends 2000] [--rounds 3] [--stores sqlite,postgresql] [--quick]

PostgreSQL: the machine's server at PML_TEST_PG_URL (default postgresql://postgres@127.0.0.1:5432/postgres);
each run creates and drops its own databases.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bulk_logs import fill, fresh_log
from measure import ROOT, Figures, Row, Spread, arguments, interleaved, load_average, positive, ratio, stores, verdict
from pml_runs import installed_wheel, pml_command, run_pml, timed_command

TARGETS = {"append_cpu_sqlite": 2500.0, "govern_100": 8000.0, "verify_sqlite": 200_000.0, "verify_postgresql": 60_000.0}
COLD_START_RATIO = 1.3
GOVERNED = 100  # versions in one govern


def entries(count: int) -> list[Any]:
    """`count` decisions of the starter policies on distinct versions (each its own evidence: a
    version number and an AUC of its own) against one champion, as govern records a model."""
    from pml_policy.adapters import fetch
    from pml_policy.audit import Entry
    from pml_policy.engine import Subject, evaluate, load

    policies = load([ROOT / "policies" / "starter"])
    base = fetch(str(ROOT / "examples" / "credit-fail"))
    champion = fetch(str(ROOT / "examples" / "credit-champion"))
    made = []
    for n in range(count):
        data = base.model_dump()
        data.update(digest="", model={**data["model"], "version": str(n + 1)})
        data["metrics"] = {**data["metrics"], "val_auc": round(0.7 + n / 10_000, 4)}
        subject = Subject.model_validate(data)
        made.append(Entry(evaluate(policies, subject, champion), subject, champion))
    return made


def appender(url: str, batch: list[Any], count: int) -> Callable[[], None]:
    """`count` decisions through AuditStore.append, len(batch) per transaction, each a new record."""
    from pml_policy.audit import AuditStore

    store = AuditStore(url)

    def run() -> None:
        for _ in range(count // len(batch)):
            for e in batch:
                e.decision.id = uuid.uuid4().hex
            store.append(batch, "bench", {})

    return run


def floor_writer(url: str, batch: list[Any], count: int) -> Callable[[], None]:
    """The same rows written as AuditStore.append writes them (its transaction, the head locked on
    PostgreSQL, its one pipeline there), prepared once up front: what the database alone costs."""
    from pml_policy.audit import AuditStore, chain
    from pml_policy.audit.rows import CHILD_TABLES, Prepared, insert_sql

    store = AuditStore(url)
    store.append(batch[:1], "bench", {})  # the policies registered, as append finds them after its first
    prepared = [Prepared.of(e, "bench", "{}", {}) for e in batch]
    db = store.db

    def run() -> None:
        for _ in range(count // len(batch)):
            with db.writing() as cursor:
                cursor.execute("SELECT seq FROM pml_head WHERE id = 1" + ("" if db.is_sqlite else " FOR UPDATE"))
                seq = cursor.fetchone()[0]
                tables: dict[str, list[dict[str, Any]]] = {name: [] for name in ("pml_decisions", *CHILD_TABLES)}
                for p in prepared:
                    seq += 1
                    tables["pml_decisions"].append(
                        dict(
                            p.row,
                            id=uuid.uuid4().hex,
                            seq=seq,
                            prev_hash=chain.GENESIS,
                            hash=chain.GENESIS,
                            signature=None,
                        )
                    )
                    for name, rows in p.child_rows(seq).items():
                        tables[name].extend(rows)
                with contextlib.nullcontext() if db.is_sqlite else cursor.connection.pipeline():
                    for name, rows in tables.items():
                        if rows:
                            cursor.executemany(insert_sql(name, tuple(rows[0]), db.mark), rows)
                    cursor.execute(db.sql("UPDATE pml_head SET seq = {seq} WHERE id = 1"), {"seq": seq})

    return run


def _append_process(url: str, batch: list[Any], count: int) -> None:
    appender(url, batch, count)()


def writers(url: str, batch: list[Any], count: int, processes: int = 8) -> Callable[[], None]:
    """`processes` writer processes (forked: the decision is built once, before) appending
    count/processes decisions each, one per transaction."""
    context = multiprocessing.get_context("fork")

    def run() -> None:
        share = count // processes
        procs = [context.Process(target=_append_process, args=(url, batch, share)) for _ in range(processes)]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        if any(p.exitcode != 0 for p in procs):
            raise SystemExit("a writer process failed")

    return run


def bench_appends(figures: Figures, store: str, tmp: Path, appends: int, rounds: int) -> None:
    one, governed = entries(1), entries(GOVERNED)
    per_govern = max(GOVERNED, appends // GOVERNED * GOVERNED)
    with contextlib.ExitStack() as stack:
        url = {
            name: stack.enter_context(fresh_log(store, tmp))
            for name in ("one", "floor", "govern", "govern_floor", "writers")
        }
        series = interleaved(
            {
                "one": (appends, appender(url["one"], one, appends)),
                "floor": (appends, floor_writer(url["floor"], one, appends)),
                "govern": (per_govern, appender(url["govern"], governed, per_govern)),
                "govern_floor": (per_govern, floor_writer(url["govern_floor"], governed, per_govern)),
                "writers": (appends // 8 * 8, writers(url["writers"], one, appends)),
            },
            rounds,
        )
        _verified(url["one"], url["govern"], url["writers"])
    table = f"appends ({store})"
    s, floor = series["one"], series["floor"]
    cpu = Spread.of(s.cpu_rates)
    target = (
        verdict(cpu.median, TARGETS["append_cpu_sqlite"], figures.quick, unit="/s CPU") if store == "sqlite" else ""
    )
    figures.row(
        table,
        Row(
            "one decision per transaction (as check)",
            f"{s.rate().show(unit='/s')} wall, {cpu.show(unit='/s')} CPU",
            f"floor {floor.rate().show(unit='/s')}: append at {ratio(s, floor).show('.0%')} of it",
            target,
            s.loads().show(".1f"),
        ),
    )
    s, floor = series["govern"], series["govern_floor"]
    figures.row(
        table,
        Row(
            f"a govern of {GOVERNED} distinct versions, one transaction",
            s.rate().show(unit=" decisions/s"),
            f"floor {floor.rate().show(unit='/s')}: append at {ratio(s, floor).show('.0%')} of it",
            verdict(s.rate().median, TARGETS["govern_100"], figures.quick, unit="/s"),
            s.loads().show(".1f"),
        ),
    )
    s = series["writers"]
    figures.row(
        table,
        Row("8 writer processes, one decision each", s.rate().show(unit="/s"), "", "", s.loads().show(".1f")),
    )


def _verified(*urls: str) -> None:
    from pml_policy.audit import AuditStore

    for url in urls:
        verdict_ = AuditStore(url).verify()
        if not verdict_.ok:
            raise SystemExit(f"the appended log does not verify: {verdict_.problem}")


def floor_verify(url: str) -> Callable[[], None]:
    """Reading and hashing alone: every record's columns fetched through the bare driver and its
    body and evidence put through sha256, with no chain logic. What verify could reach."""
    import hashlib

    from pml_policy.audit import AuditStore, chain

    store = AuditStore(url)

    def run() -> None:
        raw = store.db.engine.raw_connection()
        if store.db.is_sqlite:
            cursor = raw.cursor()
        else:
            cursor = raw.driver_connection.cursor(name="floor")
            cursor.itersize = 2000
        cursor.execute(f"SELECT {', '.join((*chain.HASHED, 'hash'))} FROM pml_decisions ORDER BY seq")
        for row in cursor:
            hashlib.sha256((row[1] + row[4]).encode()).hexdigest()
        raw.rollback()
        raw.close()

    return run


def verifier(url: str, workers: int | None) -> Callable[[], None]:
    from pml_policy.audit import AuditStore

    store = AuditStore(url)

    def run() -> None:
        found = store.verify(workers=workers)
        if not found.ok:
            raise SystemExit(f"verify failed on the bench's own log: {found.problem}")

    return run


def bench_verify(figures: Figures, store: str, tmp: Path, records: int, rounds: int, wheel: dict[str, str]) -> None:
    with fresh_log(store, tmp) as url:
        seconds = fill(url, records)
        print(f"  (wrote {records:,} real chained records with their rows in bulk in {seconds:.0f} s)", flush=True)
        series = interleaved(
            {
                "one pass": (records, verifier(url, workers=1)),
                "ranges": (records, verifier(url, workers=None)),
                "floor": (records, floor_verify(url)),
            },
            rounds,
        )
        _, peak, _ = run_pml("audit", "export", "--audit", url, "-o", "/dev/null", env=wheel)
        load = f"{load_average():.1f}"
    table = f"verify ({store})"
    whole, ranged, floor = series["one pass"], series["ranges"], series["floor"]
    figures.row(
        table,
        Row(
            f"audit verify, {records:,} records, one pass",
            whole.rate().show(unit=" records/s"),
            f"floor (reading + sha256, one process) {floor.rate().show(unit='/s')}: "
            f"{ratio(whole, floor).show('.0%')} of it",
            "",
            whole.loads().show(".1f"),
        ),
    )
    figures.row(
        table,
        Row(
            "audit verify, seq ranges, a process per CPU",
            ranged.rate().show(unit=" records/s"),
            f"{ratio(ranged, whole).show('.1f', 'x')} one pass",
            verdict(ranged.rate().median, TARGETS[f"verify_{store}"], figures.quick, unit="/s"),
            ranged.loads().show(".1f"),
        ),
    )
    figures.row(
        table,
        Row(f"audit export, {records:,} records: peak memory", f"{peak:.0f} MiB", "it streams the records", "", load),
    )


def bench_cold_start(figures: Figures, tmp: Path, rounds: int, wheel: dict[str, str]) -> None:
    """`check examples/credit-pass -p policies/starter` with its SQLite append, from the installed
    wheel: with no cache at all (a fresh runner: the parse cache and its key made on the way), and
    with the parse cache a previous run filled; beside the floor, interleaved."""
    run = tmp / "cold"
    run.mkdir()
    check = pml_command("check", str(ROOT / "examples/credit-pass"), "-p", str(ROOT / "policies/starter"))
    warm = {
        **wheel,
        "PML_AUDIT_URL": f"sqlite:///{run}/warm.db",
        "PML_CACHE_DIR": str(run / "cache"),
        "XDG_CACHE_HOME": str(run / "xdg"),
    }
    timed_command(check, env=warm, cwd=run)  # fills the parse cache

    def fresh() -> None:
        for folder in ("fresh-cache", "fresh-xdg"):
            shutil.rmtree(run / folder, ignore_errors=True)
        env = {**warm, "PML_CACHE_DIR": str(run / "fresh-cache"), "XDG_CACHE_HOME": str(run / "fresh-xdg")}
        timed_command(check, env=env, cwd=run)

    floor = [sys.executable, "-P", "-c", "import click, lark, yaml; from pydantic import BaseModel"]
    series = interleaved(
        {
            "fresh": (1, fresh),
            "warm": (1, lambda: timed_command(check, env=warm, cwd=run)),
            "floor": (1, lambda: timed_command(floor, env=wheel, cwd=run)),
        },
        rounds,
    )
    base = series["floor"]
    for name, label in (("fresh", "no parse cache (a fresh CI runner)"), ("warm", "parse cache filled")):
        s = series[name]
        times = ratio(base, s)  # rate ratio floor/check = time ratio check/floor
        figures.row(
            "cold start",
            Row(
                f"check with its SQLite append, installed wheel, {label}",
                f"{s.seconds().show('.3f', ' s')}",
                f"{times.show('.2f', 'x')} the floor's {base.seconds().show('.3f', ' s')}",
                verdict(times.median, COLD_START_RATIO, figures.quick, higher_is_better=False, unit="x"),
                s.loads().show(".1f"),
            ),
        )


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--records", type=positive, default=200_000, help="size of the log that verify and export read")
    parser.add_argument("--appends", type=positive, default=2000, help="decisions appended per contender per round")
    parser.add_argument("--rounds", type=positive, default=3)
    parser.add_argument("--stores", type=stores, default=["sqlite", "postgresql"], help="comma-separated")
    parser.add_argument("--cold-runs", type=positive, default=15, help="rounds of the cold start")
    args = parser.parse_args()
    if args.quick:
        args.records, args.appends, args.rounds, args.cold_runs = 3000, 200, 2, 2
    figures = Figures("audit", args.quick)
    with tempfile.TemporaryDirectory(dir=os.environ.get("PML_BENCH_DIR")) as tmp_name:
        tmp = Path(tmp_name)
        wheel = installed_wheel(tmp)
        for store in args.stores:
            print(f"{store}:", flush=True)
            bench_appends(figures, store, tmp, args.appends, args.rounds)
            bench_verify(figures, store, tmp, args.records, args.rounds, wheel)
        bench_cold_start(figures, tmp, args.cold_runs, wheel)
    figures.save(args.record)


if __name__ == "__main__":
    main()
