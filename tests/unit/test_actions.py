"""Actions follow the whole decision (DSL 1.1): an `on pass` action is planned only when the whole
decision passes or warns; otherwise it is listed as withheld, with the rule that blocked it."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pml_policy.engine import evaluate, load
from pml_policy.engine.formatter import fmt

from .. import strategies
from ..helpers import NOW, ROOT, run_cli, subject

GATE = """
policy "gate" version "1.0.0" {
  rule auc "AUC" { require metrics.auc >= 0.8 }
  on pass { set alias "champion"  set tag "gate" = "approved" }
  on fail { set tag "gate" = "rejected" }
}
"""


FAIRNESS = """
policy "fairness" version "1.0.0" {
  rule gap "Gap" { enforce {level} require metrics.gap <= 0.05 }
  on pass { set tag "fairness" = "ok" }
  on fail { set tag "fairness" = "failed" }
}
waiver "W-1" { policy "fairness" rule gap model "m" version "*" reason "known" approved by "cro" expires 2099-01-01 }
"""


def _decide(tmp_path, level: str, auc: float, gap: float):
    (tmp_path / "1-gate.pml").write_text(GATE)
    (tmp_path / "2-fairness.pml").write_text(FAIRNESS.replace("{level}", level))
    return evaluate(load([tmp_path]), subject(metrics={"auc": auc, "gap": gap}), now=NOW)


def _texts(actions) -> list[str]:
    return [f"{a.policy}: {a.text}" + (f" <- {a.blocked_by}" if a.blocked_by else "") for a in actions]


ON_BLOCKS = ' on pass {{ set alias "champion"  set tag "s{i}" = "ok" }} on fail {{ set tag "s{i}" = "no" }} }}\n'


@pytest.mark.parametrize(
    ("level", "auc", "gap", "outcome", "planned", "withheld"),
    [
        (
            "hard",
            0.9,
            0.01,
            "pass",
            ['gate: set alias "champion"', 'gate: set tag "gate" = "approved"', 'fairness: set tag "fairness" = "ok"'],
            [],
        ),
        # the gate passed, fairness (hard) failed: the gate's approval and alias are withheld
        (
            "hard",
            0.9,
            0.09,
            "fail",
            ['fairness: set tag "fairness" = "failed"'],
            ['gate: set alias "champion" <- fairness/gap', 'gate: set tag "gate" = "approved" <- fairness/gap'],
        ),
        # the gate failed: its own on fail stands, fairness's approval is withheld
        (
            "hard",
            0.7,
            0.01,
            "fail",
            ['gate: set tag "gate" = "rejected"'],
            ['fairness: set tag "fairness" = "ok" <- gate/auc'],
        ),
        (
            "hard",
            0.7,
            0.09,
            "fail",
            ['gate: set tag "gate" = "rejected"', 'fairness: set tag "fairness" = "failed"'],
            [],
        ),
        # an advisory failure only warns: the decision warns and everything of `on pass` is planned
        (
            "advisory",
            0.9,
            0.09,
            "warn",
            ['gate: set alias "champion"', 'gate: set tag "gate" = "approved"', 'fairness: set tag "fairness" = "ok"'],
            [],
        ),
        # a waived soft failure warns too
        (
            "soft",
            0.9,
            0.09,
            "warn",
            ['gate: set alias "champion"', 'gate: set tag "gate" = "approved"', 'fairness: set tag "fairness" = "ok"'],
            [],
        ),
    ],
)
def test_each_mix_of_outcomes_plans_and_withholds_as_the_language_says(
    tmp_path, level, auc, gap, outcome, planned, withheld
):
    d = _decide(tmp_path, level, auc, gap)
    assert d.outcome == outcome
    assert _texts(d.actions) == planned
    assert _texts(d.withheld) == withheld


def test_a_failing_folder_never_plans_the_approval_in_any_output(tmp_path):
    """The bug as a new user met it: no use_case tag, the fairness rule errors, the gate passes."""
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "metrics.json").write_text((ROOT / "examples/credit-pass/metrics.json").read_text())
    (folder / "pml.yaml").write_text(
        'model: {name: credit-scorer, version: 9}\nrun: {git_commit: 3e1d0c9f77ab}\ntags: {data.version: "2026-10"}\n'
    )
    text = run_cli("check", str(folder), "-p", "policies/starter")
    assert text.exit_code == 1 and "=> FAIL" in text.stdout
    assert (
        "planned: set alias" not in text.stdout
        and 'planned: set tag "governance.status" = "approved"' not in text.stdout
    )
    assert 'withheld: set alias "champion" (blocked by fairness-high-risk/parity_gap)' in text.stdout
    doc = json.loads(run_cli("check", str(folder), "-p", "policies/starter", "-f", "json").stdout)
    actions = [a for p in doc["decisions"][0]["policies"] for a in p["actions"]]
    assert {(a["name"], a["state"]) for a in actions} == {("champion", "withheld"), ("governance.status", "withheld")}
    md = run_cli("check", str(folder), "-p", "policies/starter", "-f", "markdown").stdout
    assert "Planned actions" not in md and "Withheld (the decision failed)" in md
    shown = run_cli("audit", "show", "#1").stdout  # the log says withheld too
    assert "withheld:" in shown and "planned: set alias" not in shown


@given(
    st.lists(strategies.valid_policies(), min_size=1, max_size=3),
    st.dictionaries(st.sampled_from(["a", "b", "auc_slice_x", "auc_y"]), st.floats(-2, 2), max_size=4),
)
def test_no_generated_decision_that_fails_plans_an_on_pass_action(tmp_path_factory, trees, metrics):
    folder = tmp_path_factory.mktemp("gen")
    for i, tree in enumerate(trees):
        text = fmt(tree).replace('policy "generated"', f'policy "g{i}"', 1).rstrip()
        assert text.endswith("}")
        (folder / f"g{i}.pml").write_text(text[:-1] + ON_BLOCKS.format(i=i))
    d = evaluate(load([folder]), subject(metrics=metrics, tags={"t": "1"}, artifacts=("model_card.md",)), now=NOW)
    if d.outcome == "fail":
        assert all(a.value == "no" for a in d.actions), _texts(d.actions)  # only `on fail` actions
        assert all(a.blocked_by for a in d.withheld)
    else:
        assert d.withheld == [] and len(d.actions) == 2 * len(trees)
