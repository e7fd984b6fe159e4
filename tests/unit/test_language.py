"""Parsing and checking: every error located, explained, and collected; nothing else ever raised."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pml_policy.base.errors import PolicyError
from pml_policy.engine import ast, evaluate
from pml_policy.engine.formatter import fmt
from pml_policy.engine.loader import load, parse_and_check
from pml_policy.engine.parser import parse

from .. import strategies
from ..helpers import NOW, ROOT, run_cli, subject


def errors_of(tmp_path, text: str) -> list:
    f = tmp_path / "p.pml"
    f.write_text(text)
    return parse_and_check([f])[1]


def only_error(tmp_path, text: str):
    errors = errors_of(tmp_path, text)
    assert len(errors) == 1, [e.render() for e in errors]
    return errors[0]


TOKENS = [
    "policy",
    "rule",
    "waiver",
    "fact",
    "when",
    "require",
    "enforce",
    "on",
    "pass",
    "set",
    "alias",
    "tag",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ",",
    ".",
    "=",
    "==",
    ">=",
    "<",
    "and",
    "or",
    "not",
    "in",
    "matches",
    "exists",
    "missing",
    "all",
    "metrics",
    "matching",
    "artifact",
    '"s"',
    "1",
    "2.5",
    "5%",
    "2027-01-31",
    "x",
    "metrics.a",
    "#c\n",
    "\n",
    "-",
    "+",
    "*",
    "/",
    "version",
    '"1.0.0"',
    "rank",
    "by",
    "desc",
]


FUZZ = settings(suppress_health_check=[HealthCheck.too_slow])  # examples: the Hypothesis profile (conftest.py)


METRICS = st.dictionaries(
    st.sampled_from(["a", "b", "auc_slice_x", "auc_y"]),
    st.one_of(st.floats(), st.integers(-5, 5), st.text(max_size=2), st.none(), st.booleans()),
)


def test_the_dsl_example_parses_into_the_documented_shape():
    f = parse((ROOT / "tests/data/dsl_example.pml").read_text())
    (policy,) = f.policies
    (waiver,) = f.waivers
    assert (policy.name, policy.version, policy.applies[0].pattern) == ("credit-promotion", "2.1.0", "credit-*")
    assert [r.id for r in policy.rules] == ["auc_floor", "no_regression", "fairness", "slices", "model_card"]
    assert [r.level for r in policy.rules] == ["hard", "soft", "hard", "hard", "advisory"]
    assert isinstance(policy.rules[3].require.expr, ast.Quantifier)
    assert policy.rank.order == "desc"
    assert [a.alias for a in policy.on_pass.actions if isinstance(a, ast.SetAlias)] == ["champion"]
    assert (waiver.model.model, waiver.model.version, waiver.expires.date) == (
        "credit-scorer",
        "7",
        dt.date(2027, 1, 31),
    )


def test_percent_dates_and_precedence():
    e = (
        parse('policy "p" version "1.0.0" { rule r { require not a.b + 2 * 3 > 5% or x.y and z.w } }')
        .policies[0]
        .rules[0]
        .require.expr
    )
    assert isinstance(e, ast.Binary) and e.op == "or"
    left = e.left
    assert isinstance(left, ast.Unary) and left.op == "not"
    cmp = left.operand
    assert cmp.op == ">" and cmp.right.value == pytest.approx(0.05)
    assert cmp.left.op == "+" and cmp.left.right.op == "*"


def test_a_syntax_error_is_located_with_the_line_a_caret_and_what_was_expected(tmp_path):
    e = only_error(tmp_path, 'policy "p" version "1.0.0" {\n  rule r {\n    require metrics.a >=\n  }\n}\n')
    assert (e.line, e.column) == (4, 3)
    rendered = e.render()
    assert f"{tmp_path / 'p.pml'}:4:3: error: unexpected" in rendered
    assert "    4 |   }" in rendered and "|   ^" in rendered
    assert "expected" in e.hint and "a number" in e.hint


@pytest.mark.parametrize(
    "body, message, hint",
    [
        ("rule r { require metric.a > 1 }", 'unknown name "metric"', 'did you mean "metrics"?'),
        ("rule r { require lenn(model.aliases) > 1 }", 'unknown function "lenn"', 'did you mean "len"?'),
        ('rule r { require model.nme == "x" }', 'unknown field "model.nme"', 'did you mean "name"?'),
        (
            "rule r { require champion.metric.a > 1 }",
            'unknown champion path "champion.metric"',
            'did you mean "metrics"?',
        ),
        ("rule r { enforce sof require true }", 'unknown enforcement level "sof"', 'did you mean "soft"?'),
        ("rule r { require round(1, 2, 3) > 1 }", "round() takes 1 to 2 arguments, got 3", None),
        ('rule r { require tags.a matches "(" }', 'invalid regular expression "("', None),
        ("rule r { when true }", 'rule "r" has no require', "add: require EXPRESSION"),
        ("rule r { require metrics > 1 }", "metrics needs exactly one name after it", None),
        ("fact metrics = 1 rule r { require true }", '"metrics" is a subject path', None),
        ("rule r { require true require false }", '"require" is written twice in this rule', None),
    ],
)
def test_check_errors_explain_and_suggest(tmp_path, body, message, hint):
    e = only_error(tmp_path, f'policy "p" version "1.0.0" {{ {body} }}')
    assert message in e.message
    if hint:
        assert e.hint == hint


def test_malformed_versions_and_dates(tmp_path):
    assert (
        "is not a semantic version"
        in only_error(tmp_path, 'policy "p" version "2.1" { rule r { require true } }').message
    )
    e = only_error(tmp_path, 'policy "p" version "1.0.0" { rule r { require run.start_time > 2026-02-30 } }')
    assert e.message == "2026-02-30 is not a valid date"


def test_fact_cycles_are_named(tmp_path):
    e = only_error(tmp_path, 'policy "p" version "1.0.0" { fact a = b fact b = c fact c = a rule r { require a } }')
    assert "cycle: a -> b -> c -> a" in e.message


def test_waivers_must_name_real_policies_and_rules_and_be_complete(tmp_path):
    text = """
