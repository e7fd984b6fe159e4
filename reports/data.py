"""What a compliance report says, gathered from the audit log with SQL aggregates.

Every number is counted by the database (GROUP BY over the period), never by a Python loop over
decisions, so a report over a million decisions reads a few hundred rows. The model is what the
JSON format prints and what the templates render.
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

from pydantic import BaseModel, Field

from .period import Period

REPORT_SCHEMA_VERSION = 1
_FIELD = {"pass": "passed", "warn": "warned", "fail": "failed"}
EXPIRY_WINDOW_DAYS = 30


class Totals(BaseModel):
    decisions: int = 0
    passed: int = 0
    warned: int = 0
    failed: int = 0
    promotions: int = Field(0, description="Aliases moved by --apply in the period.")

    def rate(self, outcome: str) -> float:
        return getattr(self, outcome) / self.decisions if self.decisions else 0.0


class Day(BaseModel):
    day: str
    passed: int = 0
    warned: int = 0
    failed: int = 0


class RuleFailures(BaseModel):
    policy: str
    rule: str
    failures: int
    last_message: str = Field(description="The message of the latest failure: what was observed and required.")
    last_observed: dict[str, Any] = Field(default_factory=dict)


class ModelHistory(BaseModel):
    model: str
    decisions: int
    last_time: str
    last_version: str | None
    last_outcome: str
    why: list[str] = Field(default_factory=list, description="The rules that blocked the last decision.")
    champion: str | None = Field(None, description="The version the champion alias was last moved to by --apply.")


class WaiverUse(BaseModel):
    waiver: str
    policy: str
    rule: str
    uses: int
    expired_uses: int
    expires: str | None = None


class PolicyVersion(BaseModel):
    name: str
    version: str
    digest: str
    decisions: int
    first: str
    last: str


class Chain(BaseModel):
    verified: bool
    ok: bool | None = None
    records: int = 0
    head: str = ""
    problem: str | None = None


class Report(BaseModel):
    schema_: str = Field("pml-policy/report", alias="schema")
    schema_version: int = REPORT_SCHEMA_VERSION
    generated: str
    period: str
    since: str
    until: str
    model: str | None = None
    store: str
    totals: Totals
    days: list[Day]
    failing_rules: list[RuleFailures]
    models: list[ModelHistory]
    waivers_used: list[WaiverUse]
    waivers_expiring: list[WaiverUse] = Field(description=f"Waivers in the policies that expire within {EXPIRY_WINDOW_DAYS} days.")
    waivers_expired_in_use: list[WaiverUse] = Field(description="Expired waivers still referenced by decisions of the period.")
    policies: list[PolicyVersion]
    chain: Chain

    model_config = {"populate_by_name": True}


def _every_day(days: dict[str, Day], period: Period) -> list[Day]:
    """Each day of the period, those without decisions too, so the chart's axis is time; a period
    longer than a quarter shows only its days with decisions."""
    if period.until - period.since > dt.timedelta(days=92):
        return list(days.values())
    out, day = [], period.since.date()
    while day < period.until.date() or (day == period.until.date() and period.until.time() != dt.time()):
        key = day.isoformat()
        out.append(days.get(key, Day(day=key)))
        day += dt.timedelta(days=1)
    return out


class _Query:
    """The period's filters, as SQL: `{where}` selects its decisions (alias d), `{results}` the rows
    beside them (alias r) through their decision_seq."""

    def __init__(self, conn: Any, period: Period, model: str | None) -> None:
        from pml_policy.audit.store import utc_text

        self.conn = conn
        self.where = "d.time >= :since AND d.time < :until" + (" AND d.model = :model" if model else "")
        self.args: dict[str, Any] = {"since": utc_text(period.since), "until": utc_text(period.until), "model": model}
        self.results = "FALSE"
        lo, hi = self.rows("SELECT MIN(d.seq), MAX(d.seq) FROM pml_decisions d WHERE {where}")[0]
        self.args.update(lo=lo or 0, hi=hi or -1)
        # When the period's decisions are exactly the seqs lo..hi (always, but for decisions timed
        # out of order at its edges, or a --model filter), no join with the decisions is needed.
        stray = self.rows("SELECT COUNT(*) FROM pml_decisions d WHERE d.seq BETWEEN :lo AND :hi AND NOT ({where})")[0][0]
        self.results = ("r.decision_seq BETWEEN :lo AND :hi" if not stray else
                        f"r.decision_seq IN (SELECT d.seq FROM pml_decisions d WHERE d.seq BETWEEN :lo AND :hi AND {self.where})")

    def rows(self, sql: str, **extra: Any) -> list[Any]:
        from sqlalchemy import text

        sql = sql.replace("{where}", self.where).replace("{results}", self.results)
        return list(self.conn.execute(text(sql), {**self.args, **extra}))


def gather(store: Any, period: Period, model: str | None, waivers: list[Any], now: dt.datetime, verify: bool = True) -> Report:
    from pml_policy.audit.store import utc_text

    with store.engine.connect() as conn:
        q = _Query(conn, period, model)
        totals, days = _totals(q, model), _days(q)
        failing, models, used, policies = _failing_rules(q), _models(q), _waivers_used(q, waivers), _policy_versions(q)
    soon = now.date() + dt.timedelta(days=EXPIRY_WINDOW_DAYS)
    expiring = [WaiverUse(waiver=w.id, policy=w.policy, rule=w.rule, uses=0, expired_uses=0, expires=w.expires.isoformat())
                for w in waivers if now.date() <= w.expires <= soon]
    chain = Chain(verified=False)
    if verify:
        verdict = store.verify()
        chain = Chain(verified=True, ok=verdict.ok, records=verdict.records, head=verdict.head, problem=verdict.problem)
    return Report(
        generated=utc_text(now), days=_every_day(days, period), period=period.label, since=utc_text(period.since), until=utc_text(period.until), model=model,
        store=store.shown, totals=totals, failing_rules=failing, models=models, waivers_used=used,
        waivers_expiring=expiring, waivers_expired_in_use=[u for u in used if u.expired_uses], policies=policies, chain=chain,
    )


def _totals(q: _Query, model: str | None) -> Totals:
    totals = Totals()
    for outcome, count in q.rows("SELECT d.outcome, COUNT(*) FROM pml_decisions d WHERE {where} GROUP BY d.outcome"):
        setattr(totals, _FIELD[outcome], count)
        totals.decisions += count
    totals.promotions = q.rows(
        "SELECT COUNT(*) FROM pml_actions a JOIN pml_decisions d ON d.seq = a.decision_seq "
        "WHERE a.kind = 'set_alias' AND a.state = 'applied' AND a.time >= :since AND a.time < :until" + (" AND d.model = :model" if model else ""))[0][0]
    return totals


def _days(q: _Query) -> dict[str, Day]:
    days: dict[str, Day] = {}
    for day, outcome, count in q.rows("SELECT substr(d.time, 1, 10) AS day, d.outcome, COUNT(*) FROM pml_decisions d WHERE {where} GROUP BY day, d.outcome ORDER BY day"):
        setattr(days.setdefault(day, Day(day=day)), _FIELD[outcome], count)
    return days


def _failing_rules(q: _Query) -> list[RuleFailures]:
    failing = []
    for policy, rule, count in q.rows(
        "SELECT r.policy, r.rule, COUNT(*) AS n FROM pml_rule_results r WHERE {results} AND r.outcome IN ('fail', 'error') "
        "GROUP BY r.policy, r.rule ORDER BY n DESC, r.policy, r.rule LIMIT 10"):
        message, observed = q.rows(
            "SELECT r.message, r.observed FROM pml_rule_results r WHERE {results} AND r.policy = :p AND r.rule = :r "
            "AND r.outcome IN ('fail', 'error') ORDER BY r.decision_seq DESC LIMIT 1", p=policy, r=rule)[0]
        failing.append(RuleFailures(policy=policy, rule=rule, failures=count, last_message=message, last_observed=json.loads(observed)))
    return failing


def _models(q: _Query) -> list[ModelHistory]:
    models = []
    for name, count, last in q.rows("SELECT d.model, COUNT(*), MAX(d.seq) FROM pml_decisions d WHERE {where} AND d.model IS NOT NULL GROUP BY d.model ORDER BY d.model"):
        time_, version, outcome = q.rows("SELECT time, version, outcome FROM pml_decisions WHERE seq = :s", s=last)[0]
        why = [f"{p}/{r}" for p, r in q.rows("SELECT policy, rule FROM pml_rule_results WHERE decision_seq = :s AND outcome IN ('fail', 'error') AND enforce != 'advisory' ORDER BY id", s=last)]
        champion = q.rows(
            "SELECT d.version FROM pml_actions a JOIN pml_decisions d ON d.seq = a.decision_seq "
            "WHERE d.model = :m AND a.kind = 'set_alias' AND a.state = 'applied' AND a.time < :until ORDER BY a.id DESC LIMIT 1", m=name)
        models.append(ModelHistory(model=name, decisions=count, last_time=time_, last_version=version, last_outcome=outcome, why=why,
                                   champion=champion[0][0] if champion else None))
    return models


def _waivers_used(q: _Query, waivers: list[Any]) -> list[WaiverUse]:
    expiry = {w.id: w.expires.isoformat() for w in waivers}
    return [
        WaiverUse(waiver=w, policy=p, rule=r, uses=n, expired_uses=int(e or 0), expires=expiry.get(w))
        for w, p, r, n, e in q.rows(
            "SELECT r.waiver, r.policy, r.rule, COUNT(*), SUM(CASE WHEN r.expired THEN 1 ELSE 0 END) FROM pml_waivers_used r "
            "WHERE {results} GROUP BY r.waiver, r.policy, r.rule ORDER BY r.waiver, r.policy, r.rule")
    ]


def _policy_versions(q: _Query) -> list[PolicyVersion]:
    policies = []
    for n, v, g, count, first, last in q.rows(
        "SELECT r.policy, r.version, r.digest, COUNT(*), MIN(r.decision_seq), MAX(r.decision_seq) FROM pml_decision_policies r "
        "WHERE {results} GROUP BY r.policy, r.version, r.digest ORDER BY r.policy, r.version"):
        times = dict(q.rows("SELECT seq, time FROM pml_decisions WHERE seq IN (:a, :b)", a=first, b=last))
        policies.append(PolicyVersion(name=n, version=v, digest=g, decisions=count, first=times[first], last=times[last]))
    return policies
