"""The audit chain on SQLite and PostgreSQL: an intact log verifies, in one pass and in seq ranges
checked by worker processes; every kind of tampering is named at its record."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from pml_policy.audit import AuditStore, verifying
from pml_policy.audit.database import driver_url
from pml_policy.audit.signing import PublicKey, Signer, keygen

from ..helpers import run_cli
from ..support.audit import _decision, _delete_record, _fill, _forge_tail, _log_with_a_waiver, _sql

pytestmark = pytest.mark.usefixtures("verified_in_ranges_too")  # every verdict, in one pass and in ranges

_ONE_PASS, _CHECK_RANGES = AuditStore.verify, verifying.check_ranges


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


REGISTRATION = 'pml_policies: the registration of policy "promotion-gate" version 1.0.0 (first used by record #1)'


def _log_with_a_change(url: str, tmp_path: Path) -> AuditStore:
    """The waiver log, and a registry change applied for record #2's action: record #4 of kind change."""
    store = _log_with_a_waiver(url, tmp_path)
    decision_id = store.get("#2")["id"]
    store.record_change(decision_id, "promotion-gate", "set_tag", "governance.status", "rejected", "applied")
    return store


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
    verdict = store.verify()  # the Merkle tree beside the chain still spans five records...
    assert not verdict.ok and "pml_tree: a node over leaves 2..3 lies outside the tree" in verdict.problem
    _sql(store_url, "DELETE FROM pml_tree WHERE (idx + 1) * (1 << level) > 3")  # ...so a careful forger cuts it too
    assert store.verify().ok
    # ...but not against the head published before.
    verdict = store.verify(expect_head=published)
    assert not verdict.ok and f"the published head {published} is not in the log" in verdict.problem


def test_a_truncated_tail_without_a_head_update_is_found(store_url):
    store = _fill(store_url, 4)
    _delete_record(store_url, 4)
    verdict = store.verify()
    assert not verdict.ok and "head says #4" in verdict.problem


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
