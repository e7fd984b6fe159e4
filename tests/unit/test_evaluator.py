"""The semantics of DSL.md, rule by rule: what a user relies on the engine to decide."""

from __future__ import annotations

import datetime as dt
import json
import math

import pytest

from pml_policy.base.errors import NoPolicyApplies
from pml_policy.engine import Decision, evaluate
from pml_policy.engine.decision import ExpiredWaiver

from ..helpers import NOW, outcome_of, policies, rule_policy, subject

ENFORCED = """
policy "p" version "1.0.0" {
  rule h { enforce hard require metrics.h >= 1 }
  rule s { enforce soft require metrics.s >= 1 }
  rule a { enforce advisory require metrics.a >= 1 }
  on pass { set alias "champion" set tag "status" = "approved" }
  on fail { set tag "status" = "rejected" }
}
"""


WAIVED = (
    ENFORCED
    + """
waiver "RISK-1" {
  policy "p" rule s
  model "m" version 7
  reason "known label delay"
  approved by "cro@example.com"
  expires 2026-11-27
}
waiver "RISK-2" {
  policy "p" rule h
  model "m" version "*"
  reason "tries to lift a hard rule"
  approved by "cro@example.com"
  expires 2030-01-01
}
"""
)


@pytest.mark.parametrize(
    "require, metrics, expected",
    [
        ("metrics.auc >= 0.80", {"auc": 0.8}, "pass"),
        ("metrics.auc >= 0.80", {"auc": 0.79}, "fail"),
        ("metrics.auc > 0.8 and metrics.loss < 1", {"auc": 0.9, "loss": 0.5}, "pass"),
        ("metrics.auc > 0.95 or metrics.loss < 1", {"auc": 0.9, "loss": 0.5}, "pass"),
        ("not metrics.auc > 0.95", {"auc": 0.9}, "pass"),
        ("metrics.gap <= 5%", {"gap": 0.05}, "pass"),
        ("metrics.gap <= 5%", {"gap": 0.051}, "fail"),
        ("metrics.a + metrics.b * 2 == 5", {"a": 1, "b": 2}, "pass"),
        ("(metrics.a + metrics.b) * 2 == 6", {"a": 1, "b": 2}, "pass"),
        ("-metrics.a == -1", {"a": 1}, "pass"),
        ("metrics.a / 4 == 0.25", {"a": 1}, "pass"),
        ("abs(metrics.a - 1) < 1e-9", {"a": 1.0}, "pass"),
        ("min(metrics.a, metrics.b) == 1 and max(metrics.a, metrics.b) == 2", {"a": 1, "b": 2}, "pass"),
        ("round(metrics.a, 2) == 0.12", {"a": 0.1234}, "pass"),
        ("round(metrics.a) == 3", {"a": 2.6}, "pass"),
    ],
)
def test_comparisons_arithmetic_and_functions(tmp_path, require, metrics, expected):
    ps = rule_policy(tmp_path, f"require {require}")
    assert outcome_of(ps, subject(metrics=metrics))[0] == expected


def test_message_shows_observed_against_required(tmp_path):
    ps = rule_policy(tmp_path, "require metrics.val_auc >= 0.80")
    outcome, message = outcome_of(ps, subject(metrics={"val_auc": 0.78}))
    assert (outcome, message) == ("fail", "metrics.val_auc = 0.78, required >= 0.80")


@pytest.mark.parametrize(
    "value, state",
    [(None, "null"), (math.nan, "NaN"), ("absent", "absent")],
)
def test_absent_null_and_nan_fail_closed(tmp_path, value, state):
    ps = rule_policy(tmp_path, "require metrics.auc >= 0.8")
    metrics = {} if value == "absent" else {"auc": value}
    outcome, message = outcome_of(ps, subject(metrics=metrics))
    assert outcome == "error"
    assert f"metrics.auc is {state}" in message


@pytest.mark.parametrize(
    "require, metrics, fragment",
    [
        ("metrics.auc >= 0.8", {"auc": "high"}, 'cannot compare the string "high" >= the number 0.8'),
        ("metrics.auc >= 0.8", {"auc": True}, "cannot compare the boolean true"),
        ("metrics.a + 1 > 0", {"a": "x"}, "'+' needs numbers"),
        ("metrics.a / metrics.b > 0", {"a": 1, "b": 0}, "division by zero"),
        ("metrics.a and true", {"a": 1}, "'and' needs true or false"),
        ("metrics.a", {"a": 1}, "'require' needs true or false"),
        ('lower(metrics.a) == "x"', {"a": 1}, "lower() needs a string"),
    ],
)
def test_type_errors_are_errors_never_passes(tmp_path, require, metrics, fragment):
    outcome, message = outcome_of(rule_policy(tmp_path, f"require {require}"), subject(metrics=metrics))
    assert outcome == "error"
    assert fragment in message


