"""The audit log: recorded, chained, tamper-evident, concurrent, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import create_engine, inspect, text

from pml_policy.adapters import fetch
from pml_policy.audit import AuditStore, Entry, chain, rows, schema, verifying
from pml_policy.audit.database import driver_url
from pml_policy.audit.signing import PublicKey, Signer, keygen
from pml_policy.base.errors import AuditError, PolicyConflict
from pml_policy.engine import evaluate, load

from .helpers import ROOT, run_cli

CHAMPION = ["--champion", "examples/credit-champion", "-p", "policies/starter"]
_ONE_PASS, _CHECK_RANGES = AuditStore.verify, verifying.check_ranges


@pytest.fixture(autouse=True)
def verified_in_ranges_too(monkeypatch):
    """Every verification in this file is made twice: in one pass, and split into three seq ranges
    (checked one after the other here; processes only divide the work). A log verified in ranges
    must give the verdict of one pass, on every tampering below."""

    def both(store, expect_head=None, public_key=None, checkpoint=None, workers=None):
        whole = _ONE_PASS(store, expect_head, public_key, checkpoint, workers=1)
        ranged = _ONE_PASS(store, expect_head, public_key, checkpoint, workers=3)
        assert ranged == whole, (ranged, whole)
        return whole

    monkeypatch.setattr(AuditStore, "verify", both)
    monkeypatch.setattr(verifying, "check_ranges", partial(_CHECK_RANGES, processes=False))


def _decision(example: str = "credit-pass"):
    policies = load([ROOT / "policies" / "starter"])
    subject = fetch(str(ROOT / "examples" / example))
    return Entry(evaluate(policies, subject), subject)


def _fill(url: str, count: int) -> AuditStore:
    store = AuditStore(url)
    for i in range(count):
        store.append([_decision(("credit-pass", "credit-warn", "credit-fail")[i % 3])], "tester", {})
    return store


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


# ---- recording -------------------------------------------------------------------------------


def test_check_records_each_decision_and_says_where(private_audit_log):
    result = run_cli("check", "examples/credit-pass", "examples/credit-fail", *CHAMPION, "-f", "json")
    doc = json.loads(result.stdout)
    assert doc["audit"]["recorded"] is True and [r["seq"] for r in doc["audit"]["records"]] == [1, 2]
    store = AuditStore(private_audit_log)
    rows = store.records(newest_first=False)
    assert [r["id"] for r in rows] == [d["id"] for d in doc["decisions"]]
    assert [r["outcome"] for r in rows] == ["pass", "fail"]
    assert rows[0]["actor"] == "tester@example.com"
    assert store.head() == (2, doc["audit"]["records"][-1]["hash"])
    text_run = run_cli("check", "examples/credit-warn", *CHAMPION)
    assert "recorded in the audit log" in text_run.stdout and "as #3" in text_run.stdout


def test_the_record_holds_what_an_auditor_needs(private_audit_log):
    run_cli("check", "examples/credit-fail", *CHAMPION)
    row = AuditStore(private_audit_log).get("#1")
    body, evidence = json.loads(row["body"]), json.loads(row["evidence"])
    policy = next(p for p in body["policies"] if p["name"] == "promotion-gate")
    auc = next(r for r in policy["rules"] if r["rule"] == "auc_floor")
    assert auc["observed"] == {"metrics.val_auc": 0.781} and auc["outcome"] == "fail"
    assert len(policy["digest"]) == 64 and policy["version"] == "1.0.0"
    assert row["subject_digest"] == body["subject"]["digest"] == fetch(str(ROOT / "examples/credit-fail")).digest
    assert evidence["subject"]["metrics"]["val_auc"] == 0.781 and evidence["champion"]["model"]["version"] == "6"
    engine = create_engine(private_audit_log)
    with engine.connect() as conn:
        rules = conn.execute(
            text(
                "select policy, rule, outcome, waiver from pml_rule_results where decision_seq = 1 and rule = "
                "'auc_floor'"
            )
        ).one()
        actions = conn.execute(text("select kind, name, value, state from pml_actions where decision_seq = 1")).all()
    assert tuple(rules) == ("promotion-gate", "auc_floor", "fail", None)  # its message and observed: the body's only
    assert {c["name"] for c in inspect(engine).get_columns("pml_rule_results")}.isdisjoint({"message", "observed"})
    assert [tuple(a) for a in actions] == [("set_tag", "governance.status", "rejected", "planned")]


def test_ci_context_is_recorded_and_secrets_never_are(private_audit_log, monkeypatch):
    secrets = {
        "GITHUB_TOKEN": "ghs_SECRET1",
        "AWS_SECRET_ACCESS_KEY": "SECRET2",
        "MLFLOW_TRACKING_PASSWORD": "SECRET3",
        "ACTIONS_RUNTIME_TOKEN": "SECRET4",
    }
    ci = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_RUN_ID": "4242",
        "GITHUB_SHA": "abc123",
        "GITHUB_SERVER_URL": "https://github.example",
        "GITHUB_REPOSITORY": "bank/models",
    }
    for k, v in {**secrets, **ci}.items():
        monkeypatch.setenv(k, v)
    run_cli("check", "examples/credit-pass", *CHAMPION)
    row = AuditStore(private_audit_log).get("#1")
    assert json.loads(row["ci"]) == {
        "system": "github-actions",
        "run_id": "4242",
        "commit": "abc123",
        "repository": "bank/models",
        "job_url": "https://github.example/bank/models/actions/runs/4242",
    }
    dump = "\n".join(sqlite3.connect(private_audit_log.removeprefix("sqlite:///")).iterdump())
    for value in secrets.values():
        assert value not in dump


def test_a_changed_policy_needs_a_new_version(tmp_path):
    policy = tmp_path / "gate.pml"
    policy.write_text('policy "gate" version "1.0.0" { rule auc { require metrics.val_auc >= 0.80 } }')
    assert run_cli("check", "examples/credit-pass", "-p", str(policy)).exit_code == 0
    first = AuditStore(os.environ["PML_AUDIT_URL"]).get("#1")
    policy.write_text('policy "gate" version "1.0.0" { rule auc { require metrics.val_auc >= 0.70 } }')
    result = run_cli("check", "examples/credit-pass", "-p", str(policy))
    assert result.exit_code == 2
    assert 'policy "gate" version 1.0.0' in result.stderr and f"decision {first['id']}" in result.stderr
    assert "=> PASS" not in result.stdout  # refused: not reported as made
    policy.write_text('policy "gate" version "1.1.0" { rule auc { require metrics.val_auc >= 0.70 } }')
    assert run_cli("check", "examples/credit-pass", "-p", str(policy)).exit_code == 0
    # Comments and layout do not make another text: same digest, no new version needed.
    policy.write_text(
        '# tuned\npolicy "gate" version "1.1.0" {\n  rule auc {\n    require metrics.val_auc >= 0.70\n  }\n}\n'
    )
    assert run_cli("check", "examples/credit-pass", "-p", str(policy)).exit_code == 0


def test_an_unwritable_log_is_exit_3_and_no_decision_is_reported(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    result = run_cli("check", "examples/credit-pass", *CHAMPION, "--audit", f"sqlite:///{blocker}/audit.db")
    assert result.exit_code == 3
    assert "cannot open the audit log" in result.stderr and "Traceback" not in result.output
    assert "=> PASS" not in result.stdout


def test_an_unreachable_server_is_exit_3_without_the_password(tmp_path):
    result = run_cli(
        "check", "examples/credit-pass", *CHAMPION, "--audit", "postgresql://auditor:s3cret-pw@127.0.0.1:9/audit"
    )
    assert result.exit_code == 3
    assert "s3cret-pw" not in result.output and "auditor:***@127.0.0.1:9" in result.stderr


def test_no_audit_says_so():
    result = run_cli("check", "examples/credit-pass", *CHAMPION, "--no-audit")
    assert result.exit_code == 0 and "NOT RECORDED: --no-audit was given" in result.stdout


# ---- tamper evidence, on both stores ---------------------------------------------------------


def test_worker_processes_checking_seq_ranges_give_the_verdict_of_one_pass(store_url, monkeypatch):
    monkeypatch.setattr(verifying, "check_ranges", _CHECK_RANGES)  # real, spawned processes
    store = _fill(store_url, 6)
    assert _ONE_PASS(store, workers=2) == _ONE_PASS(store, workers=1) == _ONE_PASS(store)
    assert _ONE_PASS(store, workers=2).records == 6
    _sql(store_url, "UPDATE pml_rule_results SET outcome = 'pass' WHERE decision_seq = 5 AND outcome = 'fail'")
    ranged = _ONE_PASS(store, workers=2)
    assert not ranged.ok and ranged.seq == 5 and "pml_rule_results" in ranged.problem
    assert ranged == _ONE_PASS(store, workers=1)
    cli = run_cli("audit", "verify", "--audit", store_url, "--workers", "2")
    assert cli.exit_code == 1 and "record #5" in cli.stderr


def test_an_intact_log_verifies(store_url):
    store = _fill(store_url, 5)
    verdict = store.verify()
    assert verdict.ok and verdict.records == 5 and verdict.head == store.head()[1]


@pytest.mark.parametrize(
    "tamper, problem, seq",
    [
        ("UPDATE pml_decisions SET outcome = 'pass' WHERE seq = 3", "record #3 was altered", 3),
        ("UPDATE pml_decisions SET body = replace(body, '0.781', '0.881') WHERE seq = 3", "record #3 was altered", 3),
        ("UPDATE pml_decisions SET actor = 'someone-else' WHERE seq = 2", "record #2 was altered", 2),
        ("DELETE FROM pml_decisions WHERE seq = 4", "record #4 is missing", 4),
    ],
)
def test_verify_names_the_first_broken_record(store_url, tamper, problem, seq):
    store = _fill(store_url, 6)
    if "DELETE" in tamper:
        _delete_record(store_url, 4)
    else:
        _sql(store_url, tamper)
    verdict = store.verify()
    assert not verdict.ok and problem in verdict.problem and verdict.seq == seq


def _swap(url: str, a: int, b: int) -> None:
    """Swap everything but the position of two records, each keeping its own hash."""
    engine = create_engine(driver_url(url))
    with engine.begin() as conn:
        rows = {
            r["seq"]: dict(r)
            for r in conn.execute(text(f"SELECT * FROM pml_decisions WHERE seq IN ({a}, {b})")).mappings()
        }
        conn.execute(text(f"UPDATE pml_decisions SET id = 'tmp', hash = 'tmp' WHERE seq = {a}"))
        for target, source in ((b, a), (a, b)):
            values = {k: v for k, v in rows[source].items() if k != "seq"}
            assignments = ", ".join(f"{k} = :{k}" for k in values)
            conn.execute(text(f"UPDATE pml_decisions SET {assignments} WHERE seq = {target}"), values)
    engine.dispose()


def test_verify_finds_two_records_swapped(store_url):
    store = _fill(store_url, 5)
    _swap(store_url, 2, 3)
    verdict = store.verify()
    assert not verdict.ok and verdict.seq == 2 and "does not follow record #1" in verdict.problem


def test_a_truncated_tail_is_found_against_a_published_head(store_url):
    store = _fill(store_url, 5)
    published = store.head()[1]
    # Remove the last two records and rewrite the head row to match: the chain itself still holds...
    for seq in (5, 4):
        _delete_record(store_url, seq)
    with create_engine(driver_url(store_url)).begin() as conn:
        last = conn.execute(text("SELECT hash FROM pml_decisions WHERE seq = 3")).scalar_one()
        conn.execute(text("UPDATE pml_head SET seq = 3, hash = :h"), {"h": last})
    assert store.verify().ok
    # ...but not against the head published before.
    verdict = store.verify(expect_head=published)
    assert not verdict.ok and f"the published head {published} is not in the log" in verdict.problem


def test_a_truncated_tail_without_a_head_update_is_found(store_url):
    store = _fill(store_url, 4)
    _delete_record(store_url, 4)
    verdict = store.verify()
    assert not verdict.ok and "head says #4" in verdict.problem


def test_audit_verify_command_names_the_record(private_audit_log):
    for example in ("credit-pass", "credit-warn", "credit-fail"):
        run_cli("check", f"examples/{example}", *CHAMPION)
    ok = run_cli("audit", "verify")
    assert ok.exit_code == 0 and ok.stdout.startswith("OK: 3 records, chain intact")
    _sql(private_audit_log, "UPDATE pml_decisions SET outcome = 'pass' WHERE seq = 3")
    bad = run_cli("audit", "verify")
    assert bad.exit_code == 1 and "TAMPERED: record #3 was altered" in bad.stderr


# ---- concurrency and crashes -----------------------------------------------------------------


def _writer(url: str, count: int) -> None:
    entry = _decision("credit-warn")
    store = AuditStore(url)
    for _ in range(count):
        entry.decision.id = __import__("uuid").uuid4().hex
        store.append([entry], f"writer-{os.getpid()}", {})


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
        "from tests.test_audit import _decision\n"
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


# ---- schema versions -------------------------------------------------------------------------


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


def _as_of_schema(store_url: str, version: int) -> None:
    """Mark a log as written by an earlier schema; before 10, rule results had a second copy of each
    rule's message, requirement and observed values, filled here as those versions wrote them."""
    if version < 10:
        for column in ("message", "required", "observed"):
            _sql(store_url, f"ALTER TABLE pml_rule_results ADD COLUMN {column} VARCHAR NOT NULL DEFAULT 'copy'")
    _sql(store_url, f"UPDATE pml_meta SET value = '{version}' WHERE key = 'schema_version'")


