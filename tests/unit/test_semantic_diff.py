"""`pml-policy diff`: equivalence proved, or a counterexample folder on which `pml-policy check`
decides a rule differently under OLD and NEW."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("z3", reason="pml-policy[analyze] is not installed")

from ..helpers import ROOT, run_cli  # noqa: E402

PROMOTION = ROOT / "policies" / "starter" / "promotion.pml"

# The starter promotion gate reordered, laid out differently and written another way: equivalent.
REWRITTEN = """policy "promotion-gate" version "1.0.1" {
  title "Promotion gate with a champion comparison"
  rule calibration "Calibration error is at most 5%" { enforce soft require not (metrics.val_ece > 0.05) }
  rule slices "Every data slice keeps its AUC at 0.75 or above" {
    require all metrics matching "val_auc_slice_*" >= 75%
  }
  rule no_regression "No AUC regression against the champion" {
    enforce soft
    when champion exists
    require metrics.val_auc + 0.005 >= champion.metrics.val_auc
  }
  rule auc_floor "Validation AUC is at least 0.80" { require 0.80 <= metrics.val_auc }
  rank by metrics.val_auc desc
  on pass { set alias "champion" set tag "governance.status" = "approved" }
  on fail { set tag "governance.status" = "rejected" }
}
"""


def _sets(tmp_path: Path, old: str, new: str) -> tuple[Path, Path]:
    for name, text in (("old", old), ("new", new)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "policy.pml").write_text(text)
    return tmp_path / "old", tmp_path / "new"


def _diff(*args: str) -> tuple[int, dict]:
    done = run_cli("diff", *args, "-f", "json")
    return done.exit_code, json.loads(done.stdout) if done.stdout else {}


def check_outcomes(args: list[str], policies: Path) -> dict[str, str]:
    """What `pml-policy check` decides, rule by rule, on an example's arguments."""
    done = run_cli("check", *args, "-p", str(policies), "--no-audit", "-f", "json")
    decision = json.loads(done.stdout)["decisions"][0]
    return {f"{p['name']}/{r['rule']}": r["outcome"] for p in decision["policies"] for r in p["rules"]}


def test_a_reformatted_and_reordered_policy_is_proved_equivalent(tmp_path: Path) -> None:
    old, new = _sets(tmp_path, PROMOTION.read_text(), REWRITTEN)
    code, diff = _diff(str(old), str(new))
    assert (code, diff["equivalent"], diff["differences"], diff["undecided"]) == (0, True, [], [])
    text = run_cli("diff", str(old), str(new)).stdout
    assert text.splitlines()[-1].startswith("equivalent: every subject gets the same outcome")


def test_a_changed_threshold_comes_with_an_example_check_decides_differently(tmp_path: Path) -> None:
    old, new = _sets(tmp_path, PROMOTION.read_text(), PROMOTION.read_text().replace(">= 0.80", ">= 0.82"))
    examples = tmp_path / "examples"
    code, diff = _diff(str(old), str(new), "--write-example", str(examples))
    assert code == 1 and not diff["equivalent"]
    (difference,) = diff["differences"]
    assert (difference["policy"], difference["rule"], difference["change"]) == (
        "promotion-gate",
        "auc_floor",
        "verdicts",
    )
    assert (difference["old"], difference["new"]) == ("pass", "fail")
    folder = examples / "promotion-gate.auc_floor"
    assert difference["example"] == str(folder) and (folder / "pml.yaml").is_file()
    assert json.loads((folder / "metrics.json").read_text())["val_auc"] < 0.82
    assert check_outcomes(difference["check"], old)["promotion-gate/auc_floor"] == "pass"
    assert check_outcomes(difference["check"], new)["promotion-gate/auc_floor"] == "fail"
    readme = (folder / "README").read_text()
    assert readme.count("\n") == 1 and f"pml-policy check {folder} -p {old}" in readme and f"-p {new}" in readme


def test_and_is_read_left_to_right_so_swapping_its_operands_can_change_a_verdict(tmp_path: Path) -> None:
    rule = 'policy "p" version "1.0.0" {{ rule r {{ require {} }} }}\n'
    old, new = _sets(
        tmp_path, rule.format("metrics.a > 1 and metrics.b > 0"), rule.format("metrics.b > 0 and metrics.a > 1")
    )
    code, diff = _diff(str(old), str(new), "--write-example", str(tmp_path / "ex"))
    (difference,) = diff["differences"]
    assert code == 1 and {difference["old"], difference["new"]} <= {"fail", "error"}
    assert check_outcomes(difference["check"], old)["p/r"] != check_outcomes(difference["check"], new)["p/r"]


