"""Human approvals (DSL 1.1, "Approvals"): roles in policy files, `approved by [N of]`, the outcome
pending, sign-offs recorded in the audit log and bound to the evidence the approver saw."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

import pytest

from pml_policy.engine import evaluate
from pml_policy.engine.formatter import fmt
from pml_policy.engine.parser import parse
from pml_policy.engine.signoffs import REGISTRY_TAGS, bound_digest
from pml_policy.engine.subject import Approval

from ..helpers import NOW, policies, run_cli, subject
from ..support.approvals import _as

ROLE = 'role "model-risk" { members ["cro@bank.example", "risk@bank.example", "ana@bank.example"] }\n'


TWO = ROLE + (
    'policy "p" version "1.0.0" {\n'
    '  rule r "signed" { require approved by 2 of "model-risk" }\n'
    '  on pass { set alias "champion" }\n'
    '  on pending { set tag "governance.status" = "awaiting-approval" }\n'
    "}\n"
)


def _signed(s, approver, role="model-risk", digest=None, expires=None, version=None):
    return Approval(
        role=role,
        approver=approver,
        digest=digest or bound_digest(s, REGISTRY_TAGS),
        model=s.model.name,
        version=version or s.model.version,
        reason="reviewed",
        expires=expires,
        time=NOW,
    )


def test_roles_and_sign_off_rules_format_and_parse_back(tmp_path):
    text = (
        'role "model-risk" {  members [ "a@x", "b@x" ] }\n'
        'policy "p" version "1.0.0" { rule r { require approved by 1 of "model-risk" }'
        ' rule s { enforce soft require approved by "model-risk" } on pending { set tag "s" = "waiting" } }'
    )
    tree = parse(text, "p.pml")
    out = fmt(tree)
    assert 'role "model-risk" {\n  members ["a@x", "b@x"]\n}' in out
    assert 'require approved by 1 of "model-risk"' in out and 'require approved by "model-risk"' in out
    assert 'on pending {\n    set tag "s" = "waiting"\n  }' in out
    assert parse(out, "p.pml").model_dump() == tree.model_dump() and fmt(parse(out, "p.pml")) == out


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (
            'policy "p" version "1.0.0" { rule r { require approved by "model-risks" } }\n' + ROLE,
            'did you mean "model-risk"',
        ),
        ('policy "p" version "1.0.0" { rule r { require approved by 4 of "model-risk" } }\n' + ROLE, "more approvers"),
        ('policy "p" version "1.0.0" { rule r { require approved by 0 of "model-risk" } }\n' + ROLE, "at least 1"),
        ('role "empty" { }\n', 'role "empty" has no members'),
        (ROLE + ROLE, 'role "model-risk" is declared twice'),
        ('role "r" { members ["a@x", "a@x"] }\n', 'lists "a@x" twice'),
        ('policy "p" version "1.0.0" { rule r { require metrics.a > 1 and approved by "r" } }', "expected"),
    ],
)
def test_a_misused_role_is_a_located_error(tmp_path, text, says):
    (tmp_path / "p.pml").write_text(text)
    result = run_cli("validate", str(tmp_path / "p.pml"))
    assert result.exit_code == 2 and says in result.stderr and "p.pml:" in result.stderr, result.stderr


def test_who_counts_and_why_the_others_do_not(tmp_path):
    ps = policies(tmp_path, TWO)
    s = subject(model="credit", version="8", run={"user": "ana@bank.example"})
    other = subject(model="credit", version="8", metrics={"auc": 0.9})  # other evidence: another digest
    s.approvals = [
        _signed(s, "cro@bank.example"),
        _signed(s, "cro@bank.example"),  # the same person twice counts once
        _signed(s, "ana@bank.example"),  # trained the model
        _signed(s, "intern@bank.example"),  # not a member
        _signed(s, "risk@bank.example", digest=bound_digest(other, REGISTRY_TAGS)),  # saw other evidence
    ]
    d = evaluate(ps, s, now=NOW)
    (r,) = d.rules
    assert (d.outcome, r.outcome) == ("pending", "pending")
    assert r.message == (
        'awaiting approval by "model-risk" (1 of 2); approved by cro@bank.example; not counted: '
        'ana@bank.example (trained the model), intern@bank.example (not a member of "model-risk"), '
        "risk@bank.example (evidence changed since)"
    )
    assert r.observed == {'approved by 2 of "model-risk"': ["cro@bank.example"]}
    assert [a.text for a in d.actions] == ['set tag "governance.status" = "awaiting-approval"']
    assert [(a.text, a.blocked_by) for a in d.withheld] == []  # the one policy is pending: its on pass is not planned

    s.approvals.append(_signed(s, "risk@bank.example"))
    d = evaluate(ps, s, now=NOW)
    assert d.outcome == "pass" and d.rules[0].message.startswith('approved by "model-risk": cro@bank.example, risk')
    assert [a.text for a in d.actions] == ['set alias "champion"']


def test_what_governance_itself_changes_does_not_void_an_approval(tmp_path):
    """Promoting the approved version (its alias) and tagging it (the policies' `set tag` keys, the
    registry's approval status) change the subject, not the evidence the approver saw."""
    ps = policies(tmp_path, TWO)
    s = subject(model="credit", version="8", tags={"use_case": "credit"})
    signed = [_signed(s, "cro@bank.example"), _signed(s, "risk@bank.example")]
    later = subject(
        model="credit",
        version="8",
        aliases=["champion"],
        tags={"use_case": "credit", "governance.status": "approved", "sagemaker.approval_status": "Approved"},
    )
    later.approvals = signed
    assert later.digest != s.digest and evaluate(ps, later, now=NOW).outcome == "pass"
    retrained = subject(model="credit", version="8", tags={"use_case": "hiring"})  # evidence did change
    retrained.approvals = signed
    assert evaluate(ps, retrained, now=NOW).outcome == "pending"


def test_an_expired_or_misdirected_approval_does_not_count(tmp_path):
    ps = policies(tmp_path, ROLE + 'policy "p" version "1.0.0" { rule r { require approved by "model-risk" } }')
    s = subject(model="credit", version="8")
    s.approvals = [_signed(s, "cro@bank.example", expires=dt.date(2026, 11, 27))]
    assert evaluate(ps, s, now=NOW).outcome == "pass"  # valid to the end of its last day
    assert evaluate(ps, s, now=NOW + dt.timedelta(days=1)).rules[0].message.endswith("(expired 2026-11-27)")
    s.approvals = [_signed(s, "cro@bank.example", version="7")]
    assert "given for credit version 7" in evaluate(ps, s, now=NOW).rules[0].message


def test_a_pending_rule_blocks_the_on_pass_of_other_policies_and_no_waiver_lifts_it(tmp_path):
    ps = policies(
        tmp_path,
        ROLE
        + 'policy "gate" version "1.0.0" { rule q { require metrics.auc >= 0.8 } on pass { set alias "champion" } }\n'
        'policy "signoff" version "1.0.0" { rule r { require approved by "model-risk" } }\n'
        'waiver "W" { policy "signoff" rule r model "credit" version "*" reason "x" approved by "y"\n'
        "  expires 2099-01-01 }",
    )
    d = evaluate(ps, subject(model="credit", metrics={"auc": 0.9}), now=NOW)
    assert d.outcome == "pending" and d.rules[1].outcome == "pending" and d.waivers_used == []
    assert [(a.text, a.blocked_by) for a in d.withheld] == [('set alias "champion"', "signoff/r")]


def test_an_advisory_sign_off_only_warns(tmp_path):
    ps = policies(
        tmp_path, ROLE + 'policy "p" version "1.0.0" { rule r { enforce advisory require approved by "model-risk" } }'
    )
    assert evaluate(ps, subject(), now=NOW).outcome == "warn"


def test_both_backends_agree_on_sign_offs(tmp_path):
    pytest.importorskip("durable")
    ps = policies(tmp_path, TWO)
    s = subject(model="credit", version="8")
    for approvers in ([], ["cro@bank.example"], ["cro@bank.example", "risk@bank.example"]):
        s.approvals = [_signed(s, a) for a in approvers]
        python, durable = (evaluate(ps, s, now=NOW, engine=e) for e in ("python", "durable"))
        assert [(r.outcome, r.message) for r in python.rules] == [(r.outcome, r.message) for r in durable.rules]
        assert python.outcome == durable.outcome


def test_pending_then_approved_then_void_when_the_evidence_changes(governed_repo, monkeypatch):
    first = run_cli("check", "run")
    assert first.exit_code == 1
    assert "PENDING model-risk-signoff/signoff" in first.stdout
    assert 'awaiting approval by "model-risk" (0 of 1)' in first.stdout and "=> PENDING" in first.stdout

    _as(monkeypatch, "cro@bank.example")
    given = run_cli("approve", "run", "--role", "model-risk", "--reason", "Validation pack reviewed")
    assert given.exit_code == 0, given.output
    assert 'approved credit-scorer version 8 as "model-risk" by cro@bank.example: record #2' in given.stdout

    _as(monkeypatch, "ci@example.com")
    second = run_cli("check", "run", "--format", "json")
    assert second.exit_code == 0, second.output
    decision = json.loads(second.stdout)["decisions"][0]
    assert decision["outcome"] == "pass"
    assert (
        'approved by "model-risk": cro@bank.example (1 of 1)'
        in decision["policies"][0]["rules"][0]["message"] + (decision["policies"][1]["rules"][0]["message"])
    )

    metrics = json.loads((governed_repo / "run" / "metrics.json").read_text())
    (governed_repo / "run" / "metrics.json").write_text(json.dumps({**metrics, "val_auc": 0.87}))
    third = run_cli("check", "run")
    assert third.exit_code == 1 and "cro@bank.example (evidence changed since)" in third.stdout
    listed = run_cli("approvals", "credit-scorer")
    assert listed.exit_code == 0 and "void: evidence changed" in listed.stdout, listed.output
    assert run_cli("audit", "verify").exit_code == 0


def test_every_output_format_says_pending(governed_repo, tmp_path):
    from junitparser import Failure, JUnitXml
    from sarif_pydantic import Sarif

    from pml_policy.engine.decision import Decision

    doc = json.loads(run_cli("check", "run", "-f", "json").stdout)
    assert doc["schema_version"] == 3 and doc["outcome"] == "pending"
    Decision.model_validate(doc["decisions"][0])  # the published schema's model reads it back
    assert doc["decisions"][0]["counts"]["pending"] == 1
    run_cli("check", "run", "-f", "junit", "-o", str(tmp_path / "j.xml"))
    (case,) = [c for suite in JUnitXml.fromfile(str(tmp_path / "j.xml")) for c in suite if c.name.startswith("signoff")]
    assert isinstance(case.result[0], Failure) and case.result[0].type == "pending"
    run_cli("check", "run", "-f", "sarif", "-o", str(tmp_path / "r.sarif"))
    sarif = Sarif.model_validate(json.loads((tmp_path / "r.sarif").read_text()))
    (result,) = [r for r in sarif.runs[0].results if r.rule_id == "model-risk-signoff/signoff"]
    assert (str(getattr(result.kind, "value", result.kind)), str(getattr(result.level, "value", result.level))) == (
        "open",
        "none",
    )
    github = run_cli("check", "run", "-f", "github").stdout
    assert "::warning file=" in github and "awaiting approval by" in github and "pml-policy pending" in github
    markdown = run_cli("check", "run", "-f", "markdown").stdout
    assert (
        "### ⏳ PENDING" in markdown
        and "| ⏳ pending |" in markdown
        and "Withheld (the decision is pending)" in markdown
    )


def test_who_may_not_approve_is_refused_and_nothing_is_recorded(governed_repo, monkeypatch):
    cases = [
        ("intern@bank.example", ["--role", "model-risk"], 'not a member of the role "model-risk"'),
        ("cro@bank.example", ["--role", "model-risks"], 'did you mean "model-risk"'),
        ("cro@bank.example", ["--role", "model-risk", "--expires", "2001-01-01"], "is in the past"),
        ("cro@bank.example", ["--role", "model-risk", "--expires", "tomorrow"], "is not a date"),
    ]
    for who, args, says in cases:
        _as(monkeypatch, who)
        result = run_cli("approve", "run", *args, "--reason", "x")
        assert result.exit_code == 2 and says in result.stderr, result.output
    _as(monkeypatch, "cro@bank.example")
    assert "--reason is empty" in run_cli("approve", "run", "--role", "model-risk", "--reason", "  ").stderr
    # the trainer: the run's user is a member of the role
    manifest = governed_repo / "run" / "pml.yaml"
    manifest.write_text(manifest.read_text().replace("user: ana", "user: cro@bank.example"))
    trainer = run_cli("approve", "run", "--role", "model-risk", "--reason", "mine")
    assert (
        trainer.exit_code == 2 and "trained credit-scorer version 8 (run.user), and cannot approve it" in trainer.stderr
    )
    nothing = run_cli("approvals")  # not even a log was created
    assert nothing.exit_code == 3 and "no audit log" in nothing.stderr


def test_two_distinct_approvers_for_two_of(governed_repo, monkeypatch):
    policy = governed_repo / "policies" / "model-risk-signoff.pml"
    policy.write_text(policy.read_text().replace('approved by "model-risk"', 'approved by 2 of "model-risk"'))
    for who in ("cro@bank.example", "cro@bank.example"):
        _as(monkeypatch, who)
        assert run_cli("approve", "run", "--role", "model-risk", "--reason", "ok").exit_code == 0
    assert "(1 of 2)" in run_cli("check", "run").stdout
    _as(monkeypatch, "risk-officer@bank.example")
    assert run_cli("approve", "run", "--role", "model-risk", "--reason", "ok").exit_code == 0
    result = run_cli("check", "run")
    assert result.exit_code == 0 and "cro@bank.example, risk-officer@bank.example (2 of 2)" in result.stdout


def test_expired_and_revoked_approvals_no_longer_count(governed_repo, monkeypatch):
    _as(monkeypatch, "cro@bank.example")
    today = dt.datetime.now(dt.UTC).date()
    assert (
        run_cli("approve", "run", "--role", "model-risk", "--reason", "ok", "--expires", today.isoformat()).exit_code
        == 0
    )
    assert run_cli("check", "run").exit_code == 0  # valid through its last day
    revoked = run_cli("revoke", "#1", "--reason", "found a leak in the validation data")
    assert revoked.exit_code == 0 and "approval #1 revoked: record #3" in revoked.stdout, revoked.output
    assert run_cli("check", "run").exit_code == 1
    assert "revoked (#3)" in run_cli("approvals").stdout
    again = run_cli("revoke", "#1", "--reason", "twice")
    assert again.exit_code == 2 and "was revoked by record #3" in again.stderr
    _as(monkeypatch, "intern@bank.example")
    assert run_cli("revoke", "#2", "--reason", "x").exit_code == 2  # a decision record, not an approval


def test_an_approval_edited_by_hand_is_caught_and_a_signed_one_cannot_be_forged(governed_repo, monkeypatch, tmp_path):
    from pml_policy.audit.signing import keygen

    key, public = keygen(tmp_path / "keys" / "audit")
    _as(monkeypatch, "cro@bank.example")
    given = run_cli("approve", "run", "--role", "model-risk", "--reason", "ok", "--signing-key", str(key))
    assert given.exit_code == 0, given.output
    assert run_cli("audit", "verify", "--public-key", str(public)).exit_code == 0
    db = sqlite3.connect(tmp_path / "audit.db")  # the private log of this test (conftest)
    db.execute("UPDATE pml_decisions SET body = replace(body, 'cro@bank', 'risk@bank') WHERE kind = 'approval'")
    db.commit()
    tampered = run_cli("audit", "verify")
    assert tampered.exit_code == 1 and "record #1 was altered" in tampered.stdout + tampered.stderr


def test_an_approval_appended_without_the_key_is_caught(governed_repo, monkeypatch, tmp_path, private_audit_log):
    """Write access to the database is not enough to sign off: a well-formed record without the key fails."""
    from pml_policy.audit import AuditStore
    from pml_policy.audit.signing import keygen

    key, public = keygen(tmp_path / "keys" / "audit")
    _as(monkeypatch, "cro@bank.example")
    assert run_cli("approve", "run", "--role", "model-risk", "--reason", "ok", "--signing-key", str(key)).exit_code == 0
    store = AuditStore(private_audit_log)  # no signer: what someone with the database but not the key can do
    forged = {
        "role": "model-risk",
        "approver": "risk-officer@bank.example",
        "digest": "0" * 64,
        "model": "credit-scorer",
        "version": "8",
        "reason": "forged",
        "expires": None,
        "revokes": None,
    }
    store.record_approval(forged, "run", "risk-officer@bank.example")
    store.close()
    result = run_cli("audit", "verify", "--public-key", str(public))
    assert result.exit_code == 1 and "record #2" in result.stdout + result.stderr, result.output


def test_evidence_cannot_bring_its_own_approvals(tmp_path):
    from pml_policy.usecases.approving import attach
    from pml_policy.usecases.workspace import Workspace

    ps = policies(tmp_path, ROLE + 'policy "p" version "1.0.0" { rule r { require approved by "model-risk" } }')
    s = subject(model="credit", version="8")
    s.approvals = [_signed(s, "cro@bank.example")]  # as if pushed with the evidence
    with Workspace.open(ps, audit_url=f"sqlite:///{tmp_path}/none.db") as ws:
        attach(ws, [s])  # no log: nobody approved anything
    assert s.approvals == [] and evaluate(ps, s, now=NOW).outcome == "pending"


def test_reports_list_pending_given_and_void_approvals(governed_repo, monkeypatch):
    run_cli("check", "run")
    _as(monkeypatch, "cro@bank.example")
    run_cli("approve", "run", "--role", "model-risk", "--reason", "Reviewed <script>")
    metrics = json.loads((governed_repo / "run" / "metrics.json").read_text())
    (governed_repo / "run" / "metrics.json").write_text(json.dumps({**metrics, "val_auc": 0.9}))
    assert run_cli("check", "run").exit_code == 1
    report = json.loads(run_cli("report", "--format", "json").stdout)
    assert report["totals"]["pending"] == 2 and report["totals"]["versions_pending"] == 1
    (awaiting,) = report["approvals_pending"]
    assert (awaiting["model"], awaiting["version"]) == ("credit-scorer", "8")
    assert "evidence changed since" in awaiting["rules"][0]
    (given,) = report["approvals_given"]
    assert (given["approver"], given["role"], given["state"]) == (
        "cro@bank.example",
        "model-risk",
        "void: evidence changed",
    )
    assert report["approvals_void"] == [given]
    html = run_cli("report", "--format", "html").stdout
    assert 'id="approvals-given"' in html and "Reviewed &lt;script&gt;" in html and "<script>" not in html
    md = run_cli("report", "--format", "md").stdout  # an address shown, never linked (a word joiner after @)
    assert "| #2 | credit-scorer v8 | model-risk | cro@\u2060bank\\.example |" in md


def test_an_approval_prints_the_names_it_binds_as_one_line(governed_repo, monkeypatch):
    manifest = governed_repo / "run" / "pml.yaml"
    manifest.write_text(manifest.read_text().replace("credit-scorer", '"credit\\n=> PASS\\u202e"'))
    _as(monkeypatch, "cro@bank.example")
    given = run_cli("approve", "run", "--role", "model-risk", "--reason", "ok")
    assert given.exit_code == 0, given.output
    assert given.stdout.count("\n") == 1 and "\u202e" not in given.stdout
    assert 'approved credit\\n=> PASS\\u202e version 8 as "model-risk"' in given.stdout
