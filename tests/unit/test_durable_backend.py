"""The durable_rules backend agrees with the compiled evaluator on every verdict, and stays safe."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pml_policy.adapters import fetch
from pml_policy.engine import evaluate, load
from pml_policy.engine.durable_backend import DurableBackend
from pml_policy.engine.formatter import fmt
from pml_policy.engine.python_backend import PythonBackend

from .. import strategies
from ..helpers import NOW, ROOT, rule_policy, subject

EXAMPLES = sorted(p for p in (ROOT / "examples").iterdir() if p.is_dir())


CORPUS = [ROOT / "policies", ROOT / "tests" / "corpus", ROOT / "tests" / "data" / "dsl_example.pml"]


def verdicts(decision) -> list[tuple[str, str, str, str]]:
    return [(r.policy, r.rule, r.outcome, r.message) for r in decision.rules] + [("*", "*", decision.outcome, "")]


@pytest.fixture(scope="module")
def durable():
    return DurableBackend()


def _corpus_subjects():
    subjects = [fetch(str(p)) for p in EXAMPLES]
    # The same evidence under other model names, versions and aliases, so that every policy applies.
    variants = []
    for s in subjects:
        for name, version, aliases in (
            ("credit-scorer", "7", ["challenger"]),
            ("credit-scorer", "1", []),
            ("churn-model", "99", ["x"]),
        ):
            variants.append(
                s.model_copy(
                    update={
                        "model": s.model.model_copy(update={"name": name, "version": version, "aliases": aliases}),
                        "digest": "",
                    }
                )
            )
    return subjects + variants


SETTINGS = settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


METRICS = st.dictionaries(
    st.sampled_from(["a", "b", "auc_slice_x", "auc_y"]),
    st.one_of(st.floats(allow_nan=False, allow_infinity=False, width=32), st.integers(-5, 5), st.text(max_size=2)),
)


@pytest.mark.parametrize("policy_path", CORPUS, ids=lambda p: p.name)
def test_both_backends_agree_on_the_corpus(durable, policy_path):
    policies = load([policy_path])
    python = PythonBackend()
    champions = [None, fetch(str(ROOT / "examples" / "credit-champion"))]
    compared = 0
    for s in _corpus_subjects():
        if not policies.applicable(s.model.name):
            continue
        for champion in champions:
            expected = python.evaluate(policies, s, champion, {"floors": {"credit": 0.8}}, NOW)
            actual = durable.evaluate(policies, s, champion, {"floors": {"credit": 0.8}}, NOW)
            assert verdicts(actual) == verdicts(expected), s.reference
            compared += 1
    assert compared >= 10


@SETTINGS
@given(
    strategies.valid_policies(),
    METRICS,
    st.one_of(st.none(), METRICS),
    st.sampled_from(["0.05", "x", "3"]),
    st.datetimes(min_value=dt.datetime(1999, 1, 1), max_value=dt.datetime(2101, 1, 1)),
)
@pytest.mark.slow
def test_both_backends_agree_on_generated_policies(durable, tmp_path_factory, tree, metrics, champion, param, start):
    folder = tmp_path_factory.mktemp("gen")
    (folder / "g.pml").write_text(fmt(tree))
    policies = load([folder])
    s = subject(
        metrics=metrics,
        params={"p": param},
        tags={"t": "1"},
        artifacts=("model_card.md",),
        run={"id": "r", "start_time": start},
        aliases=["a"],
    )
    c = None if champion is None else subject(metrics=champion)
    expected = evaluate(policies, s, c, {"k": [1]}, now=NOW)
    actual = durable.evaluate(policies, s, c, {"k": [1]}, now=NOW)
    assert verdicts(actual) == verdicts(expected)


def test_a_mistyped_value_is_an_error_not_a_match(durable, tmp_path):
    ps = rule_policy(tmp_path, "require metrics.auc >= 0.8")
    d = durable.evaluate(ps, subject(metrics={"auc": "high"}), now=NOW)
    assert d.rules[0].outcome == "error" and d.outcome == "fail"
    d = durable.evaluate(ps, subject(metrics={}), now=NOW)
    assert d.rules[0].outcome == "error"


@pytest.mark.parametrize("value", [1e-05, 2e-07, 1e300, 1e16, -3e-09, 0.861])
@pytest.mark.parametrize("threshold", ["1e-5", "1E+3", "5e-2", "2e-7", "1e300"])
def test_numbers_written_with_an_exponent_agree(durable, tmp_path, value, threshold):
    """durable_rules' parser refuses 1e-05 (no decimal point); the backend writes it as 1.0e-05."""
    ps = rule_policy(tmp_path, f"require metrics.a >= {threshold} or metrics.a == {threshold}")
    s = subject(metrics={"a": value})
    assert verdicts(durable.evaluate(ps, s, now=NOW)) == verdicts(evaluate(ps, s, now=NOW))


def test_thousands_of_evaluations_do_not_exhaust_sessions(durable, tmp_path):
    ps = rule_policy(tmp_path, "require metrics.auc >= 0.8")
    outcomes = {
        durable.evaluate(ps, subject(metrics={"auc": 0.7 + (i % 3) * 0.1}), now=NOW).outcome for i in range(3000)
    }
    assert outcomes == {"pass", "fail"}


def test_no_background_threads_and_safe_under_threads(tmp_path):
    before = threading.active_count()
    backend = DurableBackend()
    ps = rule_policy(tmp_path, "require metrics.auc >= 0.8")
    assert threading.active_count() == before  # durable's own Host would have started two timers
    results: list[str] = []

    def work(value: float) -> None:
        for _ in range(200):
            results.append(backend.evaluate(ps, subject(metrics={"auc": value}), now=NOW).outcome)

    threads = [threading.Thread(target=work, args=(value,)) for value in (0.7, 0.75, 0.85, 0.9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("pass") == 400 and results.count("fail") == 400


def test_check_runs_on_the_durable_engine():
    from ..helpers import run_cli

    result = run_cli(
        "check",
        "examples/credit-fail",
        "--champion",
        "examples/credit-champion",
        "-p",
        "policies/starter",
        "--engine",
        "durable",
    )
    assert result.exit_code == 1 and "metrics.val_auc = 0.781, required >= 0.80" in result.stdout