def test_added_removed_rescoped_and_re_enforced(tmp_path: Path) -> None:
    old, new = _sets(
        tmp_path,
        'policy "p" version "1.0.0" { rule a { require metrics.a > 0 } rule gone { require metrics.g > 0 } }\n',
        'policy "p" version "1.1.0" { applies to model "credit-*"'
        " rule a { enforce soft require metrics.a > 0 } rule new { require metrics.n > 0 } }\n"
        'waiver "W" { policy "p" rule a model "credit-x" version "*" reason "r" approved by "x@y.z"'
        " expires 2030-01-01 }\n",
    )
    code, diff = _diff(str(old), str(new))
    found = {(d["policy"], d["rule"], d["change"]) for d in diff["differences"]}
    assert code == 1 and found == {
        ("p", None, "scope"),
        ("p", "a", "enforcement"),
        ("p", "gone", "removed"),
        ("p", "new", "added"),
        ("W", None, "waiver"),
    }


def test_bad_input_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    old, new = _sets(tmp_path, PROMOTION.read_text(), "policy {")
    broken = run_cli("diff", str(old), str(new))
    assert broken.exit_code == 2 and "policy.pml:1:" in broken.stderr
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "kept").write_text("")
    refused = run_cli("diff", str(old), str(old), "--write-example", str(busy))
    assert (
        refused.exit_code == 2 and "not an empty folder" in refused.stderr and sorted(busy.iterdir()) == [busy / "kept"]
    )
    assert run_cli("diff", str(old)).exit_code == 2


# ---- generated pairs -----------------------------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from pml_policy.analysis.semantic import diff  # noqa: E402
from pml_policy.engine.loader import load  # noqa: E402
from pml_policy.engine.python_backend import PythonBackend  # noqa: E402

from ..support.analysis import NOW, conditions, subjects, write_policy  # noqa: E402

MUTATIONS = {
    "same": lambda rules, other: rules,
    "reordered": lambda rules, other: list(reversed(rules)),
    "double negation": lambda rules, other: [(w, r, f"not (not ({c}))") for w, r, c in rules],
    "true and": lambda rules, other: [(w, r, f"true and ({c})") for w, r, c in rules],
    "replaced": lambda rules, other: [(w, r, other) for w, r, c in rules[:1]] + rules[1:],
    "guarded": lambda rules, other: [(other, r, c) for w, r, c in rules[:1]] + rules[1:],
    "swapped and": lambda rules, other: (
        [(w, r, f"({other}) and ({c})") for w, r, c in rules[:1]]
        + [(w, r, f"({c}) and ({other})") for w, r, c in rules[1:]]
    ),
}


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(
    rules=st.lists(st.tuples(st.one_of(st.none(), conditions), conditions), min_size=1, max_size=2),
    mutation=st.sampled_from(sorted(MUTATIONS)),
    other=conditions,
    evidence=st.lists(st.tuples(subjects(), st.one_of(st.none(), subjects("champion-"))), min_size=8, max_size=8),
)
def test_generated_pairs_every_example_is_decided_differently_and_every_equivalence_holds(
    tmp_path_factory: pytest.TempPathFactory,
    rules,
    mutation,
    other,
    evidence,  # noqa: ANN001
) -> None:
    tmp = tmp_path_factory.mktemp("pair")
    named = [(when, f"r{i}", require) for i, (when, require) in enumerate(rules)]
    changed = MUTATIONS[mutation](named, other)
    for side, triples in (("old", named), ("new", changed)):
        (tmp / side).mkdir()
        write_policy(tmp / side, [(w, c) for w, _, c in triples], ids=[r for _, r, _ in triples])
    result = diff([tmp / "old"], [tmp / "new"], tmp / "examples")
    old, new = load([tmp / "old"]), load([tmp / "new"])
    for d in result.differences:
        if d.example is None:
            continue  # said so (floating point, or what is not modelled): nothing written to check
        before, after = check_outcomes(d.check, tmp / "old"), check_outcomes(d.check, tmp / "new")
        key = f"{d.policy}/{d.rule}"
        assert before.get(key) != after.get(key), (mutation, d.message, before, after)
    if result.equivalent:
        for subject, champion in evidence:
            decided = [PythonBackend().evaluate(s, subject, champion, {}, NOW) for s in (old, new)]
            verdicts = [{r.rule: r.outcome for p in d.policies for r in p.rules} for d in decided]
            assert verdicts[0] == verdicts[1], (mutation, rules, other)
    if mutation in ("same", "reordered", "double negation", "true and"):
        assert result.equivalent or result.undecided, (mutation, [d.message for d in result.differences])
