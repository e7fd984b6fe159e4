"""The benches' timing discipline and agreement check (bench/measure.py): what makes a figure
trustworthy is that contenders share rounds, ratios are taken within a round, and a disagreement
stops the bench naming the subject."""

from __future__ import annotations

import argparse
import sys

import pytest

from ..helpers import ROOT

sys.path.insert(0, str(ROOT / "bench"))

import measure  # noqa: E402
import readme  # noqa: E402


def test_contenders_run_once_a_round_in_an_order_that_rotates():
    calls: list[str] = []
    contenders = {name: (10, lambda name=name: calls.append(name)) for name in ("a", "b", "c")}
    series = measure.interleaved(contenders, rounds=3)
    assert calls == ["a", "b", "c", "b", "c", "a", "c", "a", "b"]
    assert all(len(s.wall) == len(s.cpu) == len(s.load) == 3 for s in series.values())


def test_a_ratio_is_taken_within_each_round():
    fast = measure.Series("fast", 100, wall=[1.0, 2.0, 4.0])  # 100, 50, 25 /s: the machine slowed
    slow = measure.Series("slow", 100, wall=[2.0, 4.0, 8.0])
    spread = measure.ratio(fast, slow)
    assert (spread.low, spread.median, spread.high) == (2.0, 2.0, 2.0)
    assert fast.rate().show() == "50 (25-100)"


def test_engines_that_agree_are_all_compared():
    answers = {"pml": [("pass", "fail"), ("skip", "pass")], "cel": [("pass", "fail"), ("skip", "pass")]}
    assert measure.agree("pml", answers, [{"n": 0}, {"n": 1}]) == 2


def test_a_disagreement_stops_the_bench_naming_the_subject_and_the_rule():
    answers = {"pml": [("pass", "fail"), ("skip", "pass")], "cedar": [("pass", "fail"), ("skip", "fail")]}
    with pytest.raises(measure.Disagreement) as stopped:
        measure.agree("pml", answers, [{"model": "m-0"}, {"model": "m-1"}])
    assert "cedar and pml disagree on subject 1 (rules at [1]:" in str(stopped.value)
    assert "'fail' against 'pass'" in str(stopped.value) and '"m-1"' in str(stopped.value)


def test_an_engine_answering_more_subjects_than_the_reference_is_refused():
    with pytest.raises(measure.Disagreement):
        measure.agree("pml", {"pml": [("pass",)], "cel": [("pass",), ("pass",)]}, [{}, {}])


def test_a_quick_run_judges_no_target():
    assert measure.verdict(10.0, 20.0, quick=False) == "target >= 20: MISSED"
    assert measure.verdict(30.0, 20.0, quick=False, unit="/s") == "target >= 20/s: met"
    assert measure.verdict(10.0, 20.0, quick=True).endswith("not judged (quick run)")


def test_the_page_shows_saved_figures_with_missed_targets_marked(tmp_path, capsys):
    figures = measure.Figures("engine", quick=False)
    figures.row("engines", measure.Row("a | b", "10/s", "2x", measure.verdict(10.0, 20.0, False), "1.0"))
    figures.save(tmp_path)
    text = readme.section(tmp_path, "engine")
    assert "| a \\| b | 10/s | 2x | target >= 20: **missed** | 1.0 |" in text
    assert "Not run yet" in readme.section(tmp_path, "audit")


@pytest.mark.parametrize(
    ("kind", "text", "says"),
    [
        ("positive", "0", "0 is out of range"),
        ("positive", "ten", "'ten' is not a whole number"),
        ("sizes", "10,-1", "-1 is out of range"),
        ("stores", "sqlite,oracle", "unknown store 'oracle'"),
        ("duration", "0", "0 s is out of range"),
    ],
)
def test_a_bad_option_is_one_line_naming_it(kind, text, says):
    with pytest.raises(argparse.ArgumentTypeError, match=says):
        getattr(measure, kind)(text)