def test_a_version_9_log_drops_the_copies_of_messages_and_keeps_every_record_and_hash(store_url):
    """And v10 -> v11: the period index covers what reports filter and group by."""
    store = _fill(store_url, 3)
    before = [(r["seq"], r["hash"], r["body"]) for r in store.stream()]
    store.close()
    _as_of_schema(store_url, 9)
    upgraded = AuditStore(store_url)
    assert upgraded.schema_version() == schema.SCHEMA_VERSION == 11
    with upgraded.db.engine.connect() as conn:
        columns = {c["name"] for c in inspect(conn).get_columns("pml_rule_results")}
        period = {i["name"]: i["column_names"] for i in inspect(conn).get_indexes("pml_decisions")}
    assert columns.isdisjoint({"message", "required", "observed"}) and {"rule", "outcome", "waiver"} <= columns
    # v11: reports count a period's decisions from the index alone
    assert period["ix_pml_decisions_period"] == ["time", "kind", "outcome", "model", "version"]
    assert [(r["seq"], r["hash"], r["body"]) for r in upgraded.stream()] == before  # the chain is untouched
    verdict = upgraded.verify()
    assert verdict.ok and verdict.records == 3, verdict
    upgraded.close()


def test_a_version_1_log_is_upgraded_to_the_current_schema_and_keeps_its_records(store_url):
    _fill(store_url, 2).close()
    # What a log written by the first release looks like: schema version 1, with the rule index
    # and without the columns of applied changes and of signatures.
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
    assert store.schema_version() == schema.SCHEMA_VERSION == 11
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


