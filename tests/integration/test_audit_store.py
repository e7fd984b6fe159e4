"""The audit store on SQLite and PostgreSQL: many writers at once, a writer killed mid-transaction,
schemas upgraded in place, a newer log refused, a server that does not answer."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import create_engine, inspect, text

from pml_policy.audit import AuditStore, schema
from pml_policy.audit.database import driver_url
from pml_policy.base.errors import AuditError
from pml_policy.transparency import merkle

from ..helpers import ROOT, run_cli
from ..support.audit import CHAMPION, _decision, _fill, _log_with_a_waiver, _sql

pytestmark = pytest.mark.usefixtures("verified_in_ranges_too")  # every verdict, in one pass and in ranges


def _writer(url: str, count: int) -> None:
    entry = _decision("credit-warn")
    store = AuditStore(url)
    for _ in range(count):
        entry.decision.id = __import__("uuid").uuid4().hex
        store.append([entry], f"writer-{os.getpid()}", {})


V12_INDEXES = ("ix_pml_decisions_versions", "ix_pml_decisions_leaves", "ix_pml_actions_made")
PERIOD_V11 = "CREATE INDEX ix_pml_decisions_period ON pml_decisions (time, kind, outcome, model, version)"
FAILURES_V5 = "CREATE INDEX ix_pml_rule_failures ON pml_rule_results (decision_seq) WHERE outcome IN ('fail', 'error')"


def _as_of_schema(store_url: str, version: int) -> None:
    """Mark a log as written by an earlier schema; before 10, rule results had a second copy of each
    rule's message, requirement and observed values, filled here as those versions wrote them."""
    if version < 12:  # v12 builds the Merkle tree over the records already there, and the report indexes
        _sql(store_url, "DROP TABLE pml_tree")
        for index in V12_INDEXES:
            _sql(store_url, f"DROP INDEX IF EXISTS {index}")
        if version >= 5:  # the failures index as v5 made it, on decision_seq alone
            _sql(store_url, "DROP INDEX ix_pml_rule_failures")
            _sql(store_url, FAILURES_V5)
        _sql(store_url, "DROP INDEX IF EXISTS ix_pml_decisions_period")  # it holds policy_set since v12
        _sql(store_url, "ALTER TABLE pml_decisions DROP COLUMN policy_set")
        if version >= 10:
            _sql(store_url, PERIOD_V11)
    if version < 10:
        for column in ("message", "required", "observed"):
            _sql(store_url, f"ALTER TABLE pml_rule_results ADD COLUMN {column} VARCHAR NOT NULL DEFAULT 'copy'")
    _sql(store_url, f"UPDATE pml_meta SET value = '{version}' WHERE key = 'schema_version'")


def test_an_unreachable_server_is_exit_3_without_the_password(tmp_path):
    result = run_cli(
        "check", "examples/credit-pass", *CHAMPION, "--audit", "postgresql://auditor:s3cret-pw@127.0.0.1:9/audit"
    )
    assert result.exit_code == 3
    assert "s3cret-pw" not in result.output and "auditor:***@127.0.0.1:9" in result.stderr


@pytest.mark.slow
@pytest.mark.service
def test_eight_processes_append_500_decisions_each(store_url):
    AuditStore(store_url).close()
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_writer, args=(store_url, 500)) for _ in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=600)
        assert w.exitcode == 0
    store = AuditStore(store_url)
    verdict = store.verify()
    assert verdict.ok and verdict.records == 4000
    assert len({r["id"] for r in store.records(limit=None)}) == 4000
    assert len({r["actor"] for r in store.records(limit=None)}) == 8