def test_params_are_read_as_numbers_beside_numbers(tmp_path):
    ps = rule_policy(tmp_path, 'require params.lr <= 0.1 and params.optimizer == "adam" and params.depth * 2 == 12')
    assert outcome_of(ps, subject(params={"lr": "0.05", "optimizer": "adam", "depth": "6"}))[0] == "pass"
    outcome, message = outcome_of(ps, subject(params={"lr": "fast", "optimizer": "adam", "depth": "6"}))
    assert outcome == "error" and 'params.lr = "fast" is not a number' in message


def test_tags_are_not_coerced(tmp_path):
    ps = rule_policy(tmp_path, "require tags.tier >= 2")
    assert outcome_of(ps, subject(tags={"tier": "3"}))[0] == "error"


def test_exists_and_missing_look_at_absence_safely(tmp_path):
    ps = rule_policy(
        tmp_path, 'require artifact "model_card.md" exists and metrics.debug missing and tags.owner exists'
    )
    assert outcome_of(ps, subject(artifacts=("model_card.md",), tags={"owner": "x"}))[0] == "pass"
    outcome, message = outcome_of(ps, subject(tags={"owner": "x"}))
    assert outcome == "fail"
    assert outcome_of(ps, subject(artifacts=("model_card.md",), tags={"owner": None}))[0] == "fail"


def test_artifact_globs(tmp_path):
    ps = rule_policy(tmp_path, 'require artifact "reports/*.html" exists')
    assert outcome_of(ps, subject(artifacts=("reports/eval.html",)))[0] == "pass"
    assert outcome_of(ps, subject(artifacts=("eval.html",)))[0] == "fail"


def test_when_false_skips_and_says_why(tmp_path):
    ps = rule_policy(tmp_path, 'when tags.use_case == "credit" require metrics.gap <= 0.05')
    outcome, message = outcome_of(ps, subject(tags={"use_case": "ads"}))
    assert outcome == "skip"
    assert message == 'skipped: tags.use_case == "credit" is false (tags.use_case = "ads")'


def test_when_that_cannot_be_decided_is_an_error_not_a_skip(tmp_path):
    ps = rule_policy(tmp_path, 'when tags.use_case == "credit" require metrics.gap <= 0.05')
    assert outcome_of(ps, subject())[0] == "error"


def test_champion_comparison(tmp_path):
    ps = rule_policy(tmp_path, "when champion exists require metrics.auc >= champion.metrics.auc - 0.005")
    s = subject(metrics={"auc": 0.80})
    assert outcome_of(ps, s)[0] == "skip"
    outcome, message = outcome_of(ps, s, champion=subject(metrics={"auc": 0.81}))
    assert outcome == "fail"
    assert message == "metrics.auc = 0.8, required >= champion.metrics.auc - 0.005 = 0.805"
    assert outcome_of(ps, s, champion=subject(metrics={"auc": 0.804}))[0] == "pass"


def test_champion_path_without_a_champion_is_an_error(tmp_path):
    ps = rule_policy(tmp_path, "require metrics.auc >= champion.metrics.auc")
    outcome, message = outcome_of(ps, subject(metrics={"auc": 0.9}))
    assert outcome == "error" and "there is no champion" in message


def test_data_paths_and_membership(tmp_path):
    ps = rule_policy(tmp_path, "require metrics.auc >= data.floors.credit and tags.region not in data.blocked_regions")
    s = subject(metrics={"auc": 0.82}, tags={"region": "eu"})
    assert outcome_of(ps, s, data={"floors": {"credit": 0.8}, "blocked_regions": ["xx"]})[0] == "pass"
    assert outcome_of(ps, s, data={"floors": {"credit": 0.85}, "blocked_regions": ["xx"]})[0] == "fail"
    assert outcome_of(ps, s, data={})[0] == "error"


def test_model_and_run_paths(tmp_path):
    ps = rule_policy(
        tmp_path,
        'require model.version >= 2 and "challenger" in model.aliases and run.start_time >= 2026-01-01 and '
        "len(run.git_commit) == 7",
    )
    s = subject(
        version="3",
        aliases=["challenger"],
        run={"start_time": dt.datetime(2026, 3, 1, tzinfo=dt.UTC), "git_commit": "abc1234"},
    )
    assert outcome_of(ps, s)[0] == "pass"


