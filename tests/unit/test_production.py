"""Production policies (DSL 1.1) in the engine: durations, `now` and `age`, both backends agreeing
on time, time misused located, `applies to alias` limiting a policy to the holder."""

from __future__ import annotations

import datetime as dt

import pytest

from pml_policy.engine import evaluate

from ..helpers import NOW, policies, rule_policy, run_cli, subject


@pytest.mark.parametrize(
    ("require", "run", "tags", "outcome", "message"),
    [
        ("age(run.start_time) <= 90d", {"start_time": NOW - dt.timedelta(days=7)}, {}, "pass", "= 7d, required <= 90d"),
        ("age(run.start_time) <= 90d", {"start_time": NOW - dt.timedelta(days=91)}, {}, "fail", "= 91d, required"),
        ("age(tags.trained) < 12h", {}, {"trained": "2026-11-27T03:30:00Z"}, "pass", "= 8h 30m, required < 12h"),
        ("tags.trained > 2026-11-01", {}, {"trained": "2026-11-20"}, "pass", ""),
        ("now - run.start_time < 2w + 12h", {"start_time": NOW - dt.timedelta(days=14)}, {}, "pass", "14d 12h"),
        ("run.start_time + 30d > now", {"start_time": NOW - dt.timedelta(days=31)}, {}, "fail", ""),
        ("age(tags.trained) < 1d", {}, {"trained": "last tuesday"}, "error", "not a date or an ISO 8601 timestamp"),
        ("age(run.start_time) < 1d", {}, {}, "error", "run.start_time is null"),
    ],
)
def test_durations_now_and_age(tmp_path, require, run, tags, outcome, message):
    ps = rule_policy(tmp_path, f"require {require}")
    d = evaluate(ps, subject(run=run, tags=tags), now=NOW)
    (r,) = d.rules
    assert r.outcome == outcome and message in r.message, r.message


def test_both_backends_agree_on_time(tmp_path):
    pytest.importorskip("durable")
    ps = policies(
        tmp_path,
        'policy "p" version "1.0.0" { rule a { require age(run.start_time) <= 30d }'
        " rule b { require tags.at < now } rule c { require now - 2w > run.start_time } }",
    )
    for days in (3, 20, 40):
        s = subject(run={"start_time": NOW - dt.timedelta(days=days)}, tags={"at": "2026-11-01T00:00:00+02:00"})
        python, durable = (evaluate(ps, s, now=NOW, engine=e) for e in ("python", "durable"))
        assert [(r.outcome, r.message) for r in python.rules] == [(r.outcome, r.message) for r in durable.rules]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("require age(run.start_time) <= 90", "'<=' between a duration and a number"),
        ("require age(run.start_time) > 2027-01-01", "between a duration and a point in time"),
        ("require now.day == 1", '"now" has no fields'),
        ("require age(run.start_time) <= 99999999999d", "is too long"),
    ],
)
def test_time_misused_is_a_located_error(tmp_path, text, says):
    (tmp_path / "p.pml").write_text(f'policy "p" version "1.0.0" {{ rule r {{ {text} }} }}')
    result = run_cli("validate", str(tmp_path / "p.pml"))
    assert result.exit_code == 2 and says in result.stderr and "p.pml:1:" in result.stderr, result.stderr


def test_applies_to_alias_limits_a_policy_to_the_holder(tmp_path):
    ps = policies(
        tmp_path,
        'policy "gate" version "1.0.0" { rule a { require metrics.auc > 0.5 } }\n'
        'policy "prod" version "1.0.0" { applies to model "credit-*"\n'
        '  applies to alias "champion" applies to alias "live" rule b { require metrics.auc > 0.9 } }',
    )
    candidate = subject(model="credit-scorer", metrics={"auc": 0.8})
    held = subject(model="credit-scorer", aliases=["champion"], metrics={"auc": 0.8})
    other = subject(model="churn", aliases=["champion"], metrics={"auc": 0.8})
    assert [p.name for p in evaluate(ps, candidate, now=NOW).policies] == ["gate"]
    assert [p.name for p in evaluate(ps, held, now=NOW).policies] == ["gate", "prod"]
    assert [p.name for p in evaluate(ps, other, now=NOW).policies] == ["gate"]  # both kinds must hold
    assert ps.without_alias("champion").applicable("credit-scorer", ["champion"])[0].name == "gate"
