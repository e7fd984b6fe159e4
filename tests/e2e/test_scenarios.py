"""`pml-policy test` and the step library, run as a user runs them: the real command in a subprocess,
on feature files in a folder of their own (and the project's features/ against the starter policies)."""

from __future__ import annotations

import json
import re
import shutil

import pytest
import xmlschema

from pml_policy.scenarios.vocabulary import STEPS

from ..helpers import ROOT, run_cli
from ..support.consumers import junit_schema
from ..support.scenarios import GUIDE, feature, pml_test

CANDIDATE = """Feature: Gate
  Background:
    Given a candidate "credit-scorer" version 8 with
      | evidence                    | value |
      | metrics.val_auc             | 0.86  |
      | metrics.val_auc_slice_young | 0.82  |
      | metrics.val_ece             | 3%    |
"""


def test_the_guide_first_scenario_passes_then_catches_a_raised_threshold_then_shows_coverage(repo):
    first = re.search(r"```gherkin[^\n]*\n(.*?)```", GUIDE.read_text(), re.S).group(1)
    feature(repo, first, "promotion.feature")

    ok = pml_test(cwd=repo)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "✔ A model with a good AUC is promoted" in ok.stdout
    assert "1 scenario: 1 passed, 0 failed, 0 in error" in ok.stdout

    policy = repo / "policies" / "promotion.pml"
    policy.write_text(policy.read_text().replace(">= 0.80", ">= 0.90"))
    broken = pml_test(cwd=repo)
    assert broken.returncode == 1
    assert "✘ A model with a good AUC is promoted" in broken.stdout
    assert "Then the decision is pass    (features/promotion.feature:11)" in broken.stdout
    assert "promotion-gate/auc_floor fails (hard): metrics.val_auc = 0.86, required >= 0.90" in broken.stdout

    policy.write_text(policy.read_text().replace(">= 0.90", ">= 0.80"))
    covered = pml_test("--coverage", cwd=repo)
    assert covered.returncode == 0
    assert "Rule coverage: 3 of 8 outcomes seen (37.5%)" in covered.stdout
    assert "promotion-gate/no_regression never seen to pass or fail" in covered.stdout
    assert "promotion-gate/auc_floor never seen to fail" in covered.stdout


def test_a_failed_rule_expectation_names_the_rule_and_the_values(repo):
    feature(
        repo,
        CANDIDATE
        + """
  Scenario: The floor
    Given the candidate has metrics
      | metric  | value |
      | val_auc | 0.79  |
    When the policy "promotion-gate" is evaluated
    Then the rule "auc_floor" passes
""",
    )
    out = pml_test(cwd=repo)
    assert out.returncode == 1
    assert (
        "the rule promotion-gate/auc_floor fails; the scenario says it passes: metrics.val_auc = 0.79, required >= 0.80"
        in out.stdout
    )


def test_an_undefined_step_is_quoted_with_the_closest_defined_ones(repo):
    feature(
        repo,
        CANDIDATE
        + """
  Scenario: A typo
    When the policy "promotion-gate" is evaluated
    Then the rule "auc_floor" pases
""",
    )
    out = pml_test(cwd=repo)
    assert out.returncode == 2
    assert 'Then the rule "auc_floor" pases    (features/f.feature:11)' in out.stdout
    assert "this step is not in the vocabulary" in out.stdout
    suggestions = out.stdout.split("the closest defined steps:")[1].splitlines()
    assert suggestions[1].strip() == 'Then the rule "auc_floor" passes'


@pytest.mark.parametrize(
    "steps, words",
    [
        (
            'When the policy "promotion" is evaluated',
            'no policy "promotion" among the policies loaded from policies; did you mean "promotion-gate"?',
        ),
        (
            'When all policies are evaluated\n    Then the rule "promotion-gate/auc_flor" passes',
            'no rule "promotion-gate/auc_flor" in the policies loaded from policies; did you mean '
            '"promotion-gate/auc_floor"?',
        ),
        (
            'Given a waiver "W-1" for the rule "promotion-gate/calibraton"\n      | field | value |\n      | reason '
            "| r |",
            'no rule "promotion-gate/calibraton"',
        ),
        ("Then the decision is pass", "nothing has been evaluated yet"),
        (
            'When the policy "promotion-gate" is evaluated\n    Then the decision is maybe',
            'a decision is pass, warn, pending or fail, not "maybe"',
        ),
    ],
)
def test_a_scenario_that_cannot_run_as_written_says_what_and_where(repo, steps, words):
    path = feature(repo, CANDIDATE + "\n  Scenario: A mistake\n    " + steps + "\n")
    out = pml_test(cwd=repo)
    assert out.returncode == 2, out.stdout + out.stderr
    assert words in out.stdout
    assert re.search(r"\(features/f\.feature:1[01]\)", out.stdout), out.stdout
    assert "Traceback" not in out.stdout + out.stderr
    assert path.read_text().count("Scenario") == 1


