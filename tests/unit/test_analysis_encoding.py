"""The analysis's formulas decide as the engine does: on generated rules and generated subjects,
the outcome the solver allows (pinned to the subject) is the one outcome the engine gives."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

z3 = pytest.importorskip("z3", reason="pml-policy[analyze] is not installed")

from pml_policy.analysis.encoding import encode_policy  # noqa: E402
from pml_policy.analysis.universe import Universe  # noqa: E402
from pml_policy.engine.loader import load  # noqa: E402
from pml_policy.engine.python_backend import PythonBackend  # noqa: E402
from tests.support.analysis import NOW, conditions, pinned, solver_outcomes, subjects, write_policy  # noqa: E402


def _decide(when: str | None, require: str, subject, champion) -> tuple[str, list[str], set[str]]:  # noqa: ANN001
    with tempfile.TemporaryDirectory() as tmp:
        policies = load([write_policy(Path(tmp), [(when, require)])])
    decision = PythonBackend().evaluate(policies, subject, champion, {}, NOW)
    engine = decision.policies[0].rules[0].outcome
    tree = policies.policies[0].tree
    u = Universe([tree])
    rule = encode_policy(u, tree, "generated.pml").rules[0]
    return engine, solver_outcomes(u, rule, pinned(u, subject, champion)), rule.assumes


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # examples: the profile's (ci: 300)
@given(
    when=st.one_of(st.none(), conditions),
    require=conditions,
    subject=subjects(),
    champion=st.one_of(st.none(), subjects("champion-")),
)
def test_the_formulas_decide_as_the_engine(when, require, subject, champion) -> None:  # noqa: ANN001
    engine, solver, assumes = _decide(when, require, subject, champion)
    if assumes:  # what is not modelled may take any value: the engine's is among those allowed
        assert engine in solver, f"when {when} require {require}: engine {engine}, formulas {solver}"
    else:
        assert solver == [engine], f"when {when} require {require}: engine {engine}, formulas {solver}"


@pytest.mark.parametrize(
    ("require", "metrics", "expected"),
    [
        # `and` stops at the first operand that decides: an error after a false is never met
        ("metrics.a > 1 and metrics.missing > 0", {"a": 0.5}, "fail"),
        ("metrics.missing > 0 and metrics.a > 1", {"a": 0.5}, "error"),
        ("metrics.a > 1 or metrics.missing > 0", {"a": 2.0}, "pass"),
        ('all metrics matching "s_*" >= 0.5', {"s_w1": 0.5, "s_w2": float("nan")}, "error"),
        ('any metrics matching "s_*" >= 0.5', {}, "error"),
    ],
)
def test_left_to_right_and_fail_closed(require: str, metrics: dict, expected: str) -> None:
    from pml_policy.engine.subject import ModelInfo, Subject

    subject = Subject(source="local", reference="r", model=ModelInfo(name="m"), metrics=metrics)
    engine, solver, _ = _decide(None, require, subject, None)
    assert (engine, solver) == (expected, [expected])
