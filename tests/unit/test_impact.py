"""`pml-policy impact`: the decisions already recorded, replayed under a policy change."""

from __future__ import annotations

import json
import shutil

import pytest

from pml_policy.audit import AuditStore
from pml_policy.usecases.impact import impact
from pml_policy.usecases.workspace import Workspace

from ..helpers import ROOT, run_cli
from ..support.impact import EXAMPLES, _proposed
from ..support.markdown import rendered


@pytest.fixture
def recorded(tmp_path, private_audit_log):
    """The starter policies as they are on main, and one decision on each example version (two on v8)."""
    current = tmp_path / "current"
    shutil.copytree(ROOT / "policies" / "starter", current)
    for example in ("credit-pass", *EXAMPLES):
        run_cli("check", f"examples/{example}", "--champion", "examples/credit-champion", "-p", str(current))
    return current


def test_a_raised_floor_shows_which_versions_would_now_fail(recorded, tmp_path):
    proposed = _proposed(tmp_path, recorded, "0.855")
    out = run_cli("impact", "-p", str(proposed))
    assert out.exit_code == 0, out.output
    lines = out.stdout.splitlines()
    assert lines[-1] == "1 of 3 versions would now fail: credit-scorer v9"
    assert "credit-scorer v9: warn -> fail" in out.stdout
    assert "  promotion-gate/auc_floor: pass -> fail (metrics.val_auc = 0.853, required >= 0.855)" in lines
    assert "credit-scorer v8" not in out.stdout  # 0.861 still clears it: nothing to show
    gate = run_cli("impact", "-p", str(proposed), "--fail-on-change")
    assert gate.exit_code == 1


def test_a_lowered_floor_shows_what_would_now_pass_and_rules_that_change_without_the_outcome(recorded, tmp_path):
    proposed = _proposed(tmp_path, recorded, "0.70")
    found = json.loads(run_cli("impact", "-p", str(proposed), "--format", "json").stdout)
    assert found["replayed"] == 3 and found["outcome_changes"] == 0
    (v10,) = found["changed"]  # still failing (slices, parity), but its AUC floor now passes
    assert v10["subject"] == "credit-scorer v10" and (v10["before"], v10["after"]) == ("fail", "fail")
    assert v10["rules"] == [
        {
            "rule": "promotion-gate/auc_floor",
            "before": "fail",
            "after": "pass",
            "message": "metrics.val_auc = 0.781, required >= 0.70",
        }
    ]
    assert found["summary"] == "no outcome would change on 3 versions (1 with rules that would decide otherwise)"
    assert run_cli("impact", "-p", str(proposed), "--fail-on-change").exit_code == 0  # the gate is about outcomes


def test_against_the_current_policies_on_the_same_evidence(recorded, tmp_path):
    """--current: the baseline is today's main on the recorded evidence, not what was recorded
    (which may have been decided under older policies)."""
    proposed = _proposed(tmp_path, recorded, "0.855")
    (recorded / "documentation.pml").unlink()  # main dropped the documentation policy since
    out = json.loads(run_cli("impact", "-p", str(proposed), "--current", str(recorded), "--format", "json").stdout)
    assert out["baseline"] == "current policies"
    by_subject = {v["subject"]: v for v in out["changed"]}
    assert set(by_subject) == {"credit-scorer v8", "credit-scorer v9", "credit-scorer v10"}
    # v8 and v10: only the documentation rules differ (main has none); v9: the floor too
    assert {r["rule"] for r in by_subject["credit-scorer v8"]["rules"]} == {
        "documentation/model_card",
        "documentation/owner_tag",
    }
    assert (by_subject["credit-scorer v9"]["before"], by_subject["credit-scorer v9"]["after"]) == ("pass", "fail")


def test_markdown_for_a_job_summary_and_scoping(recorded, tmp_path):
    proposed = _proposed(tmp_path, recorded, "0.855")
    md = run_cli("impact", "-p", str(proposed), "--format", "md").stdout
    assert md.startswith("### Policy impact")
    assert "**1 of 3 versions would now fail\\: credit-scorer v9**" in md
    # as every Markdown output writes evidence: markup backslash-escaped, pipes too
    assert "| credit-scorer v9 | warn | **fail** | promotion-gate/auc_floor\\: pass -> fail" in md
    other = run_cli("impact", "-p", str(proposed), "--model", "another-model").stdout
    assert other.splitlines()[-1] == "no recorded decision in the period to replay"
    later = run_cli("impact", "-p", str(proposed), "--since", "2099-01-01").stdout
    assert later.splitlines()[-1] == "no recorded decision in the period to replay"
    hostile = tmp_path / "hostile"
    shutil.copytree(ROOT / "examples" / "credit-warn", hostile)
    manifest = hostile / "pml.yaml"
    manifest.write_text(manifest.read_text().replace("name: credit-scorer", 'name: "x|<img src=y>"'))
    run_cli("check", str(hostile), "-p", str(recorded))
    md = run_cli("impact", "-p", str(proposed), "--format", "md", "--model", "x|<img src=y>").stdout
    assert "| x\\|\\<img src=y> v9 | warn | **fail** |" in md
    assert all("<img" not in html for html in rendered(md).values())


