"""`pml-policy check` as a CI gate: exit codes, formats read back the way CI servers read them."""

from __future__ import annotations

import json
import os

import pytest
from junitparser import Error, Failure, JUnitXml, Skipped
from sarif_pydantic import Sarif

from pml_policy.engine.decision import Decision

from ..helpers import ROOT, run_cli

CHAMPION = ["--champion", "examples/credit-champion", "-p", "policies/starter"]


@pytest.mark.parametrize(
    "example, extra, code, verdict",
    [
        ("credit-pass", [], 0, "=> PASS"),
        ("credit-warn", [], 0, "=> WARN"),
        ("credit-warn", ["--fail-on", "warn"], 1, "=> WARN"),
        ("credit-fail", [], 1, "=> FAIL"),
    ],
)
def test_examples_pass_warn_and_fail_with_documented_exit_codes(example, extra, code, verdict):
    result = run_cli("check", f"examples/{example}", *CHAMPION, *extra)
    assert result.exit_code == code, result.output
    assert verdict in result.stdout


def test_text_explains_each_rule_with_observed_against_required():
    out = run_cli("check", "examples/credit-fail", *CHAMPION).stdout
    assert "FAIL   promotion-gate/auc_floor" in out
    assert "metrics.val_auc = 0.781, required >= 0.80" in out
    assert "metrics.val_auc_slice_young = 0.71" in out
    assert 'planned: set tag "governance.status" = "rejected" (not applied)' in out


def test_no_policy_applies_is_exit_2_never_a_pass(tmp_path):
    (tmp_path / "only-fraud.pml").write_text(
        'policy "f" version "1.0.0" { applies to model "fraud-*" rule r { require true } }'
    )
    result = run_cli("check", "examples/credit-pass", "-p", str(tmp_path))
    assert result.exit_code == 2
    assert "no policy applies to examples/credit-pass" in result.stderr


def test_an_invalid_policy_is_exit_2_before_any_evidence_is_read():
    result = run_cli("check", "examples/does-not-exist", "-p", "tests/data/five-mistakes")
    assert result.exit_code == 2
    assert "5 errors in policy files" in result.stderr


def test_json_output_follows_the_versioned_schema(tmp_path):
    out = tmp_path / "d.json"
    result = run_cli(
        "check", "examples/credit-pass", "examples/credit-fail", *CHAMPION, "--format", "json", "--output", str(out)
    )
    assert result.exit_code == 1
    assert f"json written to {out}" in result.stdout
    doc = json.loads(out.read_text())
    assert (doc["schema"], doc["schema_version"], doc["outcome"]) == ("pml-policy/check", 3, "fail")
    decisions = [Decision.model_validate(d) for d in doc["decisions"]]
    assert [d.outcome for d in decisions] == ["pass", "fail"]
    first = doc["decisions"][0]
    assert first["schema"] == "pml-policy/decision" and first["schema_version"] == 3
    rule = next(r for p in first["policies"] for r in p["rules"] if r["rule"] == "auc_floor")
    assert rule["observed"] == {"metrics.val_auc": 0.861} and rule["required"] == "metrics.val_auc >= 0.80"
    assert len(first["policies"][0]["digest"]) == 64


def test_the_published_json_schema_is_current():
    from pml_policy.usecases.schema import check_schema

    published = json.loads((ROOT / "docs" / "check-output.schema.json").read_text())
    assert published == check_schema(), "regenerate with: pml-policy schema > docs/check-output.schema.json"


def test_junit_reads_back_with_a_failure_per_blocking_rule(tmp_path):
    out = tmp_path / "junit.xml"
    run_cli("check", "examples/credit-fail", "examples/churn-dvc", *CHAMPION, "-f", "junit", "-o", str(out))
    xml = JUnitXml.fromfile(str(out))
    cases = {
        (suite.name, case.classname.removeprefix(f"{suite.name}."), case.name): case for suite in xml for case in suite
    }
    assert len(cases) == sum(1 for suite in xml for case in suite)  # one identity per (subject, policy, rule)
    failed = cases[("examples/credit-fail", "promotion-gate", "auc_floor")]
    assert isinstance(failed.result[0], Failure) and "required >= 0.80" in failed.result[0].message
    skipped = cases[("examples/churn-dvc", "fairness-high-risk", "parity_gap")]
    assert isinstance(skipped.result[0], Skipped)
    assert cases[("examples/credit-fail", "reproducibility", "git_commit")].is_passed
    assert xml.failures == sum(1 for c in cases.values() if c.result and isinstance(c.result[0], Failure)) > 0


