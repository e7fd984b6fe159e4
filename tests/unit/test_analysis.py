"""`pml-policy analyze`: a corpus of policies with known properties, each finding located, and each
witness evidence on which `pml-policy check` decides the way the finding says."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

pytest.importorskip("z3", reason="pml-policy[analyze] is not installed")

from ..helpers import ROOT, run_cli  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "analysis"

# file -> {(kind, severity, "policy/rule" or "policy", line)}: every finding, and nothing else.
EXPECTED = {
    "unsatisfiable.pml": {
        ("unsatisfiable", "error", "credit-gate/band", 4),
        ("unsatisfiable", "warning", "credit-gate/fresh", 7),  # advisory: a warning
        ("unsatisfiable", "error", "credit-gate/commit", 11),  # RE2 patterns, as z3 regexes
        ("unsatisfiable", "error", "credit-gate/slices", 14),  # quantifiers over a bounded family
    },
    "never_fails.pml": {
        ("never_fails", "warning", "tautologies/either", 2),
        ("when_always", "warning", "tautologies/guarded", 5),
        ("never_fails", "warning", "tautologies/guarded", 5),
        ("when_never", "warning", "tautologies/never", 9),  # only this: not also "cannot pass"
    },
    "redundant.pml": {("redundant", "warning", "quality/loose", 5)},
    "conflict.pml": {
        ("conflict", "error", "credit-quality/auc_floor", 4),
        ("on_pass_unreachable", "warning", "credit-simplicity", 18),
    },
    "conflict3.pml": {("conflict", "error", "floor/auc", 3)},  # each pair can pass: the three cannot
    "waivers.pml": {
        ("waiver_unreachable", "warning", "credit-gate/parity", 12),
        ("waiver_hard", "warning", "credit-gate/floor", 20),
    },
}


def _analyze(*args: str) -> tuple[int, dict]:
    done = run_cli("analyze", *args, "-f", "json")
    return done.exit_code, json.loads(done.stdout)


def _where(f: dict) -> str:
    return f"{f['place']['policy']}/{f['place']['rule']}" if f["place"]["rule"] else f["place"]["policy"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_kind_of_finding_is_found_where_it_is_and_nothing_else(name: str) -> None:
    code, analysis = _analyze(str(CORPUS / name))
    found = {(f["kind"], f["severity"], _where(f), f["place"]["line"]) for f in analysis["findings"]}
    assert found == EXPECTED[name]
    assert code == (1 if any(severity == "error" for _, severity, _, _ in EXPECTED[name]) else 0)


def test_the_shipped_packs_alone_have_nothing_to_report() -> None:
    for pack in ("starter", "production", "signoff", "eu-ai-act", "mlflow", "sagemaker"):
        code, analysis = _analyze(str(ROOT / "policies" / pack))
        assert (code, analysis["findings"]) == (0, []), pack


def test_a_conflict_names_the_smallest_set_of_rules_and_a_witness_check_decides_so(tmp_path: Path) -> None:
    _, analysis = _analyze(str(CORPUS / "conflict.pml"))
    conflict = next(f for f in analysis["findings"] if f["kind"] == "conflict")
    # documented and churn-quality play no part: the two AUC bounds alone conflict
    assert "credit-quality/auc_floor, credit-simplicity/small never pass together" in conflict["message"]
    assert [(r["policy"], r["rule"], r["line"]) for r in conflict["related"]] == [("credit-simplicity", "small", 14)]
    outcomes = _check_witness(tmp_path / "witness", conflict["witness"], CORPUS / "conflict.pml")
    assert outcomes["credit-quality/auc_floor"] == "pass" and outcomes["credit-simplicity/small"] == "fail"


@pytest.mark.parametrize("name", ["unsatisfiable.pml", "never_fails.pml", "conflict.pml"])
def test_every_witness_is_evidence_check_decides_as_the_finding_says(tmp_path: Path, name: str) -> None:
    _, analysis = _analyze(str(CORPUS / name))
    shown = [f for f in analysis["findings"] if f["witness"]]
    assert shown, "these findings all have witnesses"
    for i, f in enumerate(f for f in shown if f["kind"] != "conflict"):
        outcomes = _check_witness(tmp_path / str(i), f["witness"], CORPUS / name)
        rule, _, outcome = f["shows"].rpartition(": ")[2].partition(" is ")
        assert outcomes[rule] == outcome, (f["message"], f["witness"], outcomes)


def _check_witness(folder: Path, witness: str, policies: Path) -> dict[str, str]:
    """The witness (pml.yaml with its metrics inline) as an evidence folder, decided by `check`."""
    folder.mkdir(parents=True)
    manifest = yaml.safe_load(witness)
    assert set(manifest) <= {"model", "run", "tags", "params", "metrics"}, "a plain pml.yaml"
    (folder / "pml.yaml").write_text(yaml.safe_dump(manifest))
    done = run_cli("check", str(folder), "-p", str(policies), "--no-audit", "-f", "json")
    decision = json.loads(done.stdout)["decisions"][0]
    return {f"{p['name']}/{r['rule']}": r["outcome"] for p in decision["policies"] for r in p["rules"]}


def test_fail_on_warn_blocks_on_warnings_too() -> None:
    assert run_cli("analyze", str(CORPUS / "redundant.pml")).exit_code == 0
    assert run_cli("analyze", str(CORPUS / "redundant.pml"), "--fail-on", "warn").exit_code == 1


def test_bad_input_is_one_located_error_and_exit_2(tmp_path: Path) -> None:
    broken = tmp_path / "broken.pml"
    broken.write_text('policy "p" version "1.0.0" {\n  rule r { require metrics.a >= }\n}\n')
    done = run_cli("analyze", str(broken))
    assert done.exit_code == 2 and f"{broken}:2:" in done.stderr and "Traceback" not in done.stderr
    missing = run_cli("analyze", str(tmp_path / "nowhere"))
    assert missing.exit_code == 2 and "policy path not found" in missing.stderr


def test_without_the_solver_installed_it_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "z3", None)  # import z3 raises ImportError, as without the extra
    done = run_cli("analyze", str(CORPUS / "redundant.pml"))
    assert done.exit_code == 2
    assert "needs the z3 solver" in done.stderr and "pip install 'pml-policy[analyze]'" in done.stderr


def test_what_is_not_modelled_takes_any_value_and_a_finding_on_it_says_so(tmp_path: Path) -> None:
    policy = tmp_path / "unknowns.pml"
    policy.write_text(
        'policy "p" version "1.0.0" {\n'
        "  rule floors { require metrics.auc >= pick(data.floors, tags.use_case) }\n"  # may pass or fail
        '  rule drift { require drifted(monitoring.columns, ["income"]) == []'
        ' and drifted(monitoring.columns, ["income"]) != [] }\n'  # never, whatever drifted() gives
        "}\n"
    )
    code, analysis = _analyze(str(policy))
    assert code == 1 and [(f["kind"], f["place"]["rule"]) for f in analysis["findings"]] == [("unsatisfiable", "drift")]
    drift = analysis["findings"][0]
    assert drift["assumes"] == ["drifted()"]
    # no evidence can make drifted() fail it (its value is not modelled): the witness shows it erroring
    assert drift["shows"] == "the rule errors: p/drift is error" and drift["witness"] is not None


def test_validate_analyze_runs_the_analysis_after_the_checks() -> None:
    done = run_cli("validate", "--analyze", str(CORPUS / "conflict.pml"))
    assert done.exit_code == 1 and "1 files OK" in done.stdout and "[conflict]" in done.stdout
    assert run_cli("validate", "--analyze", str(ROOT / "policies" / "starter")).exit_code == 0


def test_sarif_locates_each_finding_in_its_policy_file(tmp_path: Path) -> None:
    out = tmp_path / "analysis.sarif"
    done = run_cli("analyze", str(CORPUS / "conflict.pml"), "-f", "sarif", "-o", str(out))
    assert done.exit_code == 1 and f"sarif written to {out}" in done.stdout
    run = json.loads(out.read_text())["runs"][0]
    results = {r["ruleId"]: r for r in run["results"]}
    conflict = results["pml-analyze/conflict"]
    assert conflict["level"] == "error" and conflict["locations"][0]["physicalLocation"]["region"]["startLine"] == 4
    assert conflict["relatedLocations"][0]["physicalLocation"]["region"]["startLine"] == 14
    assert "Witness" in conflict["message"]["text"]


def test_what_the_solver_does_not_decide_in_time_is_reported_never_proved() -> None:
    from pml_policy.analysis.analyzing import analyze
    from pml_policy.analysis.semantic import diff

    spent = analyze([CORPUS / "unsatisfiable.pml"], budget=0.0)  # no time at all: nothing decided
    assert [(f.kind, f.severity) for f in spent.findings] == [("unknown", "note")] and spent.unknown > 0
    assert spent.exit_code() == 0 and "raise --timeout or --budget" in spent.findings[0].message
    same = diff([CORPUS / "redundant.pml"], [CORPUS / "redundant.pml"], budget=0.0)
    assert not same.equivalent and same.undecided and same.exit_code == 1  # never "equivalent" unproved


def test_a_rule_implied_by_a_waivable_rule_that_a_waiver_lifts_is_not_redundant(tmp_path: Path) -> None:
    policy = tmp_path / "p.pml"
    rules = (
        'policy "p" version "1.0.0" {\n'
        "  rule strict { enforce soft require metrics.auc >= 0.9 }\n"
        "  rule loose { enforce soft require metrics.auc >= 0.8 }\n"
        "}\n"
    )
    policy.write_text(rules)
    assert [f["place"]["rule"] for f in _analyze(str(policy))[1]["findings"]] == ["loose"]
    waiver = (
        'waiver "W" { policy "p" rule strict model "*" version "*"'
        ' reason "r" approved by "a@b.c" expires 2030-01-01 }\n'
    )
    policy.write_text(rules + waiver)  # where strict is waived, loose is all that is left
    assert _analyze(str(policy))[1]["findings"] == []
