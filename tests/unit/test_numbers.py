"""Fail closed on numbers: ±infinity, NaN and null are errors alike; strings that Python's float()
would take ("nan", "inf", "1_000") are not numbers; the grammar reads ASCII digits only; and the
recorded evidence reproduces every decision."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pml_policy.audit import Entry
from pml_policy.base.errors import PolicyError
from pml_policy.engine import evaluate, load
from pml_policy.usecases.replaying import replay
from pml_policy.usecases.workspace import Workspace

from ..helpers import NOW, outcome_of, rule_policy, run_cli, subject

EVIDENCE = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-10, 10),
    st.none(),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "nan", "0.9", "high"]),
)


REPLAYED = """
policy "p" version "1.0.0" {
  rule t "t" { require metrics.a >= 0.5 }
  rule e "e" { require metrics.b exists }
  rule m "m" { require metrics.c missing }
  rule q "q" { require all metrics matching "s_*" > 0 }
  rule p "p" { require params.lr >= 0.1 }
  rule x "x" { when champion exists require metrics.a >= champion.metrics.a - 0.01 }
}
"""


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan, None])
def test_non_finite_evidence_is_an_error_like_null(tmp_path, value):
    ps = rule_policy(tmp_path, "require metrics.auc >= 0.8")
    outcome, message = outcome_of(ps, subject(metrics={"auc": value}))
    assert outcome == "error" and message.startswith("missing evidence: metrics.auc is ")


def test_json_infinity_and_an_overflowing_number_read_from_a_folder_are_errors(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.json").write_text('{"a": Infinity, "b": 1e400, "c": -Infinity}')
    (run / "pml.yaml").write_text("model: {name: m}\n")
    (tmp_path / "p.pml").write_text(
        'policy "p" version "1.0.0" { rule a "a" { require metrics.a >= 0 } '
        'rule b "b" { require metrics.b >= 0 } rule c "c" { require metrics.c <= 0 } }'
    )
    result = run_cli("check", str(run), "-p", str(tmp_path / "p.pml"), "--no-audit")
    assert result.exit_code == 1
    assert result.stdout.count("ERROR") == 3 and "metrics.b is infinite" in result.stdout


@pytest.mark.parametrize("text", ["nan", "NaN", "inf", "-Infinity", "1_000", "١٢", "0x10", "", " "])
def test_strings_python_would_read_as_floats_are_not_numbers(tmp_path, text):
    ps = rule_policy(tmp_path, "require params.lr >= 1")
    outcome, message = outcome_of(ps, subject(params={"lr": text}))
    assert outcome == "error" and "is not a number" in message


@pytest.mark.parametrize(("text", "number"), [("3", 3), ("1e-5", 1e-5), ("-2.5", -2.5), (".5", 0.5), ("2.", 2.0)])
def test_params_in_plain_decimal_notation_are_numbers(tmp_path, text, number):
    ps = rule_policy(tmp_path, f"require params.lr == {number!r}")
    assert outcome_of(ps, subject(params={"lr": text}))[0] == "pass"


@pytest.mark.parametrize(
    ("literal", "expected"), [("৪", "unexpected character '৪'"), ("1e400", "the number 1e400 is too large")]
)
def test_the_grammar_reads_ascii_digits_and_finite_numbers_only(tmp_path, literal, expected):
    with pytest.raises(PolicyError) as caught:
        rule_policy(tmp_path, f"require metrics.auc >= {literal}")
    (error,) = caught.value.errors
    assert error.message == expected and error.line == 1 and error.column > 1


@given(
    st.dictionaries(st.sampled_from(["a", "b", "c", "s_1", "s_2"]), EVIDENCE, max_size=5),
    st.one_of(st.none(), st.dictionaries(st.just("a"), EVIDENCE)),
    st.sampled_from(["0.2", "nan", "1_000", "inf", "x"]),
)
def test_the_recorded_evidence_reproduces_every_decision(tmp_path_factory, metrics, champion, lr):
    """`explain --replay` of a recorded decision reaches the same outcome on every rule."""
    folder = tmp_path_factory.mktemp("replay")
    (folder / "p.pml").write_text(REPLAYED)
    policies = load([folder])
    s = subject(metrics=metrics, params={"lr": lr})
    c = subject(version="0", metrics=champion) if champion is not None else None
    decision = evaluate(policies, s, c, now=NOW)
    with Workspace.open(policies, audit_url=f"sqlite:///{folder}/audit.db") as ws:
        ws.append([Entry(decision, s, c)])
        replayed = replay(ws, "#1")
    assert replayed.now is not None
    assert [(r.ref, r.outcome) for r in replayed.now.rules] == [(r.ref, r.outcome) for r in decision.rules]