def test_a_rule_two_loaded_policies_share_must_be_named_with_its_policy(repo):
    shutil.copy(ROOT / "policies" / "mlflow" / "champion-gate.pml", repo / "policies")
    feature(
        repo,
        CANDIDATE
        + """
  Scenario: Ambiguous
    When all policies are evaluated
    Then the rule "no_regression" is skipped
""",
    )
    out = pml_test(cwd=repo)
    assert out.returncode == 2
    assert 'the rule "no_regression" is in several policies: mlflow-champion-gate, promotion-gate' in out.stdout


def test_evidence_that_cannot_be_read_is_exit_3(repo):
    feature(
        repo,
        """Feature: Real evidence
  Scenario: A folder that is not there
    Given the local subject "runs/nope"
    When all policies are evaluated
""",
    )
    out = pml_test(cwd=repo)
    assert out.returncode == 3
    assert "runs/nope: evidence folder does not exist" in out.stdout


def test_a_malformed_feature_file_is_located_before_anything_runs(repo):
    feature(repo, CANDIDATE)
    feature(
        repo,
        'Feature: Broken\n  Scenario: One\n    Given a candidate "m" with\n      | a | b |\n      | c |\n',
        "broken.feature",
    )
    feature(
        repo,
        'Feature: Twice\n  Scenario: Same\n    Given a candidate "m"\n  Scenario: Same\n    Given a candidate "n"\n',
        "twice.feature",
    )
    out = pml_test(cwd=repo)
    assert out.returncode == 2
    assert "features/broken.feature:5: " in out.stderr and "inconsistent cell count" in out.stderr, out.stderr
    assert (
        'features/twice.feature:4: a second scenario named "Same" (the first is at line 2)' in out.stderr
    )  # it would never run
    # the file with a Background and no scenario would pass without checking anything
    assert "features/f.feature:1: the feature has no scenario: nothing would be checked" in out.stderr
    assert "3 problems in the feature files; no scenario was run" in out.stderr
    assert "Feature:" not in out.stdout
    assert "Traceback" not in out.stderr


def test_an_invalid_policy_stops_the_run_with_its_located_errors(repo):
    feature(
        repo, CANDIDATE + "  Scenario: Passes\n    When all policies are evaluated\n    Then the decision is pass\n"
    )
    (repo / "policies" / "bad.pml").write_text('policy "bad" version "1.0.0" { rule r { require metrics.x >= } }')
    out = pml_test(cwd=repo)
    assert out.returncode == 2
    assert "policies/bad.pml:1:" in out.stderr


def test_junit_xml_has_a_case_per_scenario_with_the_failure_message(repo):
    from junitparser import Error, Failure, JUnitXml

    feature(
        repo,
        CANDIDATE
        + """
  Scenario: Passes
    When the policy "promotion-gate" is evaluated
    Then the decision is pass

  Scenario: Fails
    When the policy "promotion-gate" is evaluated
    Then the decision is fail

  Scenario: In error
    Then the decision is pass
""",
    )
    out = pml_test("--junit-xml", "results.xml", cwd=repo)
    assert out.returncode == 2  # a mistake outranks a failure
    schema = xmlschema.XMLSchema(str(junit_schema()))  # the Jenkins/Ant schema, as CI servers read it
    assert [e.reason for e in schema.iter_errors(str(repo / "results.xml"))] == []
    assert "\\n" not in (repo / "results.xml").read_text()  # a message of several lines keeps its breaks
    suite = next(iter(JUnitXml.fromfile(str(repo / "results.xml"))))
    cases = {c.name: c for c in suite}
    assert set(cases) == {"Passes", "Fails", "In error"}
    assert cases["Passes"].is_passed
    (failure,) = cases["Fails"].result
    assert (
        isinstance(failure, Failure)
        and failure.message == "the decision is pass; the scenario expects fail: every rule passed or was skipped"
    )
    (error,) = cases["In error"].result
    assert isinstance(error, Error) and "nothing has been evaluated yet" in error.message


def test_min_coverage_fails_under_the_bar_and_coverage_json_says_what_was_seen(repo):
    feature(
        repo,
        CANDIDATE
        + """
  Scenario: Passes
    When the policy "promotion-gate" is evaluated
    Then the decision is pass
""",
    )
    out = pml_test("--min-coverage", "50", "--coverage-json", "coverage.json", cwd=repo)
    assert out.returncode == 1
    assert "rule coverage 37.5% is below --min-coverage 50%" in out.stderr
    report = json.loads((repo / "coverage.json").read_text())
    assert report["percent"] == 37.5
    seen = {r["rule"]: r["seen"] for r in report["rules"]}
    assert set(seen["auc_floor"]) == {"pass"} and seen["no_regression"] == {"skip": ["features/f.feature:9 Passes"]}
    assert pml_test("--min-coverage", "30", cwd=repo).returncode == 0