# ---- reading ---------------------------------------------------------------------------------


def test_list_show_and_export(private_audit_log, tmp_path):
    for example in ("credit-pass", "credit-warn", "credit-fail"):
        run_cli("check", f"examples/{example}", *CHAMPION)
    listed = run_cli("audit", "list", "--outcome", "fail", "--format", "json")
    (failed,) = json.loads(listed.stdout)
    assert failed["seq"] == 3 and failed["model"] == "credit-scorer" and failed["version"] == "10"
    assert [
        r["seq"] for r in json.loads(run_cli("audit", "list", "--policy", "promotion-gate", "--format", "json").stdout)
    ] == [3, 2, 1]
    assert json.loads(run_cli("audit", "list", "--since", "2999-01-01", "--format", "json").stdout) == []
    table = run_cli("audit", "list")
    assert (
        table.stdout.splitlines()[0].split()[:4] == ["SEQ", "TIME", "KIND", "OUTCOME"]
        and len(table.stdout.splitlines()) == 4
    )
    csv_out = run_cli("audit", "list", "--format", "csv").stdout.splitlines()
    assert csv_out[0].startswith("seq,time,kind,outcome") and len(csv_out) == 4

    shown = run_cli("audit", "show", failed["id"][:8]).stdout
    assert f"decision {failed['id']} (record #3" in shown and "metrics.val_auc = 0.781, required >= 0.80" in shown
    assert run_cli("audit", "show", "#3").stdout == shown
    assert run_cli("audit", "show", "nope-nope").exit_code == 3

    out = tmp_path / "audit.jsonl"
    assert run_cli("audit", "export", "--format", "jsonl", "-o", str(out)).exit_code == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["seq"] for line in lines] == [1, 2, 3] and lines[2]["decision"]["outcome"] == "fail"
    from pml_policy.audit.chain import record_hash

    for line in lines:  # what an external auditor does with the export: recompute every hash
        row = {
            **line,
            "body": json.dumps(line["decision"], sort_keys=True, separators=(",", ":"), ensure_ascii=False),
            "ci": json.dumps(line["ci"], sort_keys=True, separators=(",", ":")),
            "evidence": json.dumps(line["evidence"], sort_keys=True, separators=(",", ":"), ensure_ascii=False),
        }
        assert record_hash(row) == line["hash"]
    csv_export = run_cli("audit", "export", "--format", "csv").stdout.splitlines()
    assert (
        csv_export[0]
        == "seq,id,time,actor,model,version,outcome,engine,subject_ref,subject_digest,prev_hash,hash,signature"
        and len(csv_export) == 4
    )