@pytest.mark.slow
def test_a_writer_killed_mid_transaction_leaves_a_valid_chain(store_url, tmp_path):
    AuditStore(store_url).close()
    script = (
        "import sys, uuid\n"
        "sys.path.insert(0, sys.argv[2])\n"
        "from tests.support.audit import _decision\n"
        "from pml_policy.audit import AuditStore, Entry\n"
        "store = AuditStore(sys.argv[1]); entry = _decision('credit-fail')\n"
        "print('ready', flush=True)\n"
        "while True:\n"
        "    batch = [Entry(entry.decision.model_copy(update={'id': uuid.uuid4().hex}), entry.subject) for _ in "
        "range(3)]\n"
        "    store.append(batch, 'doomed', {})\n"
    )
    for delay in (0.3, 0.7, 1.1):
        proc = subprocess.Popen([sys.executable, "-c", script, store_url, str(ROOT)], stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    store = AuditStore(store_url)
    verdict = store.verify()
    assert verdict.ok and verdict.records > 0 and verdict.records % 3 == 0  # whole transactions only
    engine = create_engine(driver_url(store_url))
    with engine.connect() as conn:
        orphans = conn.execute(
            text("SELECT count(*) FROM pml_rule_results WHERE decision_seq NOT IN (SELECT seq FROM pml_decisions)")
        ).scalar_one()
        per_decision = set(conn.execute(text("SELECT count(*) FROM pml_rule_results GROUP BY decision_seq")).scalars())
    assert orphans == 0 and per_decision == {10}


def test_an_older_log_is_upgraded_in_place_and_still_verifies(store_url, monkeypatch):
    _fill(store_url, 3).close()

    def add_review_column(conn) -> None:  # what a real schema change would ship as
        conn.execute(text("ALTER TABLE pml_decisions ADD COLUMN reviewed_by VARCHAR"))

    current = schema.SCHEMA_VERSION
    monkeypatch.setattr(schema, "SCHEMA_VERSION", current + 1)
    monkeypatch.setitem(schema.MIGRATIONS, current, add_review_column)
    store = AuditStore(store_url)
    assert store.schema_version() == current + 1
    assert store.verify().ok and store.verify().records == 3
    store.append([_decision()], "tester", {})
    assert store.verify().records == 4
    assert AuditStore(store_url).schema_version() == current + 1  # upgraded once


def test_a_version_9_log_drops_the_copies_of_messages_and_keeps_every_record_and_hash(store_url):
    """And v10 -> v11: the period index covers what reports filter and group by."""
    store = _fill(store_url, 3)
    before = [(r["seq"], r["hash"], r["body"]) for r in store.stream()]
    store.close()
    _as_of_schema(store_url, 9)
    upgraded = AuditStore(store_url)
    assert upgraded.schema_version() == schema.SCHEMA_VERSION == 12
    with upgraded.db.engine.connect() as conn:
        columns = {c["name"] for c in inspect(conn).get_columns("pml_rule_results")}
        period = {i["name"]: i["column_names"] for i in inspect(conn).get_indexes("pml_decisions")}
    assert columns.isdisjoint({"message", "required", "observed"}) and {"rule", "outcome", "waiver"} <= columns
    # v11: reports count a period's decisions from the index alone
    assert period["ix_pml_decisions_period"] == ["time", "kind", "outcome", "model", "version", "policy_set"]
    assert [(r["seq"], r["hash"], r["body"]) for r in upgraded.stream()] == before  # the chain is untouched
    verdict = upgraded.verify()  # v12: the tree built over them, as appends build it
    assert verdict.ok and verdict.records == 3, verdict
    assert upgraded.tree_root() == (3, merkle.Frontier().extend(bytes.fromhex(h) for _, h, _ in before).root())
    upgraded.close()


def test_a_version_1_log_is_upgraded_to_the_current_schema_and_keeps_its_records(store_url):
    _fill(store_url, 2).close()
    # What a log written by the first release looks like: schema version 1, with the rule index
    # and without the columns of applied changes and of signatures (nor the indexes of v12 on them).
    for index in V12_INDEXES:
        _sql(store_url, f"DROP INDEX {index}")
    _sql(store_url, "CREATE INDEX ix_pml_rule_results_rule ON pml_rule_results (policy, rule, outcome)")
    _sql(store_url, "DROP INDEX ix_pml_decisions_period")  # it covers kind since v11
    _sql(store_url, "ALTER TABLE pml_decisions DROP COLUMN signature")
    _sql(store_url, "ALTER TABLE pml_decisions DROP COLUMN kind")
    _sql(store_url, "ALTER TABLE pml_actions DROP COLUMN time")
    _sql(store_url, "ALTER TABLE pml_actions DROP COLUMN detail")
    _sql(store_url, "DROP TABLE pml_decision_policies")
    _sql(store_url, "DROP INDEX ix_pml_rule_failures")
    _sql(store_url, "CREATE INDEX ix_pml_decisions_time ON pml_decisions (time)")
    _as_of_schema(store_url, 1)
    store = AuditStore(store_url)
    assert store.schema_version() == schema.SCHEMA_VERSION == 12
    with store.db.engine.connect() as conn:
        assert "ix_pml_rule_results_rule" not in {i["name"] for i in inspect(conn).get_indexes("pml_rule_results")}
        decision_indexes = {i["name"] for i in inspect(conn).get_indexes("pml_decisions")}
        assert "ix_pml_decisions_period" in decision_indexes and "ix_pml_decisions_time" not in decision_indexes
        assert {"time", "detail"} <= {c["name"] for c in inspect(conn).get_columns("pml_actions")}
        assert {"signature", "kind"} <= {c["name"] for c in inspect(conn).get_columns("pml_decisions")}
        backfilled = conn.execute(text("SELECT COUNT(*) FROM pml_decision_policies")).scalar_one()
    assert backfilled == 2 * 4  # the two earlier decisions, four starter policies each
    store.append([_decision()], "tester", {})
    assert store.verify().ok and store.verify().records == 3


def test_a_newer_log_is_refused(store_url):
    _fill(store_url, 1).close()
    _sql(store_url, "UPDATE pml_meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(AuditError, match=f"has schema version 99; this pml-policy reads up to {schema.SCHEMA_VERSION}"):
        AuditStore(store_url)


def test_a_read_command_on_a_database_without_a_log_creates_no_table(postgres_url):
    assert run_cli("audit", "list", "--audit", postgres_url).exit_code == 3
    engine = create_engine(driver_url(postgres_url))
    try:
        with engine.connect() as conn:
            assert not conn.dialect.has_table(conn, "pml_meta")
    finally:
        engine.dispose()


def test_registry_changes_of_an_older_log_become_records_of_their_own(store_url, tmp_path):
    """A v7 log kept applied changes as bare rows; the upgrade appends a change record for each."""
    store = _log_with_a_waiver(store_url, tmp_path)
    store.close()
    _sql(
        store_url,
        "INSERT INTO pml_actions (decision_seq, policy, kind, name, value, state, time, detail) VALUES (2, "
        "'promotion-gate', 'set_tag', 'governance.status', 'rejected', 'applied', '2026-11-30T10:00:00.000000Z', NULL)",
    )
    _as_of_schema(store_url, 7)
    upgraded = AuditStore(store_url)
    assert upgraded.schema_version() == schema.SCHEMA_VERSION
    verdict = upgraded.verify()
    assert verdict.ok and verdict.records == 4, verdict
    (change,) = upgraded.records(kind="change")
    assert change["outcome"] == "applied" and change["time"] == "2026-11-30T10:00:00.000000Z"
    upgraded.close()


def test_a_new_sqlite_log_waits_for_another_process_s_lock_before_switching_to_wal(tmp_path):
    """SQLite answers the switch to WAL with "database is locked" at once, without its busy wait,
    while another connection holds the write lock (as when many processes create a log at once):
    opening waits for the lock instead of failing."""
    import sqlite3
    import threading

    path = tmp_path / "audit.db"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)  # a new file: not WAL yet
    other.execute("BEGIN IMMEDIATE")
    other.execute("CREATE TABLE elsewhere (x)")
    threading.Timer(0.5, lambda: other.execute("COMMIT")).start()
    store = AuditStore(f"sqlite:///{path}", wait=10)
    assert store.head()[0] == 0
    with sqlite3.connect(path) as check:
        assert check.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    store.close()
    other.close()
