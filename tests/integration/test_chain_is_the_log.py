"""The chain is the log, on SQLite and PostgreSQL: someone with write access to the database but not
the signing key cannot make any command count, list or report a row it did not append; verify
names each such row; a checkpoint pins history; with a key, every record must be signed."""

from __future__ import annotations

import json
import shutil

import pytest

from pml_policy.audit import AuditStore, chain
from pml_policy.audit.signing import keygen

from ..helpers import ROOT, run_cli
from ..support.audit import CHAMPION, _decision, _forge_tail, _sql

pytestmark = pytest.mark.usefixtures("verified_in_ranges_too")  # every verdict, in one pass and in ranges

APPROVAL = {
    "role": "model-risk",
    "approver": "cro@bank.example",
    "model": "credit-scorer",
    "version": "8",
    "reason": "forged",
    "expires": None,
    "revokes": None,
}


@pytest.fixture
def signoff_repo(tmp_path, monkeypatch, store_url):
    """The evidence of credit-scorer v8 (trained by ana), the starter gate and model risk's sign-off."""
    shutil.copytree(ROOT / "examples" / "credit-pass", tmp_path / "run")
    (tmp_path / "policies").mkdir()
    shutil.copy(ROOT / "policies" / "starter" / "promotion.pml", tmp_path / "policies")
    shutil.copy(ROOT / "policies" / "signoff" / "model-risk-signoff.pml", tmp_path / "policies")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PML_AUDIT_URL", store_url)
    return tmp_path


def _copy_last_as(url: str, seq: int, body_edit: tuple[str, str] | None = None, past_checks: bool = False) -> None:
    """A copy of the last record under another seq (and id), written beside the chain by hand;
    past_checks: as someone who first turns the schema's own checks off (they can: it is their
    database)."""
    from sqlalchemy import create_engine, text

    from pml_policy.audit.database import driver_url

    engine = create_engine(driver_url(url))
    with engine.begin() as conn:
        if past_checks and url.startswith("sqlite"):
            conn.execute(text("PRAGMA ignore_check_constraints = ON"))
        elif past_checks:
            conn.execute(text("ALTER TABLE pml_decisions DROP CONSTRAINT ck_pml_decisions_seq_in_chain"))
        last = dict(conn.execute(text("SELECT * FROM pml_decisions ORDER BY seq DESC LIMIT 1")).mappings().one())
        body = last["body"].replace(*body_edit) if body_edit else last["body"]
        forged = {**last, "seq": seq, "id": f"forged{seq:+d}", "body": body}
        names, marks = ", ".join(forged), ", ".join(f":{k}" for k in forged)
        conn.execute(text(f"INSERT INTO pml_decisions ({names}) VALUES ({marks})"), forged)
    engine.dispose()


def test_an_approval_written_with_a_negative_seq_counts_for_nothing(signoff_repo, store_url, monkeypatch):
    assert run_cli("check", "run").exit_code == 1  # pending: model risk has not signed off
    monkeypatch.setenv("PML_ACTOR", "cro@bank.example")
    digest = json.loads(run_cli("check", "run", "--format", "json").stdout)["decisions"][0]["subject"]["digest"]
    store = AuditStore(store_url)
    store.record_approval({**APPROVAL, "digest": digest}, "run", "cro@bank.example")  # a real one, to copy
    store.close()
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError, match="ck_pml_decisions_seq_in_chain"):
        _copy_last_as(store_url, -7)  # the schema itself refuses a seq below 1
    _copy_last_as(store_url, -7, past_checks=True)
    _sql(store_url, "DELETE FROM pml_decisions WHERE seq = 3")  # the copied original goes: only the forgery is left
    _sql(store_url, "UPDATE pml_head SET seq = 2, hash = (SELECT hash FROM pml_decisions WHERE seq = 2) WHERE id = 1")
    still = run_cli("check", "run")
    assert still.exit_code == 1 and 'awaiting approval by "model-risk" (0 of 1)' in still.stdout
    listed = run_cli("audit", "list", "--kind", "approval", "--format", "json")
    assert json.loads(listed.stdout) == []
    verdict = run_cli("audit", "verify")
    assert verdict.exit_code == 1
    assert "a record #-7 lies outside the chain (records #1 to the head, #" in verdict.stderr


def test_a_record_written_after_the_head_is_never_listed_and_verify_names_it(store_url):
    store = AuditStore(store_url)
    store.append([_decision("credit-fail")], "tester", {})
    store.close()
    _copy_last_as(store_url, 2, ('"outcome":"fail"', '"outcome":"pass"'))
    listed = json.loads(run_cli("audit", "list", "--format", "json", "--audit", store_url).stdout)
    assert [r["seq"] for r in listed] == [1]
    assert run_cli("audit", "show", "#2", "--audit", store_url).exit_code == 3  # not in the log
    verdict = run_cli("audit", "verify", "--audit", store_url)
    assert verdict.exit_code == 1 and "a record #2 lies outside the chain" in verdict.stderr
    exported = run_cli("audit", "export", "--audit", store_url).stdout.splitlines()
    assert len(exported) == 1