def test_explain_replays_recorded_evidence_under_todays_policies(tmp_path):
    policy = tmp_path / "gate.pml"
    policy.write_text(
        'policy "gate" version "1.0.0" { rule auc { require metrics.val_auc >= 0.80 } rule ece { require '
        "metrics.val_ece <= 0.05 } }"
    )
    run_cli("check", "examples/credit-fail", "-p", str(policy))
    policy.write_text(
        'policy "gate" version "2.0.0" { rule auc { require metrics.val_auc >= 0.75 } rule ece { require '
        'metrics.val_ece <= 0.05 } rule card { require artifact "model_card.md" exists } }'
    )
    result = run_cli("explain", "#1", "--replay", "-p", str(policy))
    assert result.exit_code == 0
    assert "replay under the current policies (gate 2.0.0): fail -> pass" in result.stdout
    assert "changed    gate/auc: fail -> pass (metrics.val_auc = 0.781, required >= 0.75)" in result.stdout
    assert "new rule   gate/card: pass" in result.stdout
    assert "gate/ece" not in result.stdout.split("replay under")[1]  # unchanged rules are not listed
    assert re.search(
        r"policy     gate: recorded 1\.0\.0 sha256 [0-9a-f]{12}…, now 2\.0\.0 sha256 [0-9a-f]{12}…\n", result.stdout
    )


