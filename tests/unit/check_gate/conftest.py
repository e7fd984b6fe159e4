"""Step definitions for the scenarios about `pml-policy check` itself (exit codes, output formats).

These drive the CLI, so they are project test code, not part of the step library users get."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from pytest_bdd import given, parsers, then, when

from tests.helpers import run_cli


@pytest.fixture
def gate(tmp_path):
    return {"policies": [], "champion": None, "result": None, "json": None, "run": None, "tmp": tmp_path}


@given("the starter policies")
def starter(gate):
    gate["policies"] = ["policies/starter"]


@given(parsers.parse('the champion "{ref}"'))
def champion(gate, ref):
    gate["champion"] = ref


@given(parsers.parse('policies that only cover models named "{pattern}"'))
def narrow_policies(gate, pattern):
    path = gate["tmp"] / "narrow.pml"
    path.write_text(f'policy "narrow" version "1.0.0" {{ applies to model "{pattern}" rule r {{ require true }} }}')
    gate["policies"] = [str(path)]


@given(parsers.parse('a run of "{model}" with metrics'))
def run_with_metrics(gate, model, datatable):
    folder = gate["tmp"] / "run"
    folder.mkdir()
    header, *rows = datatable
    metrics = {row[0]: float(row[1]) for row in rows}
    (folder / "metrics.json").write_text(json.dumps(metrics))
    (folder / "pml.yaml").write_text(f"model: {{name: {model}, version: 1}}\nrun: {{git_commit: abc1234}}\n")
    gate["run"] = str(folder)


def _check(gate, ref: str, extra: str = "") -> None:
    args = ["check", ref]
    for p in gate["policies"]:
        args += ["-p", p]
    if gate["champion"]:
        args += ["--champion", gate["champion"]]
    args += shlex.split(extra)
    gate["result"] = run_cli(*args)
    if "--format" not in extra:
        # The same check as JSON, to read each rule's result exactly.
        report = Path(gate["tmp"]) / "decision.json"
        run_cli(*args, "--format", "json", "--output", str(report))
        gate["json"] = json.loads(report.read_text()) if report.exists() else None


@when(parsers.parse('I check "{ref}" with "{extra}"'))
def check_with(gate, ref, extra):
    _check(gate, ref, extra)


@when(parsers.parse('I check "{ref}"'))
def check(gate, ref):
    _check(gate, ref)


@when("I check that run")
def check_run(gate):
    _check(gate, gate["run"])


@then(parsers.parse("the exit code is {code:d}"))
def exit_code(gate, code):
    assert gate["result"].exit_code == code, gate["result"].output


@then(parsers.parse('the decision is "{outcome}"'))
def decision(gate, outcome):
    assert gate["json"]["outcome"] == outcome
    assert f"=> {outcome.upper()}" in gate["result"].stdout


def _rule(gate, ref: str) -> dict:
    policy, rule = ref.split("/")
    for d in gate["json"]["decisions"]:
        for p in d["policies"]:
            for r in p["rules"]:
                if (r["policy"], r["rule"]) == (policy, rule):
                    return r
    raise AssertionError(f"no result for {ref}")


@then(parsers.re(r'the rule "(?P<ref>[^"]+)" is "(?P<outcome>\w+)" with (?P<q>["\'])(?P<text>.+)(?P=q)$'))
def rule_result(gate, ref, outcome, q, text):
    r = _rule(gate, ref)
    assert r["outcome"] == outcome, r
    assert text in r["message"], r["message"]
    assert text in gate["result"].stdout


@then(parsers.re(r"the planned actions include '(?P<action>.+)'$"))
def planned(gate, action):
    assert f"planned: {action} (not applied)" in gate["result"].stdout


@then(parsers.parse('the error says "{text}"'))
def error_says(gate, text):
    assert text in gate["result"].stderr
    assert "Traceback" not in gate["result"].output


@then(parsers.parse('the output contains "{marker}"'))
def output_contains(gate, marker):
    assert marker in gate["result"].stdout
