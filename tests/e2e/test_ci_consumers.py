"""Our CI outputs read by the tools that consume them: SARIF by Microsoft's SARIF Multitool with
GitHub code scanning's rules, JUnit by the Jenkins/Ant schema (junit-10.xsd) pytest validates with."""

from __future__ import annotations

import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema

from ..helpers import ROOT, run_cli
from ..support.consumers import junit_schema, sarif_multitool

pytestmark = pytest.mark.xdist_group("ci-consumers")  # one npm install and one sdist download per run
STARTER = str(ROOT / "policies" / "starter")
CHAMPION = str(ROOT / "examples" / "credit-champion")


def _second_failing_version(tmp_path: Path) -> Path:
    """credit-fail again as version 11 of the same model: GitHub must keep two alerts, not one."""
    other = tmp_path / "credit-fail-v11"
    shutil.copytree(ROOT / "examples" / "credit-fail", other)
    manifest = other / "pml.yaml"
    manifest.write_text(manifest.read_text().replace("version: 10,", "version: 11,"))
    assert "version: 11," in manifest.read_text()
    return other


def _multitool_findings(sarif: Path) -> list[dict]:
    """What the Multitool reports against the file with GitHub's rules and its own (errors and warnings)."""
    report = sarif.with_suffix(".validation.sarif")
    done = subprocess.run(
        [str(sarif_multitool()), "validate", "--rule-kind", "Gh;Sarif", str(sarif), "--output", str(report)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0 and report.exists(), done.stdout + done.stderr
    return [
        {"rule": r["ruleId"], "where": r["message"].get("arguments")}
        for r in json.loads(report.read_text())["runs"][0].get("results", [])
    ]


def _sarif_run(out: Path, refs: list[str], policies: str) -> dict:
    """`check --format sarif` of the refs, clean under the Multitool's rules; its run."""
    run_cli("check", *refs, "--champion", CHAMPION, "-p", policies, "--no-audit", "-f", "sarif", "-o", str(out))
    assert _multitool_findings(out) == []
    return json.loads(out.read_text())["runs"][0]


def test_sarif_of_a_failing_check_passes_the_multitool_github_rules(tmp_path):
    refs = [str(ROOT / "examples" / e) for e in ("credit-fail", "credit-warn")]
    run = _sarif_run(tmp_path / "pml.sarif", [*refs, str(_second_failing_version(tmp_path))], STARTER)
    assert run["automationDetails"]["id"].startswith("pml-policy/check/")
    assert all(rule["help"]["text"] and rule["help"]["markdown"] for rule in run["tool"]["driver"]["rules"])
    assert run["tool"]["driver"]["informationUri"].startswith("https://")
    auc = [r for r in run["results"] if r["ruleId"] == "promotion-gate/auc_floor"]
    assert len(auc) == 2  # both failing versions, at the same rule, file and line...
    assert len({json.dumps(r["partialFingerprints"]) for r in auc}) == 2  # ...are two alerts
    location = auc[0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": "policies/starter/promotion.pml", "uriBaseId": "%SRCROOT%"}


def test_sarif_names_policies_outside_the_working_folder_by_a_base_not_by_the_runners_disk(tmp_path, monkeypatch):
    shutil.copytree(ROOT / "policies" / "starter", tmp_path / "shared" / "policies")
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    refs = [str(ROOT / "examples" / "credit-fail")]
    run = _sarif_run(tmp_path / "work" / "pml.sarif", refs, str(tmp_path / "shared" / "policies"))
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]}
    assert uris and not [u for u in uris if u.startswith("/") or ":" in u]
    assert run["originalUriBaseIds"]["POLICIES"]["uri"] == (tmp_path / "shared" / "policies").as_uri() + "/"


def _xsd_errors(xml: Path) -> list[str]:
    schema = xmlschema.XMLSchema(str(junit_schema()))
    return [f"{e.path}: {e.reason}" for e in schema.iter_errors(str(xml))]


def test_junit_of_failures_errors_and_skips_validates_against_junit_10_xsd(tmp_path):
    missing = tmp_path / "missing-metrics"
    missing.mkdir()
    (missing / "pml.yaml").write_text("model: {name: credit-scorer, version: 3}\n")
    out = tmp_path / "pml.xml"
    refs = [str(ROOT / "examples" / e) for e in ("credit-fail", "churn-dvc")] + [str(missing)]
    run_cli("check", *refs, "--champion", CHAMPION, "-p", STARTER, "--no-audit", "-f", "junit", "-o", str(out))
    assert _xsd_errors(out) == []
    text = out.read_text()
    assert "<failure" in text and "<error" in text and "<skipped" in text
    assert "\\n" not in text and "\nrequired: metrics.val_auc &gt;= 0.80</failure>" in text  # real line breaks
    cases = [(case.get("classname"), case.get("name")) for case in ET.parse(out).getroot().iter("testcase")]
    assert len(cases) == len(set(cases)) == 30  # one identity per (subject, policy, rule)
    assert all(name.count("/") == 0 for _, name in cases)


def test_sarif_of_an_analysis_passes_the_multitool_github_rules(tmp_path):
    """`analyze --format sarif`: what code scanning shows on a policy file, related rules included."""
    pytest.importorskip("z3", reason="pml-policy[analyze] is not installed")
    out = tmp_path / "analysis.sarif"
    corpus = ROOT / "tests" / "data" / "analysis"
    run_cli("analyze", str(corpus / "conflict.pml"), str(corpus / "never_fails.pml"), "-f", "sarif", "-o", str(out))
    assert _multitool_findings(out) == []
    run = json.loads(out.read_text())["runs"][0]
    assert run["automationDetails"]["id"] == "pml-policy/analyze/"
    assert {r["ruleId"] for r in run["results"]} >= {"pml-analyze/conflict", "pml-analyze/never_fails"}