def test_explain_replay_says_when_the_same_version_has_other_text(tmp_path):
    policy = tmp_path / "gate.pml"
    policy.write_text('policy "gate" version "1.0.0" { rule auc { require metrics.val_auc >= 0.80 } }')
    run_cli("check", "examples/credit-pass", "-p", str(policy))
    same = run_cli("explain", "#1", "--replay", "-p", str(policy)).stdout
    assert "policy     gate" not in same and "no rule would decide otherwise" in same
    policy.write_text('policy "gate" version "1.0.0" { rule auc { require metrics.val_auc >= 0.86 } }')
    edited = run_cli("explain", "#1", "--replay", "-p", str(policy)).stdout
    assert "(the same version with other text)" in edited and "no rule would decide otherwise" in edited
    other = tmp_path / "other.pml"
    other.write_text('policy "other" version "1.0.0" { rule r { require metrics.val_auc >= 0 } }')
    added = run_cli("explain", "#1", "--replay", "-p", str(policy), "-p", str(other)).stdout
    assert "policy     other 1.0.0: not in the recorded decision" in added


_json_text = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
).map(lambda v: json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False))


@given(
    st.fixed_dictionaries(
        {
            **{
                key: st.text()
                for key in ("actor", "engine", "id", "outcome", "prev_hash", "subject_digest", "subject_ref", "time")
            },
            "model": st.none() | st.text(),
            "version": st.none() | st.text(),
            "seq": st.integers(min_value=1),
            "body": _json_text,
            "ci": _json_text,
            "evidence": _json_text,
        }
    )
)
def test_the_record_hash_is_the_sha256_of_the_records_canonical_json(row):
    import hashlib

    from pml_policy.audit.chain import record_hash

    # The definition an external auditor works from (docs): parse the JSON columns, then canonical JSON.
    document = {**row, **{key: json.loads(row[key]) for key in ("body", "ci", "evidence")}}
    expected = hashlib.sha256(
        json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    ).hexdigest()
    assert record_hash(row) == expected


def _entry_under(policy_file: str) -> Entry:
    subject = fetch(str(ROOT / "examples" / "credit-pass"))
    return Entry(evaluate(load([ROOT / "policies" / "starter" / policy_file]), subject), subject)


def _again(entry: Entry) -> Entry:
    """The same decision made once more (a new decision id)."""
    return Entry(entry.decision.model_copy(update={"id": __import__("uuid").uuid4().hex}), entry.subject)