def test_junit_marks_missing_evidence_as_an_error(tmp_path):
    (tmp_path / "pml.yaml").write_text("model: {name: m}\n")
    out = tmp_path / "junit.xml"
    run_cli("check", str(tmp_path), "-p", "policies/starter/promotion.pml", "-f", "junit", "-o", str(out))
    xml = JUnitXml.fromfile(str(out))
    (case,) = [c for s in xml for c in s if c.name.startswith("auc_floor")]
    assert isinstance(case.result[0], Error) and "metrics.val_auc is absent" in case.result[0].message


def test_sarif_validates_and_points_at_the_rule_in_its_policy_file(tmp_path):
    out = tmp_path / "pml.sarif"
    run_cli("check", "examples/credit-fail", "examples/credit-warn", *CHAMPION, "-f", "sarif", "-o", str(out))
    log = Sarif.model_validate(json.loads(out.read_text()))
    assert log.version == "2.1.0"
    run = log.runs[0]
    by_rule = {r.rule_id: r for r in run.results}
    auc = by_rule["promotion-gate/auc_floor"]
    assert auc.level.value == "error"
    location = auc.locations[0].physical_location
    assert location.artifact_location.uri == "policies/starter/promotion.pml"
    line = (ROOT / "policies/starter/promotion.pml").read_text().split("\n")[location.region.start_line - 1]
    assert line.strip().startswith("rule auc_floor")
    assert by_rule["documentation/model_card"].level.value == "warning"
    assert {d.id for d in run.tool.driver.rules} >= {"promotion-gate/auc_floor", "documentation/model_card"}


def test_github_annotations_and_markdown():
    gh = run_cli("check", "examples/credit-fail", *CHAMPION, "-f", "github").stdout
    assert "::error file=policies/starter/promotion.pml,line=" in gh
    assert "title=promotion-gate/auc_floor::examples/credit-fail%3A" not in gh  # only properties escape ':'
    assert "::examples/credit-fail: metrics.val_auc = 0.781, required >= 0.80" in gh
    md = run_cli("check", "examples/credit-warn", *CHAMPION, "-f", "markdown").stdout
    assert md.startswith("### ⚠️ WARN: `examples/credit-warn`")
    assert "| `documentation/model_card` | advisory |" in md


def test_data_file_feeds_data_paths(tmp_path):
    (tmp_path / "p.pml").write_text(
        'policy "d" version "1.0.0" { rule floor { require metrics.val_auc >= data.floors.credit } }'
    )
    (tmp_path / "ctx.yaml").write_text("floors: {credit: 0.9}\n")
    result = run_cli(
        "check", "examples/credit-pass", "-p", str(tmp_path / "p.pml"), "--data", str(tmp_path / "ctx.yaml")
    )
    assert result.exit_code == 1 and "required >= data.floors.credit = 0.9" in result.stdout
    (tmp_path / "bad.yaml").write_text("- a list\n")
    bad = run_cli("check", "examples/credit-pass", "-p", str(tmp_path / "p.pml"), "--data", str(tmp_path / "bad.yaml"))
    assert bad.exit_code == 2 and "must be a mapping" in bad.stderr


def test_help_and_version_teach():
    assert "Exit codes:" in run_cli("check", "--help").stdout
    assert "First steps:" in run_cli("--help").stdout
    assert run_cli("--version").stdout.startswith("pml-policy, version ")