def test_matches_and_string_functions(tmp_path):
    ps = rule_policy(tmp_path, 'require upper(tags.team) == "RISK" and model.name matches "^credit-"')
    assert outcome_of(ps, subject(model="credit-x", tags={"team": "risk"}))[0] == "pass"
    assert outcome_of(ps, subject(model="churn", tags={"team": "risk"}))[0] == "fail"


def test_quantifiers_over_metric_families(tmp_path):
    all_ps = rule_policy(tmp_path, 'require all metrics matching "auc_slice_*" >= 0.75')
    any_ps = policies(
        tmp_path, 'policy "p" version "1.0.0" { rule r { require any metrics matching "auc_slice_*" >= 0.8 } }', "q.pml"
    )
    good = subject(metrics={"auc_slice_a": 0.8, "auc_slice_b": 0.76, "other": 0.1})
    bad = subject(metrics={"auc_slice_a": 0.8, "auc_slice_b": 0.7})
    assert outcome_of(all_ps, good)[0] == "pass"
    outcome, message = outcome_of(all_ps, bad)
    assert outcome == "fail" and "metrics.auc_slice_b = 0.7" in message and "1 of 2 pass" in message
    assert outcome_of(any_ps, bad)[0] == "pass"
    # An empty family is missing evidence, not a vacuous pass.
    assert outcome_of(all_ps, subject(metrics={"other": 1}))[0] == "error"


def test_facts_in_dependency_order_and_their_evidence(tmp_path):
    ps = rule_policy(
        tmp_path,
        "when strict require metrics.auc >= floor",
        'fact floor = base + 0.05  fact strict = tags.use_case in ["credit"]  fact base = 0.75',
    )
    d = evaluate(ps, subject(metrics={"auc": 0.79}, tags={"use_case": "credit"}), now=NOW)
    (r,) = d.rules
    assert r.outcome == "fail"
    assert r.observed["tags.use_case"] == "credit" and r.observed["floor"] == pytest.approx(0.8)


def test_a_fact_that_errors_makes_its_rules_error(tmp_path):
    ps = rule_policy(
        tmp_path, "when high_risk require metrics.gap < 0.05", 'fact high_risk = tags.use_case in ["credit"]'
    )
    outcome, message = outcome_of(ps, subject(metrics={"gap": 0.01}))
    assert outcome == "error" and "tags.use_case is absent" in message


@pytest.mark.parametrize(
    "h, s, a, expected",
    [
        (1, 1, 1, "pass"),
        (1, 1, 0, "warn"),
        (1, 0, 1, "fail"),
        (0, 1, 1, "fail"),
        (1, 1, None, "warn"),
        (1, None, 1, "fail"),
    ],
)
def test_enforcement_levels_decide_the_outcome(tmp_path, h, s, a, expected):
    ps = policies(tmp_path, ENFORCED)
    metrics = {k: v for k, v in {"h": h, "s": s, "a": a}.items() if v is not None}
    assert evaluate(ps, subject(metrics=metrics), now=NOW).outcome == expected


def test_actions_are_planned_by_outcome_never_applied(tmp_path):
    ps = policies(tmp_path, ENFORCED)
    passed = evaluate(ps, subject(metrics={"h": 1, "s": 1, "a": 0}), now=NOW)
    assert [(a.kind, a.name, a.value) for a in passed.actions] == [
        ("set_alias", "champion", None),
        ("set_tag", "status", "approved"),
    ]
    failed = evaluate(ps, subject(metrics={"h": 0, "s": 1, "a": 1}), now=NOW)
    assert [(a.kind, a.name, a.value) for a in failed.actions] == [("set_tag", "status", "rejected")]


def test_a_valid_waiver_lifts_a_soft_failure_to_a_warning(tmp_path):
    ps = policies(tmp_path, WAIVED)
    d = evaluate(ps, subject(version="7", metrics={"h": 1, "s": 0, "a": 1}), now=NOW)
    assert d.outcome == "warn"
    (s,) = [r for r in d.rules if r.rule == "s"]
    assert s.outcome == "waived" and s.waiver == "RISK-1" and d.waivers_used == ["RISK-1"]


def test_a_waiver_covers_only_its_model_version(tmp_path):
    ps = policies(tmp_path, WAIVED)
    assert evaluate(ps, subject(version="8", metrics={"h": 1, "s": 0, "a": 1}), now=NOW).outcome == "fail"