def test_a_failed_append_confirms_no_policy_version(tmp_path):
    # A transaction that fails must not leave its policy digests remembered as recorded, or a
    # later conflict with them would go unnoticed.
    url = f"sqlite:///{tmp_path}/log.db"
    store, other = AuditStore(url), AuditStore(url)
    promotion, documentation = _entry_under("promotion.pml"), _entry_under("documentation.pml")
    store.append([promotion], "tester", {})  # promotion-gate 1.0.0 is now confirmed
    _sql(url, "CREATE TRIGGER refuse BEFORE INSERT ON pml_decisions BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    with pytest.raises(AuditError, match="disk full"):
        store.append([documentation], "tester", {})  # documentation 1.0.0: never recorded
    _sql(url, "DROP TRIGGER refuse")
    store.append([_again(promotion)], "tester", {})
    changed = documentation.decision.model_copy(deep=True)
    changed.policies[0].digest = "f" * 64  # another process records another text as documentation 1.0.0
    other.append([Entry(changed, documentation.subject)], "someone", {})
    with pytest.raises(PolicyConflict, match='policy "documentation" version 1.0.0'):
        store.append([_again(documentation)], "tester", {})


def test_waivers_used_keep_their_whole_id(tmp_path, private_audit_log):
    policy = tmp_path / "p.pml"
    policy.write_text(
        'policy "p" version "1.0.0" { rule r { enforce soft require metrics.val_auc >= 0.9 } }\n'
        'waiver "RISK 1432 (old)" { policy "p" rule r model "credit-scorer" version 8 reason "r" approved by "a" '
        "expires 2020-01-01 }\n"
        'waiver "RISK 2001" { policy "p" rule r model "credit-scorer" version 8 reason "r" approved by "a" expires '
        "2099-01-01 }\n"
    )
    run_cli("check", "examples/credit-pass", "-p", str(policy))
    with create_engine(private_audit_log).connect() as conn:
        rows = sorted(tuple(r) for r in conn.execute(text("SELECT waiver, expired FROM pml_waivers_used")))
    assert rows == [("RISK 1432 (old)", 1), ("RISK 2001", 0)]


@pytest.mark.parametrize(
    "command",
    [
        ["audit", "verify"],
        ["audit", "list"],
        ["audit", "show", "#1"],
        ["audit", "export"],
        ["explain", "#1"],
        ["report", "--period", "last-7d"],
    ],
)
def test_read_commands_never_invent_a_log(tmp_path, command):
    typo = tmp_path / "typo" / "audit.db"
    result = run_cli(*command, "--audit", f"sqlite:///{typo}")
    assert result.exit_code == 3
    assert result.stderr.startswith(f"error: no audit log at sqlite:///{typo}\n")
    assert not typo.exists() and not typo.parent.exists()


def test_a_memory_database_is_refused_for_recording():
    result = run_cli("check", "examples/credit-pass", "-p", "policies/starter", "--audit", "sqlite:///:memory:")
    assert result.exit_code == 2 and "is a memory database" in result.stderr and "=>" not in result.stdout


def test_a_read_command_on_a_database_without_a_log_creates_no_table(postgres_url):
    assert run_cli("audit", "list", "--audit", postgres_url).exit_code == 3
    engine = create_engine(driver_url(postgres_url))
    try:
        with engine.connect() as conn:
            assert not conn.dialect.has_table(conn, "pml_meta")
    finally:
        engine.dispose()


# ---- signed records ----------------------------------------------------------------------------


def _forge_tail(url: str, signature: str | None) -> None:
    """What someone with write access but without the key can do: append a well-formed record,
    its hash recomputed from the chain (a copy of the last one under a new id), with the rows its
    body derives beside it."""
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
    finally:
        engine.dispose()


def test_a_forged_tail_record_is_caught_with_the_public_key(store_url, tmp_path):
    key, public = keygen(tmp_path / "keys" / "audit")
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    store = AuditStore(store_url, signer=Signer(key))
    for example in ("credit-pass", "credit-fail"):
        store.append([_decision(example)], "tester", {})
    assert store.verify(public_key=PublicKey(public)).ok
    _forge_tail(store_url, None)
    assert store.verify().ok  # an unkeyed chain cannot tell: the forger recomputed the hash
    verdict = store.verify(public_key=PublicKey(public))
    assert not verdict.ok and verdict.seq == 3 and "record #3 is not signed" in verdict.problem
    cli = run_cli("audit", "verify", "--audit", store_url, "--public-key", str(public))
    assert cli.exit_code == 1 and cli.stderr.startswith("TAMPERED: record #3 is not signed")
    store.close()


def test_a_record_signed_by_another_key_is_caught(tmp_path):
    url = f"sqlite:///{tmp_path}/a.db"
    key, public = keygen(tmp_path / "ours")
    other, _ = keygen(tmp_path / "theirs")
    store = AuditStore(url, signer=Signer(key))
    store.append([_decision()], "tester", {})
    _forge_tail(url, Signer(other).sign("anything"))
    verdict = store.verify(public_key=PublicKey(public))
    assert not verdict.ok and "record #2 has a signature this public key does not verify" in verdict.problem
    # and a log nobody signed fails against a key
    plain = AuditStore(f"sqlite:///{tmp_path}/b.db")
    plain.append([_decision()], "tester", {})
    assert plain.verify(public_key=PublicKey(public)).problem == "no record is signed by this public key"


def test_a_checkpoint_is_signed_and_a_cut_log_fails_it(tmp_path):
    url = f"sqlite:///{tmp_path}/a.db"
    key, public = keygen(tmp_path / "k")
    assert run_cli("check", "examples/credit-pass", *CHAMPION, "--audit", url, "--signing-key", str(key)).exit_code == 0
    published = tmp_path / "checkpoint.json"
    made = run_cli("audit", "checkpoint", "--audit", url, "--signing-key", str(key), "-o", str(published))
    assert made.exit_code == 0 and json.loads(published.read_text())["seq"] == 1
    ok = run_cli("audit", "verify", "--audit", url, "--public-key", str(public), "--checkpoint", str(published))
    assert ok.exit_code == 0 and "every record from the first signed one on signed by the key" in ok.stdout
    _delete_record(url, 1)
    _sql(url, f"UPDATE pml_head SET seq = 0, hash = '{chain.GENESIS}' WHERE id = 1")
    cut = run_cli("audit", "verify", "--audit", url, "--checkpoint", str(published))
    assert cut.exit_code == 1 and "the checkpoint's record #1 is no longer in the log" in cut.stderr
    tampered = json.loads(published.read_text()) | {"seq": 2}
    published.write_text(json.dumps(tampered))
    forged = run_cli("audit", "verify", "--audit", url, "--public-key", str(public), "--checkpoint", str(published))
    assert forged.exit_code == 3 and "its signature does not verify" in forged.stderr


def test_a_key_pair_that_cannot_be_written_is_one_line_and_leaves_nothing(tmp_path):
    (tmp_path / "file").write_text("")
    result = run_cli("audit", "keygen", str(tmp_path / "file" / "k"))  # a file where a folder should be
    assert result.exit_code == 2 and result.stderr.startswith("error: cannot write the key pair ")
    assert "Traceback" not in result.stderr and not list(tmp_path.glob("**/k.*"))


def test_keys_are_never_overwritten_and_a_bad_key_is_one_line(tmp_path):
    assert run_cli("audit", "keygen", str(tmp_path / "k")).exit_code == 0
    again = run_cli("audit", "keygen", str(tmp_path / "k"))
    assert again.exit_code == 2 and "exists: a key is never overwritten" in again.stderr
    (tmp_path / "junk.key").write_text("not a key")
    bad = run_cli("check", "examples/credit-pass", *CHAMPION, "--signing-key", str(tmp_path / "junk.key"))
    assert bad.exit_code == 2 and bad.stderr.startswith(f"error: signing key {tmp_path / 'junk.key'}: cannot read")
    assert "Traceback" not in bad.stderr


# ---- every table the log says something in -----------------------------------------------------

EDITS = {
    # table -> (update, insert, delete), each raw SQL on record #2's rows
    "pml_rule_results": (
        "UPDATE pml_rule_results SET outcome = 'pass' WHERE decision_seq = 2 AND outcome = 'fail'",
        "INSERT INTO pml_rule_results (decision_seq, policy, policy_version, policy_digest, rule, enforce, outcome, "
        "waiver) SELECT decision_seq, policy, policy_version, policy_digest, 'forged', enforce, 'pass', waiver FROM "
        "pml_rule_results WHERE decision_seq = 2 LIMIT 1",
        "DELETE FROM pml_rule_results WHERE id = (SELECT MIN(id) FROM pml_rule_results WHERE decision_seq = 2)",
    ),
    "pml_actions": (
        "UPDATE pml_actions SET value = 'approved' WHERE decision_seq = 2",
        "INSERT INTO pml_actions (decision_seq, policy, kind, name, value, state) "
        "VALUES (2, 'promotion-gate', 'set_alias', 'champion', NULL, 'planned')",
        "DELETE FROM pml_actions WHERE decision_seq = 2",
    ),
    "pml_waivers_used": (
        "UPDATE pml_waivers_used SET expired = NOT expired WHERE decision_seq = 2",
        "INSERT INTO pml_waivers_used (decision_seq, waiver, policy, rule, expired) "
        "VALUES (2, 'FORGED-1', 'fairness-high-risk', 'parity_gap', FALSE)",
        "DELETE FROM pml_waivers_used WHERE decision_seq = 2",
    ),
    "pml_decision_policies": (
        "UPDATE pml_decision_policies SET version = '9.9.9' WHERE decision_seq = 2 AND policy = 'promotion-gate'",
        "INSERT INTO pml_decision_policies (decision_seq, policy, version, digest) VALUES (2, 'forged', '1.0.0', 'x')",
        "DELETE FROM pml_decision_policies WHERE decision_seq = 2 AND policy = 'promotion-gate'",
    ),
}


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


@pytest.mark.parametrize("table", list(EDITS))
@pytest.mark.parametrize("edit", ["update", "insert", "delete"])
def test_every_hand_edit_of_every_table_is_named_by_verify(store_url, tmp_path, table, edit):
    store = _log_with_a_waiver(store_url, tmp_path)
    assert store.verify().ok
    _sql(store_url, EDITS[table][("update", "insert", "delete").index(edit)])
    verdict = store.verify()
    assert not verdict.ok and verdict.seq == 2, verdict
    assert verdict.problem.startswith(f"{table}: a row was ") and "record #2" in verdict.problem
    cli = run_cli("audit", "verify", "--audit", store_url)
    assert cli.exit_code == 1 and cli.stderr.startswith(f"TAMPERED: {table}: a row was ")
    store.close()


REGISTRATION = 'pml_policies: the registration of policy "promotion-gate" version 1.0.0 (first used by record #1)'


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (
            "UPDATE pml_policies SET digest = 'f' || substr(digest, 2) WHERE name = 'promotion-gate'",
            f"{REGISTRATION} was changed: it no longer matches that record's hashed body",
        ),
        (
            "UPDATE pml_policies SET first_decision = 'someone-else' WHERE name = 'promotion-gate'",
            f"{REGISTRATION} was changed: it no longer matches that record's hashed body",
        ),
        ("DELETE FROM pml_policies WHERE name = 'promotion-gate'", f"{REGISTRATION} was deleted"),
        (
            "INSERT INTO pml_policies (name, version, digest, source, first_decision, first_time) "
            "VALUES ('forged', '1.0.0', 'x', 'x.pml', 'x', '2026-12-01T00:00:00.000000Z')",
            'pml_policies: a registration of policy "forged" version 1.0.0 was inserted, but no record uses that '
            "version",
        ),
    ],
)
def test_every_hand_edit_of_a_policy_registration_is_named_by_verify(store_url, tmp_path, edit, problem):
    store = _log_with_a_waiver(store_url, tmp_path)
    assert store.verify().ok
    _sql(store_url, edit)
    verdict = store.verify()
    assert not verdict.ok and verdict.problem == problem, verdict
    cli = run_cli("audit", "verify", "--audit", store_url)
    assert cli.exit_code == 1 and cli.stderr.startswith(f"TAMPERED: {problem}")
    store.close()


