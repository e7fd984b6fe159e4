"""Who approves (hostile input round two, 6): identities compared trimmed and case-folded, so that
ANA@EXAMPLE.ORG cannot approve what ana@example.org trained; and a role that lists a member with
a key counts that member's approval only with their own signature (`approve --key`)."""

from __future__ import annotations

import json

import pytest

from pml_policy.audit import AuditStore
from pml_policy.audit.signing import keygen, member_key

from ..helpers import run_cli
from ..support.approvals import _as


@pytest.fixture
def keyed(governed_repo, tmp_path):
    """The sign-off policy with cro@bank.example listed with a key; the key pair and another one."""
    key, public = keygen(tmp_path / "keys" / "cro")
    other, _ = keygen(tmp_path / "keys" / "other")
    policy = governed_repo / "policies" / "model-risk-signoff.pml"
    listed = f'"cro@bank.example" key "{member_key(public)}"'
    policy.write_text(policy.read_text().replace('"cro@bank.example"', listed))
    return key, other


def test_a_trainer_or_a_member_is_the_same_person_whatever_the_case_and_spaces(governed_repo, monkeypatch):
    manifest = governed_repo / "run" / "pml.yaml"
    manifest.write_text(manifest.read_text().replace("user: ana", "user: Risk-Officer@Bank.Example"))
    _as(monkeypatch, " risk-officer@BANK.example ")  # a member of model-risk, written another way
    trainer = run_cli("approve", "run", "--role", "model-risk", "--reason", "ok")
    assert (
        trainer.exit_code == 2 and "trained credit-scorer version 8 (run.user), and cannot approve it" in trainer.stderr
    )
    _as(monkeypatch, "CRO@Bank.Example")
    given = run_cli("approve", "run", "--role", "model-risk", "--reason", "ok")
    assert given.exit_code == 0 and "by cro@bank.example" in given.stdout  # recorded as its one identity
    _as(monkeypatch, "cro@bank.example ")
    again = run_cli("approve", "run", "--role", "model-risk", "--reason", "twice")
    assert again.exit_code == 0
    checked = run_cli("check", "run")
    assert checked.exit_code == 0 and 'approved by "model-risk": cro@bank.example (1 of 1)' in checked.stdout


def test_a_member_listed_with_a_key_approves_with_it_and_only_with_it(keyed, monkeypatch):
    key, other = keyed
    _as(monkeypatch, "cro@bank.example")
    unsigned = run_cli("approve", "run", "--role", "model-risk", "--reason", "ok")
    assert (
        unsigned.exit_code == 2
        and "lists cro@bank.example with a key" in unsigned.stderr
        and "--key" in unsigned.stderr
    )
    wrong = run_cli("approve", "run", "--role", "model-risk", "--reason", "ok", "--key", str(other))
    assert wrong.exit_code == 2 and "--key is not the key the role" in wrong.stderr
    assert run_cli("check", "run").exit_code == 1  # nothing recorded by the refusals
    signed = run_cli("approve", "run", "--role", "model-risk", "--reason", "ok", "--key", str(key))
    assert signed.exit_code == 0, signed.output
    assert run_cli("check", "run").exit_code == 0
    assert "  valid" in run_cli("approvals").stdout


def test_an_approval_recorded_without_the_members_key_does_not_count(keyed, monkeypatch, private_audit_log):
    """Someone who can write the log (and set PML_ACTOR) but does not hold cro's key."""
    _as(monkeypatch, "cro@bank.example")
    digest = json.loads(run_cli("check", "run", "--format", "json").stdout)["decisions"][0]
    assert digest["outcome"] == "pending"
    listed = json.loads(run_cli("approvals", "--format", "json").stdout)
    assert listed == []
    from pml_policy.adapters import fetch
    from pml_policy.engine import load
    from pml_policy.engine.signoffs import bound_digest

    bound = bound_digest(fetch("run"), load(["policies"]).managed_tags)
    forged = {
        "role": "model-risk",
        "approver": "cro@bank.example",
        "digest": bound,
        "model": "credit-scorer",
        "version": "8",
        "reason": "forged",
        "expires": None,
        "revokes": None,
    }
    store = AuditStore(private_audit_log)
    store.record_approval(forged, "run", "cro@bank.example")
    store.close()
    pending = run_cli("check", "run")
    assert pending.exit_code == 1
    assert "not counted: cro@bank.example (not signed with their own key)" in pending.stdout
    (shown,) = json.loads(run_cli("approvals", "--format", "json").stdout)
    assert shown["state"] == "void: not signed with their own key"


def test_a_members_key_is_kept_by_fmt_and_a_bad_one_is_located(keyed, governed_repo):
    assert run_cli("fmt", "--check", "policies").exit_code == 0  # canonical as written
    policy = governed_repo / "policies" / "model-risk-signoff.pml"
    policy.write_text(policy.read_text().replace('key "ed25519:', 'key "ed25519:AAAA'))
    bad = run_cli("validate", "policies")
    assert bad.exit_code == 2
    assert 'role "model-risk": the key of "cro@bank.example" is not an Ed25519 public key' in bad.stderr