def test_a_head_rewound_below_a_checkpoint_cannot_hide_an_edit_under_it(store_url, tmp_path):
    key, public = keygen(tmp_path / "k")
    for example in ("credit-pass", "credit-warn"):
        checked = run_cli("check", f"examples/{example}", *CHAMPION, "--audit", store_url, "--signing-key", str(key))
        assert checked.exit_code == 0, checked.output
    published = tmp_path / "published.checkpoint"
    assert (
        run_cli("audit", "checkpoint", "--audit", store_url, "--signing-key", str(key), "-o", str(published)).exit_code
        == 0
    )
    # Rewind the head to #1, then turn #2 (checkpointed, now "after the head") into something else.
    _sql(store_url, "UPDATE pml_head SET seq = 1, hash = (SELECT hash FROM pml_decisions WHERE seq = 1) WHERE id = 1")
    _sql(store_url, "UPDATE pml_decisions SET outcome = 'fail' WHERE seq = 2")
    verdict = run_cli(
        "audit", "verify", "--audit", store_url, "--public-key", str(public), "--checkpoint", str(published)
    )
    assert verdict.exit_code == 1
    assert "the log holds 1 records, fewer than the checkpoint's 2: it was cut or rewound" in verdict.stderr


def test_with_a_key_every_record_is_signed_unless_told_where_signing_began(store_url, tmp_path):
    key, public = keygen(tmp_path / "k")
    assert run_cli("check", "examples/credit-pass", *CHAMPION, "--audit", store_url).exit_code == 0  # before the key
    signed = run_cli("check", "examples/credit-warn", *CHAMPION, "--audit", store_url, "--signing-key", str(key))
    assert signed.exit_code == 0, signed.output
    strict = run_cli("audit", "verify", "--audit", store_url, "--public-key", str(public))
    assert strict.exit_code == 1 and "record #1 is not signed" in strict.stderr
    later = run_cli("audit", "verify", "--audit", store_url, "--public-key", str(public), "--signed-from", "2")
    assert later.exit_code == 0 and "every record from #2 on signed by the key" in later.stdout


def test_with_a_signing_key_an_approval_appended_without_it_does_not_count(signoff_repo, store_url, tmp_path):
    from pml_policy.adapters import fetch
    from pml_policy.engine import load
    from pml_policy.engine.signoffs import bound_digest

    key, public = keygen(tmp_path / "keys" / "audit")
    signed = ["--signing-key", str(key)]
    assert run_cli("check", "run", *signed).exit_code == 1  # pending
    digest = bound_digest(fetch("run"), load(["policies"]).managed_tags)  # what a real sign-off binds
    # A well-formed approval record, hash and link right, the head moved: all but the signature.
    store = AuditStore(store_url)  # no signer: what someone with the database but not the key can do
    store.record_approval({**APPROVAL, "digest": digest}, "run", "cro@bank.example")
    store.close()
    assert run_cli("check", "run").exit_code == 0  # without the key, nothing tells the forgery apart
    pending = run_cli("check", "run", *signed)
    assert pending.exit_code == 1 and 'awaiting approval by "model-risk" (0 of 1)' in pending.stdout
    verdict = run_cli("audit", "verify", "--public-key", str(public))
    assert verdict.exit_code == 1 and "record #2 is not signed" in verdict.stderr  # the forgery


def test_a_forged_tail_signed_by_nobody_is_found_and_a_missing_head_row_is_one_line(store_url):
    store = AuditStore(store_url)
    store.append([_decision()], "tester", {})
    store.close()
    _forge_tail(store_url, None)
    assert AuditStore(store_url).verify().ok  # well formed: only a key tells it apart (the test above)
    _sql(store_url, "DELETE FROM pml_head")
    for args in (["audit", "verify"], ["audit", "list"], ["check", "examples/credit-pass", *CHAMPION]):
        result = run_cli(*args, "--audit", store_url)
        assert result.exit_code == 3, (args, result.output)
        assert result.stderr.startswith("error: the audit log's head row (pml_head) is missing or damaged")
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 2  # the line, a hint
    assert chain.GENESIS  # (the chain module is the one the forgery above recomputed hashes with)


def test_a_damaged_schema_version_is_one_line_and_exit_3(store_url):
    store = AuditStore(store_url)
    store.append([_decision()], "tester", {})
    store.close()
    _sql(store_url, "UPDATE pml_meta SET value = 'abc' WHERE key = 'schema_version'")
    for args in (["audit", "verify"], ["check", "examples/credit-pass", *CHAMPION]):
        result = run_cli(*args, "--audit", store_url)
        assert result.exit_code == 3 and "has a damaged schema version ('abc' in pml_meta)" in result.stderr
        assert "Traceback" not in result.stderr