def test_tags_select_scenarios_and_selecting_none_is_not_a_pass(repo):
    feature(
        repo,
        CANDIDATE
        + """
  @quick
  Scenario: Tagged
    When the policy "promotion-gate" is evaluated
    Then the decision is pass

  Scenario: Untagged and wrong
    When the policy "promotion-gate" is evaluated
    Then the decision is fail
""",
    )
    tagged = pml_test("--tags", "quick", cwd=repo)
    assert tagged.returncode == 0 and "1 scenario: 1 passed" in tagged.stdout and "Untagged" not in tagged.stdout
    none = pml_test("--tags", "nothing_has_this", cwd=repo)
    assert none.returncode == 1 and "no scenario ran (--tags nothing_has_this matched none)" in none.stderr


def test_the_project_features_pin_down_every_starter_rule_both_ways():
    out = pml_test("features", "-p", "policies/starter", "--min-coverage", "100", cwd=ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    assert re.search(r"\d+ scenarios: \d+ passed, 0 failed, 0 in error", out.stdout)
    assert "Rule coverage: 62 of 62 outcomes seen (100%)" in out.stdout


def test_list_steps_prints_every_step_with_its_example():
    out = pml_test("--list-steps", cwd=ROOT)
    assert out.returncode == 0
    for step in STEPS.values():
        assert f"{step.keyword} {step.shown}" in out.stdout
        assert step.example.splitlines()[0] in out.stdout


def test_context_data_champion_evidence_and_no_action_steps(repo):
    (repo / "policies" / "ctx.pml").write_text("""policy "ctx" version "1.0.0" {
  applies to model "fraud-*"
  rule floor { enforce hard require metrics.recall >= data.floors.fraud }
  rule listed { enforce hard require tags.segment in data.segments }
  rule beats { enforce soft when champion exists require metrics.recall >= champion.metrics.recall }
}
""")
    feature(
        repo,
        '''Feature: Context data and champions
  Background:
    Given a candidate "fraud-detector" version 3 with
      | evidence       | value  |
      | metrics.recall | 0.83   |
      | tags.segment   | retail |

  Scenario: Thresholds from a table of context data
    Given the context data
      | key          | value            |
      | floors.fraud | 0.82             |
      | segments     | [retail, online] |
    When the policy "ctx" is evaluated
    Then the decision is pass
    And the rule "listed" passes
    And no action is planned

  Scenario: Thresholds from a YAML block
    Given the context data
      """
      floors: {fraud: 0.85}
      segments: [online]
      """
    When all policies are evaluated
    Then the rule "floor" fails
    And the message mentions "required >= data.floors.fraud = 0.85"
    And the rule "listed" fails

  Scenario: A champion given with its own evidence, then changed
    Given the context data
      | key          | value    |
      | floors.fraud | 0.5      |
      | segments     | [retail] |
    And a champion "fraud-detector" version 2 with
      | evidence       | value |
      | metrics.recall | 0.80  |
    And the champion has metrics
      | metric | value |
      | recall | 0.84  |
    When the policy "ctx" is evaluated
    Then the decision is fail
    And the rule "beats" fails
    And the message mentions "champion.metrics.recall = 0.84"
''',
    )
    out = pml_test("--coverage", cwd=repo)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "3 scenarios: 3 passed" in out.stdout
    assert re.search(r"ctx/beats +NO +yes \(1\) +skip \(2\)", out.stdout), out.stdout


def test_an_advisory_rule_that_fails_warns_and_a_section_table_names_its_section_once(repo):
    shutil.copy(ROOT / "policies" / "starter" / "documentation.pml", repo / "policies")
    feature(
        repo,
        """Feature: Documentation
  Scenario: A missing card warns
    Given a candidate "credit-scorer" version 8 with
      | metric  | value |
      | val_auc | 0.86  |
    And the artifact "model_card.md" is missing
    When the policy "documentation" is evaluated
    Then the rule "model_card" warns
    And the decision is warn

  Scenario: A hard rule that fails does not warn
    Given a candidate "credit-scorer" version 8 with
      | tag   | value |
      | owner | risk  |
    When the policy "promotion-gate" is evaluated
    Then the rule "auc_floor" warns
""",
    )
    out = pml_test(cwd=repo)
    assert "2 scenarios: 1 passed, 1 failed" in out.stdout, out.stdout + out.stderr
    assert "the rule promotion-gate/auc_floor errors; the scenario says it warns" in out.stdout


def test_a_sign_off_rule_is_covered_by_pass_and_pending_never_counted_as_a_failure(tmp_path):
    assert run_cli("init", str(tmp_path / "gov"), "--pack", "signoff").exit_code == 0
    out = pml_test("--coverage", "--coverage-json", "coverage.json", cwd=tmp_path / "gov")
    assert out.returncode == 0, out.stdout + out.stderr
    (rule,) = [
        r for r in json.loads((tmp_path / "gov" / "coverage.json").read_text())["rules"] if r["rule"] == "signoff"
    ]
    assert rule["goals"] == ["pass", "pending"] and "fail" not in rule["seen"]
    header, row = [line.split() for line in out.stdout.splitlines() if "also seen" in line or "/signoff " in line]
    assert header[:4] == ["rule", "pass", "fail", "pending"] and row[1:6] == ["yes", "(1)", "-", "yes", "(5)"]