def test_a_deleted_registration_cannot_let_a_changed_policy_reuse_its_version_unseen(store_url, tmp_path):
    policy = tmp_path / "gate.pml"
    policy.write_text('policy "gate" version "1.0.0" { rule auc { require metrics.val_auc >= 0.80 } }')
    check = ("check", "examples/credit-pass", "-p", str(policy), "--audit", store_url)
    assert run_cli(*check).exit_code == 0
    _sql(store_url, "DELETE FROM pml_policies WHERE name = 'gate'")  # the registration gone...
    policy.write_text('policy "gate" version "1.0.0" { rule auc { require metrics.val_auc >= 0.10 } }')
    assert run_cli(*check).exit_code == 0  # ...the write path cannot tell, but the chain can
    verdict = AuditStore(store_url, create=False).verify()
    assert not verdict.ok and verdict.seq == 2
    assert verdict.problem == (
        'record #2 used policy "gate" version 1.0.0 with another text (digest) than record #1 did: the policy '
        "changed without a new version, its registration removed"
    )


def _log_with_a_change(url: str, tmp_path: Path) -> AuditStore:
    """The waiver log, and a registry change applied for record #2's action: record #4 of kind change."""
    store = _log_with_a_waiver(url, tmp_path)
    decision_id = store.get("#2")["id"]
    store.record_change(decision_id, "promotion-gate", "set_tag", "governance.status", "rejected", "applied")
    return store


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (
            "UPDATE pml_actions SET state = 'failed' WHERE state = 'applied'",
            "the row of registry change record #4 was changed",
        ),
        ("DELETE FROM pml_actions WHERE state = 'applied'", "the row of registry change record #4 was deleted"),
        (
            "INSERT INTO pml_actions (decision_seq, policy, kind, name, value, state, time) VALUES "
            "(1, 'promotion-gate', 'set_alias', 'champion', NULL, 'applied', '2026-12-01T00:00:00.000000Z')",
            "an applied or failed row for record #1 was inserted without a registry change record",
        ),
    ],
)
def test_a_forged_or_edited_registry_change_is_named_by_verify(store_url, tmp_path, edit, problem):
    store = _log_with_a_change(store_url, tmp_path)
    assert store.verify().ok and store.verify().records == 4
    assert [r["kind"] for r in store.records()] == ["change", "decision", "decision", "decision"]
    shown = run_cli("audit", "show", "#4", "--audit", store_url)
    assert shown.exit_code == 0 and 'applied set tag "governance.status" = "rejected" on credit-scorer' in shown.stdout
    _sql(store_url, edit)
    verdict = store.verify()
    assert not verdict.ok and verdict.problem == f"pml_actions: {problem}", verdict
    store.close()


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
