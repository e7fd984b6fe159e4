"""The audit log on SQLite, in process: recorded, chained, tamper-evident, signed, upgraded; each
verification made in one pass and in seq ranges."""

from __future__ import annotations

import base64
import json
import os
import re
import sqlite3

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import create_engine, inspect, text

from pml_policy.adapters import fetch
from pml_policy.audit import AuditStore, Entry, chain
from pml_policy.audit.signing import PublicKey, Signer, keygen
from pml_policy.base.errors import AuditError, PolicyConflict
from pml_policy.engine import evaluate, load

from ..helpers import ROOT, run_cli
from ..support.audit import CHAMPION, _decision, _delete_record, _forge_tail, _sql

pytestmark = pytest.mark.usefixtures("verified_in_ranges_too")  # every verdict, in one pass and in ranges

_json_text = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
).map(lambda v: json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False))


def _entry_under(policy_file: str) -> Entry:
    subject = fetch(str(ROOT / "examples" / "credit-pass"))
    return Entry(evaluate(load([ROOT / "policies" / "starter" / policy_file]), subject), subject)


def _again(entry: Entry) -> Entry:
    """The same decision made once more (a new decision id)."""
    return Entry(entry.decision.model_copy(update={"id": __import__("uuid").uuid4().hex}), entry.subject)


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


def test_no_audit_says_so():
    result = run_cli("check", "examples/credit-pass", *CHAMPION, "--no-audit")
    assert result.exit_code == 0 and "NOT RECORDED: --no-audit was given" in result.stdout


def test_audit_verify_command_names_the_record(private_audit_log):
    for example in ("credit-pass", "credit-warn", "credit-fail"):
        run_cli("check", f"examples/{example}", *CHAMPION)
    ok = run_cli("audit", "verify")
    assert ok.exit_code == 0 and ok.stdout.startswith("OK: 3 records, chain intact")
    _sql(private_audit_log, "UPDATE pml_decisions SET outcome = 'pass' WHERE seq = 3")
    bad = run_cli("audit", "verify")
    assert bad.exit_code == 1 and "TAMPERED: record #3 was altered" in bad.stderr


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
    problem = plain.verify(public_key=PublicKey(public)).problem
    assert problem == "record #1 is not signed (with a public key, every record must be signed)"


def test_a_checkpoint_is_a_signed_c2sp_note_and_a_cut_log_fails_it(tmp_path):
    url = f"sqlite:///{tmp_path}/a.db"
    key, public = keygen(tmp_path / "k")
    assert run_cli("check", "examples/credit-pass", *CHAMPION, "--audit", url, "--signing-key", str(key)).exit_code == 0
    published = tmp_path / "published.checkpoint"
    made = run_cli("audit", "checkpoint", "--audit", url, "--signing-key", str(key), "-o", str(published))
    text = published.read_text()
    origin, size, root, blank, signature, end = text.split("\n")
    assert made.exit_code == 0 and (origin, size, blank, end) == ("pml-policy/a.db", "1", "", "")
    assert len(base64.b64decode(root)) == 32 and signature.startswith("\u2014 pml-policy/a.db ")
    ok = run_cli("audit", "verify", "--audit", url, "--public-key", str(public), "--checkpoint", str(published))
    assert ok.exit_code == 0 and "every record signed by the key" in ok.stdout
    _delete_record(url, 1)
    _sql(url, f"UPDATE pml_head SET seq = 0, hash = '{chain.GENESIS}' WHERE id = 1")
    _sql(url, "DELETE FROM pml_tree")
    cut = run_cli("audit", "verify", "--audit", url, "--checkpoint", str(published))
    assert cut.exit_code == 1 and "the log holds 0 records, fewer than the checkpoint's 1" in cut.stderr
    published.write_text(text.replace("\n1\n", "\n2\n", 1))  # a bigger tree, claimed without the key
    forged = run_cli("audit", "verify", "--audit", url, "--public-key", str(public), "--checkpoint", str(published))
    assert forged.exit_code == 3 and "does not verify: the note was altered or forged" in forged.stderr


def test_a_checkpoint_of_an_earlier_release_is_still_read(tmp_path):
    """Earlier releases published the head (seq, hash) as signed JSON: such a file still pins the log."""
    url = f"sqlite:///{tmp_path}/a.db"
    key, public = keygen(tmp_path / "k")
    assert run_cli("check", "examples/credit-pass", *CHAMPION, "--audit", url, "--signing-key", str(key)).exit_code == 0
    seq, head = AuditStore(url, create=False).head()
    body = {"schema": "pml-policy/checkpoint", "seq": seq, "hash": head, "time": "2026-12-01T00:00:00.000000Z"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    (tmp_path / "old.json").write_text(json.dumps(body | {"signature": Signer(key).sign(canonical)}))
    ok = run_cli(
        "audit", "verify", "--audit", url, "--public-key", str(public), "--checkpoint", str(tmp_path / "old.json")
    )
    assert ok.exit_code == 0, ok.stderr
    (tmp_path / "old.json").write_text(json.dumps(body | {"seq": 2, "signature": Signer(key).sign(canonical)}))
    forged = run_cli(
        "audit", "verify", "--audit", url, "--public-key", str(public), "--checkpoint", str(tmp_path / "old.json")
    )
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
