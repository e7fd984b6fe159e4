"""Audit logs for the benches: an empty one on either store, and one filled in bulk with real,
chained records as fast as the store takes them."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from measure import ROOT

PG_ADMIN = os.environ.get("PML_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@contextlib.contextmanager
def fresh_log(store: str, tmp: Path) -> Iterator[str]:
    """The URL of an empty audit log: a new SQLite file, or a new PostgreSQL database on the
    machine's server (PML_TEST_PG_URL), dropped on the way out."""
    if store == "sqlite":
        yield f"sqlite:///{tmp / f'audit-{uuid.uuid4().hex[:8]}.db'}"
        return
    if store != "postgresql":
        raise SystemExit(f"unknown store {store!r}: sqlite or postgresql")
    import psycopg

    name = f"pml_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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
    from pml_policy.transparency.merkle import Frontier

    seq, prev = store.head()
    with store.db.driver() as raw:  # the Merkle tree's right edge after the records just appended
        cursor = raw.cursor()
        cursor.execute("SELECT hash FROM pml_decisions ORDER BY seq")
        frontier = Frontier().extend(bytes.fromhex(h) for (h,) in cursor.fetchall())
    start_time, started = dt.datetime.now(dt.UTC) - dt.timedelta(days=90), time.perf_counter()
    with store.db.writing() as cursor:
        while seq < count:
            tables: dict[str, list[dict]] = {name: [] for name in ("pml_decisions", *CHILD_TABLES, "pml_tree")}
            frontier.made.clear()
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
                frontier.append(bytes.fromhex(prev))
                for name, rows in templates[k].child_rows(seq).items():
                    tables[name].extend(rows)
            tables["pml_tree"] = [{"level": lv, "idx": i, "hash": h.hex()} for lv, i, h in frontier.made]
            for name, rows in tables.items():
                if rows:
                    cursor.executemany(insert_sql(name, tuple(rows[0]), store.db.mark), rows)
        cursor.execute(
            store.db.sql("UPDATE pml_head SET seq = {seq}, hash = {hash} WHERE id = 1"), {"seq": seq, "hash": prev}
        )
    store.close()
    return time.perf_counter() - started