def test_only_the_latest_gating_decision_of_each_version_is_replayed(
    recorded, tmp_path, private_audit_log, monkeypatch
):
    """A version decided twice is replayed once, from its latest decision; an approval is a record
    of the log, not a decision, and is never replayed."""
    signoff = tmp_path / "signoff"
    shutil.copytree(ROOT / "policies" / "signoff", signoff)
    both = ["-p", str(recorded), "-p", str(signoff)]
    assert run_cli("check", "examples/credit-pass", *both).exit_code == 1  # pending: awaiting model risk
    monkeypatch.setenv("PML_ACTOR", "cro@bank.example")
    approved = run_cli("approve", "examples/credit-pass", "--role", "model-risk", "--reason", "reviewed", *both)
    assert approved.exit_code == 0, approved.output
    store = AuditStore(private_audit_log, create=False)
    latest = list(store.latest_decisions())
    assert sorted((r["version"], r["kind"]) for r in latest) == [
        ("10", "decision"),
        ("8", "decision"),
        ("9", "decision"),
    ]
    v8 = next(r for r in latest if r["version"] == "8")
    assert v8["outcome"] == "pending" and v8["seq"] == max(
        r["seq"] for r in store.records(model="credit-scorer", kind="decision") if r["version"] == "8"
    )
    with Workspace.open([str(recorded)], audit_url=private_audit_log) as ws:
        result = impact(ws)
    assert result.replayed == 3
    (v8_change,) = result.changed  # under the starter policies alone, the sign-off rule is gone
    assert (v8_change.subject, v8_change.before, v8_change.after) == ("credit-scorer v8", "pending", "pass")
    assert [c.rule for c in v8_change.rules] == ["model-risk-signoff/signoff"]


def test_the_worst_inputs_end_in_one_line(recorded, tmp_path, monkeypatch):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "p.pml").write_text('policy "x" version "1.0.0" { rule r "t" { require metrics.a >= } }')
    invalid = run_cli("impact", "-p", str(broken))
    assert invalid.exit_code == 2 and "p.pml:1:" in invalid.stderr
    since = run_cli("impact", "-p", str(recorded), "--since", "yesterday-ish")
    assert since.exit_code == 2 and "is not a date, a time or a span back from now" in since.stderr
    ancient = run_cli("impact", "-p", str(recorded), "--since", "999999w")
    assert ancient.exit_code == 2 and "before the year 1" in ancient.stderr
    monkeypatch.setenv("PML_AUDIT_URL", f"sqlite:///{tmp_path}/none.db")
    missing = run_cli("impact", "-p", str(recorded))
    assert missing.exit_code == 3 and "no audit log at" in missing.stderr
    for out in (invalid, since, missing):
        assert "Traceback" not in out.output


def test_with_current_policies_the_semantic_diff_stands_beside_the_replay(recorded, tmp_path):
    """The replay reaches the evidence recorded; the semantic diff every subject (pml-policy[analyze])."""
    pytest.importorskip("z3", reason="pml-policy[analyze] is not installed")
    proposed = _proposed(tmp_path, recorded, "0.855")
    text = run_cli("impact", "-p", str(proposed), "--current", str(recorded)).stdout
    replay, _, semantic = text.partition("semantic diff: ")
    assert "1 of 3 versions would now fail: credit-scorer v9" in replay
    assert "promotion-gate/auc_floor: its verdicts under OLD and NEW can differ (old: pass, new: fail)" in semantic
    assert semantic.rstrip().endswith("not equivalent: 1 difference" + semantic.rstrip().rpartition("difference")[2])
    body = json.loads(run_cli("impact", "-p", str(proposed), "--current", str(recorded), "--format", "json").stdout)
    assert [(d["policy"], d["rule"]) for d in body["semantic"]["differences"]] == [("promotion-gate", "auc_floor")]
    same = json.loads(run_cli("impact", "-p", str(recorded), "--current", str(recorded), "--format", "json").stdout)
    assert same["semantic"]["equivalent"] is True