def test_an_expired_waiver_is_reported_not_applied(tmp_path):
    ps = policies(tmp_path, WAIVED)
    last_day = dt.datetime(2026, 11, 27, 23, 59, tzinfo=dt.UTC)
    assert evaluate(ps, subject(version="7", metrics={"h": 1, "s": 0, "a": 1}), now=last_day).outcome == "warn"
    day_after = dt.datetime(2026, 11, 28, 0, 0, 1, tzinfo=dt.UTC)
    d = evaluate(ps, subject(version="7", metrics={"h": 1, "s": 0, "a": 1}), now=day_after)
    assert d.outcome == "fail"
    assert d.expired_waivers == [ExpiredWaiver("RISK-1", dt.date(2026, 11, 27))]
    body = json.loads(d.model_dump_json(by_alias=True))
    assert body["schema_version"] == 3 and body["expired_waivers"] == [{"id": "RISK-1", "expires": "2026-11-27"}]
    # A decision recorded under schema 1 wrote the same fact as a string, and still reads.
    body["schema_version"] = 1
    body["expired_waivers"] = ["RISK-1 (expired 2026-11-27)"]
    for p in body["policies"]:
        for r in p["rules"]:
            r["expired_waivers"] = [f"{w['id']} (expired {w['expires']})" for w in r["expired_waivers"]]
    legacy = Decision.model_validate_json(json.dumps(body))
    assert legacy.expired_waivers == d.expired_waivers and [r.expired_waivers for r in legacy.rules] == [
        r.expired_waivers for r in d.rules
    ]
    assert "expired waiver RISK-1 not applied" in [r for r in d.rules if r.rule == "s"][0].message


def test_no_waiver_lifts_a_hard_rule(tmp_path):
    ps = policies(tmp_path, WAIVED)
    d = evaluate(ps, subject(version="7", metrics={"h": 0, "s": 1, "a": 1}), now=NOW)
    assert d.outcome == "fail"
    (h,) = [r for r in d.rules if r.rule == "h"]
    assert h.outcome == "fail" and "cannot lift a hard rule" in h.message


def test_applies_to_selects_policies_and_none_applying_is_an_error(tmp_path):
    ps = policies(
        tmp_path,
        'policy "p" version "1.0.0" { applies to model "credit-*" applies to model "fraud" rule r { require true } }',
    )
    assert evaluate(ps, subject(model="credit-x"), now=NOW).outcome == "pass"
    assert evaluate(ps, subject(model="fraud"), now=NOW).outcome == "pass"
    with pytest.raises(NoPolicyApplies):
        evaluate(ps, subject(model="churn"), now=NOW)
    with pytest.raises(NoPolicyApplies):
        evaluate(ps, subject(model=None), now=NOW)


def test_evidence_records_every_path_read(tmp_path):
    ps = rule_policy(tmp_path, 'require metrics.a >= 1 and params.b == "x" and tags.c missing')
    d = evaluate(ps, subject(metrics={"a": 2}, params={"b": "x"}), now=NOW)
    assert d.rules[0].observed == {"metrics.a": 2, "params.b": "x", "tags.c": None}
    assert d.rules[0].required == 'metrics.a >= 1 and params.b == "x" and tags.c missing'


def test_membership_in_a_record_takes_a_name(tmp_path):
    # Found by the property test: a record on the right of `in` with a record on the left crashed.
    ps = rule_policy(tmp_path, 'require "model_card.md" in artifacts')
    assert outcome_of(ps, subject(artifacts=("model_card.md",)))[0] == "pass"
    bad = rule_policy(tmp_path, 'require artifact "a" in artifact "a"')
    assert outcome_of(bad, subject(artifacts=("a",)))[0] == "error"


def test_round_of_infinity_is_a_type_error(tmp_path):
    ps = rule_policy(tmp_path, "require round(metrics.a) > 1")
    assert outcome_of(ps, subject(metrics={"a": float("inf")}))[0] == "error"


def test_rank_orders_best_first_ties_to_the_newer_version_and_unrankable_last(tmp_path):
    from pml_policy.engine.rank import order, ranker

    ps = policies(
        tmp_path, 'policy "p" version "1.0.0" { rule r { require metrics.auc >= 0 } rank by metrics.auc desc }'
    )
    candidates = [
        subject(version="1", metrics={"auc": 0.9}),
        subject(version="2", metrics={"auc": 0.9}),
        subject(version="3", metrics={"auc": 0.95}),
        subject(version="4", metrics={}),
        subject(version="5", metrics={"auc": float("nan")}),
    ]
    value = ranker(ps.policies[0])
    ranked = order([(s, value(s)) for s in candidates], descending=True)
    assert [s.model.version for s in ranked] == ["3", "2", "1", "5", "4"]
    ascending = order([(s, value(s)) for s in candidates[:3]], descending=False)
    assert [s.model.version for s in ascending] == ["2", "1", "3"]