policy "gate" version "1.0.0" { rule auc_floor { require true } }
waiver "W1" { policy "gaet" rule auc_floor model "m" version 1 reason "r" approved by "a" expires 2027-01-01 }
waiver "W2" { policy "gate" rule auc_flor model "m" version 1 reason "r" approved by "a" expires 2027-01-01 }
waiver "W3" { policy "gate" rule auc_floor model "m" version 1 reason "r" }
"""
    errors = errors_of(tmp_path, text)
    by_message = {e.message: e for e in errors}
    assert by_message['waiver "W1" names policy "gaet", which does not exist'].hint == 'did you mean "gate"?'
    assert (
        by_message['waiver "W2" names rule "auc_flor", which policy "gate" does not have'].hint
        == 'did you mean "auc_floor"?'
    )
    assert 'waiver "W3" is missing: approved by "…"' in by_message
    assert 'waiver "W3" is missing: expires YYYY-MM-DD' in by_message


def test_one_policy_name_loaded_twice_is_an_error(tmp_path):
    (tmp_path / "a.pml").write_text('policy "gate" version "1.0.0" { rule r { require true } }')
    (tmp_path / "b.pml").write_text('policy "gate" version "1.1.0" { rule r { require true } }')
    with pytest.raises(PolicyError) as info:
        load([tmp_path])
    assert "defined twice (versions 1.0.0 and 1.1.0)" in info.value.errors[0].message


def test_validate_prints_every_error_of_every_file():
    result = run_cli("validate", "tests/data/five-mistakes")
    assert result.exit_code == 2
    located = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert len(located) == 5, result.stderr
    for fragment in ("duplicates.pml:3:3", "facts.pml:2:3", "names.pml:3:13", "quotes.pml:3:26", "waiver.pml:2:3"):
        assert any(fragment in line for line in located), fragment
    assert "5 errors in 5 of 5 files" in result.stderr


def test_validate_accepts_the_starter_library():
    result = run_cli("validate", "policies/")
    assert result.exit_code == 0
    assert "files OK" in result.stdout


@FUZZ
@given(st.one_of(st.text(), st.lists(st.sampled_from(TOKENS)).map(" ".join)))
def test_the_parser_raises_only_policy_errors(text):
    try:
        parse(text)
    except PolicyError as exc:
        assert exc.errors and all(e.line >= 1 and e.column >= 1 for e in exc.errors)


@FUZZ
@given(strategies.valid_policies(), METRICS, st.one_of(st.none(), METRICS), st.one_of(st.none(), st.text(max_size=3)))
def test_every_valid_policy_checks_clean_and_evaluates_to_a_verdict(tmp_path_factory, tree, metrics, champion, param):
    folder = tmp_path_factory.mktemp("gen")
    (folder / "g.pml").write_text(fmt(tree))
    policies = load([folder])  # a valid policy must not be rejected
    s = subject(
        metrics=metrics, params={} if param is None else {"p": param}, tags={"t": "1"}, artifacts=("model_card.md",)
    )
    decision = evaluate(policies, s, None if champion is None else subject(metrics=champion), data={"k": [1]}, now=NOW)
    assert decision.outcome in ("pass", "warn", "fail")
    for r in decision.rules:
        assert r.outcome in ("pass", "fail", "skip", "error") and r.message