def test_text_is_plain_when_piped_and_coloured_on_request():
    plain = run_cli("check", "examples/credit-warn", *CHAMPION).stdout
    assert "\x1b[" not in plain
    coloured = run_cli("check", "examples/credit-warn", *CHAMPION, "--color").stdout
    assert "\x1b[" in coloured and "documentation/model_card" in coloured


def test_nan_evidence_is_recorded_as_nan_and_absent_as_null(tmp_path):
    (tmp_path / "metrics.json").write_text('{"val_auc": NaN}')
    (tmp_path / "pml.yaml").write_text("model: {name: m}\n")
    out = tmp_path / "d.json"
    run_cli("check", str(tmp_path), "-p", "policies/starter/promotion.pml", "-f", "json", "-o", str(out))
    rules = {r["rule"]: r for r in json.loads(out.read_text())["decisions"][0]["policies"][0]["rules"]}
    assert rules["auc_floor"]["observed"] == {"metrics.val_auc": "NaN"}
    assert rules["auc_floor"]["outcome"] == "error" and "metrics.val_auc is NaN" in rules["auc_floor"]["message"]
    assert rules["calibration"]["observed"] == {"metrics.val_ece": None}
    assert "metrics.val_ece is absent" in rules["calibration"]["message"]


def test_policies_and_format_come_from_the_environment(monkeypatch):
    import os

    monkeypatch.setenv(
        "PML_POLICIES", os.pathsep.join(["policies/starter/promotion.pml", "policies/starter/documentation.pml"])
    )
    monkeypatch.setenv("PML_FORMAT", "json")
    result = run_cli("check", "examples/credit-pass")
    doc = json.loads(result.stdout)
    assert sorted(p["name"] for p in doc["decisions"][0]["policies"]) == ["documentation", "promotion-gate"]


def test_output_to_a_device_or_pipe_writes_into_it_and_never_replaces_it(tmp_path):
    """-o /dev/null (or a pipe) is written in place: renaming a temporary file over it, as -o does
    for regular files, would replace the device itself."""
    import stat
    import threading

    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(pipe.read_bytes()), daemon=True)
    reader.start()
    result = run_cli("check", "examples/credit-pass", *CHAMPION, "--format", "json", "-o", str(pipe))
    reader.join(timeout=30)
    assert result.exit_code == 0
    assert stat.S_ISFIFO(pipe.stat().st_mode)
    assert json.loads(received[0])["decisions"][0]["outcome"] == "pass"


def test_an_output_file_that_cannot_be_written_says_the_decisions_were_recorded(tmp_path):
    (tmp_path / "file").write_text("")
    out = tmp_path / "file" / "d.json"  # a file where a folder should be
    result = run_cli("check", "examples/credit-pass", "-p", "policies/starter", "-f", "json", "-o", str(out))
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: cannot write {out}: ")
    assert "the decisions were recorded in the audit log" in result.stderr and " as #1; head " in result.stderr
    quiet = run_cli("check", "examples/credit-pass", "-p", "policies/starter", "-o", str(out), "--no-audit")
    assert quiet.exit_code == 2 and "the decisions were not recorded (--no-audit)" in quiet.stderr


def test_each_reference_still_reaches_its_adapter_though_registry_adapters_load_only_for_theirs():
    from pml_policy.adapters.base import REFERENCE_PREFIXES
    from pml_policy.adapters.lookup import adapter_for, adapters

    routed = {
        "models:/credit-scorer/3": "mlflow",
        "runs:/0a1b2c/model": "mlflow",
        "sagemaker:credit-scorer/3": "sagemaker",
        "arn:aws:sagemaker:eu-west-1:123456789012:model-package/credit-scorer/3": "sagemaker",
        "wandb:team/project/run1": "wandb",
        "examples/credit-pass": "local",
    }
    for ref, name in routed.items():
        assert adapter_for(ref).name == name, ref
    # The cheap pre-check is a necessary condition: whatever an adapter reads passes it.
    for cls in adapters():
        for ref in routed:
            if cls.name in REFERENCE_PREFIXES and cls.handles(ref):
                assert ref.startswith(REFERENCE_PREFIXES[cls.name]), (cls.name, ref)
