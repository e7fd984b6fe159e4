"""What a compliance report says, gathered from the audit log's aggregates (audit/aggregates.py:
every number counted by the database). The model is what the JSON format prints and what the
templates render."""

from __future__ import annotations

import datetime as dt
from collections.abc import Container
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pydantic import BaseModel, Field

from pml_policy.audit import AuditStore
from pml_policy.audit.aggregates import Aggregates
from pml_policy.audit.rows import utc_text
from pml_policy.audit.signing import PublicKey
from pml_policy.engine.signoffs import REGISTRY_TAGS, bound_digest
from pml_policy.engine.subject import Subject
from pml_policy.engine.values import EvalError, show_duration, timestamp
from pml_policy.engine.waivers import WaiverSpec
from pml_policy.transparency.notes import Checkpoint

from .period import Period

# 2: totals count model versions (latest outcome) and plans apart; 3: pending decisions, approvals,
# production (re-checks, drift, reverts); 4: advisory findings apart, rules' enforcement, the
# champion holding the alias, where waivers came from, which figures a broken chain leaves untrusted
REPORT_SCHEMA_VERSION = 4
_FIELD = {"pass": "passed", "warn": "warned", "pending": "pending", "fail": "failed"}
EXPIRY_WINDOW_DAYS = 30


class Totals(BaseModel):
    decisions: int = Field(default=0, description="Gating evaluations in the period (check, govern --apply).")
    passed: int = 0
    warned: int = 0
    pending: int = Field(default=0, description="Decisions awaiting a sign-off (language 1.1 approvals).")
    failed: int = 0
    versions: int = Field(default=0, description="Distinct model versions decided in the period.")
    versions_passed: int = Field(default=0, description="Versions whose latest decision passed.")
    versions_warned: int = 0
    versions_pending: int = 0
    versions_failed: int = 0
    plans: int = Field(default=0, description="govern runs without --apply: recorded, never counted as decisions.")
    promotions: int = Field(default=0, description="Aliases moved by --apply in the period.")

    def rate(self, outcome: str) -> float:
        return getattr(self, outcome) / self.decisions if self.decisions else 0.0

    def version_rate(self, outcome: str) -> float:
        return getattr(self, f"versions_{outcome}") / self.versions if self.versions else 0.0


class Day(BaseModel):
    day: str
    passed: int = 0
    warned: int = 0
    pending: int = 0
    failed: int = 0


class RuleFailures(BaseModel):
    policy: str
    rule: str
    failures: int
    enforce: str = Field(description="hard, soft (these gate) or advisory, as of the latest failure.")
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


class ApprovalEntry(BaseModel):
    """A sign-off given in the period: who, for what, on which evidence, and what became of it."""

    record: int
    time: str
    model: str
    version: str
    role: str
    approver: str
    reason: str
    evidence: str = Field(description="The subject digest the approver saw.")
    expires: str | None = None
    state: str = Field(description="valid; void: evidence changed; expired; revoked (#SEQ).")


class AwaitingApproval(BaseModel):
    model: str
    version: str
    since: str = Field(description="The time of the pending decision.")
    rules: list[str]


class DriftPoint(BaseModel):
    time: str
    share: float | None


class ProductionModel(BaseModel):
    """A model in production as its re-checks in the period saw it."""

    model: str
    champion: str = Field(description="The version holding the alias at the period's end, as the log knows it.")
    rechecked: str = Field(description="The version the latest re-check judged.")
    last_recheck: str
    last_outcome: str
    record: int
    evidence_age: str | None = Field(description="How old the monitoring report was at the latest re-check.")
    rechecks: int
    drift: list[DriftPoint] = Field(description="The share of drifted columns at each re-check.")


class Revert(BaseModel):
    time: str
    model: str
    to_version: str
    detail: str


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
    how: str | None = None  # what was verified how (in full, or from a trusted checkpoint)
    distrust: str | None = Field(None, description="Which figures cannot be trusted, when verification failed.")


class Report(BaseModel):
    schema_: str = Field(default="pml-policy/report", alias="schema")
    schema_version: int = REPORT_SCHEMA_VERSION
    generated: str
    period: str
    since: str
    until: str
    model: str | None = None
    store: str
    totals: Totals
    days: list[Day]
    failing_rules: list[RuleFailures] = Field(description="The rules that gate (hard, soft) failing most.")
    advisory_findings: list[RuleFailures] = Field(
        default_factory=list, description="Advisory rules failing most: reported, never gating."
    )
    models: list[ModelHistory]
    waivers_used: list[WaiverUse]
    waivers_expiring: list[WaiverUse] = Field(
        description=f"Waivers in the policies that expire within {EXPIRY_WINDOW_DAYS} days."
    )
    waivers_from: str | None = Field(
        None, description="Where the waivers' expiry dates were read; None: nowhere (no policy files)."
    )
    waivers_expired_in_use: list[WaiverUse] = Field(
        description="Expired waivers still referenced by decisions of the period."
    )
    policies: list[PolicyVersion]
    production: list[ProductionModel] = Field(default_factory=list, description="Models re-checked in the period.")
    reverts: list[Revert] = Field(default_factory=list, description="Champions reverted by a failed re-check.")
    approvals_pending: list[AwaitingApproval] = Field(
        default_factory=list, description="Versions whose latest decision awaits a sign-off."
    )
    approvals_given: list[ApprovalEntry] = Field(default_factory=list, description="Sign-offs given in the period.")
    approvals_void: list[ApprovalEntry] = Field(
        default_factory=list,
        description="Sign-offs of the period that no longer count (evidence changed, expired, revoked).",
    )
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


def gather(
    store: AuditStore,
    period: Period,
    model: str | None,
    waivers: list[WaiverSpec],
    now: dt.datetime,
    verify: bool = True,
    managed: Container[str] = REGISTRY_TAGS,
    trusted: tuple[Checkpoint, PublicKey] | None = None,
    waivers_from: str | None = None,
) -> Report:
    # From a trusted checkpoint, the verification (hashing, in Python) runs beside the counts
    # (SQLite's, which let go of the GIL): a report over a million records waits for the longer.
    with ThreadPoolExecutor(1) as pool:
        verifying = pool.submit(store.verify_from, trusted[0]) if verify and trusted is not None else None
        with store.aggregates(period.since, period.until, model) as q:
            totals, days = _totals(q), _days(q)
            failing = [RuleFailures(**f._asdict()) for f in q.failing_rules()]
            champions = q.champions()
            models = [ModelHistory(**m._asdict()) for m in q.models()]
            used, policies = _waivers_used(q, waivers), [PolicyVersion(**p._asdict()) for p in q.policy_versions()]
            given = [_approval(a, period, managed) for a in q.approvals()]
            production = _production(q.rechecks(), champions)
            reverts = [Revert(time=r.time, model=r.model, to_version=r.version, detail=r.detail) for r in q.reverts()]
            awaiting = [
                AwaitingApproval(model=a.model, version=a.version, since=a.time, rules=a.rules) for a in q.awaiting()
            ]
        from_checkpoint = verifying.result() if verifying is not None else None
    soon = now.date() + dt.timedelta(days=EXPIRY_WINDOW_DAYS)
    expiring = [
        WaiverUse(waiver=w.id, policy=w.policy, rule=w.rule, uses=0, expired_uses=0, expires=w.expires.isoformat())
        for w in waivers
        if now.date() <= w.expires <= soon
    ]
    chain = Chain(verified=False)
    if from_checkpoint is not None and trusted is not None:
        verdict = from_checkpoint  # as a full verify here: the records unsigned or not
        how = (
            f"records #1 to #{trusted[0].size} hash to the root of checkpoint {trusted[0].origin} (signed by the "
            "log's key; their content is vouched for by it, not re-hashed); every record after it verified in full"
        )
    elif verify:
        verdict = store.verify(workers=None)  # a large log in seq ranges, one process per CPU
        how = "every record re-hashed and linked, every table beside it and the Merkle tree checked"
    if verify:
        chain = Chain(
            verified=True, ok=verdict.ok, records=verdict.records, head=verdict.head, problem=verdict.problem, how=how
        )
        if not verdict.ok:
            chain.distrust = (
                "every figure in this report is read from this log, and none can be trusted: records may have been "
                "altered, removed or inserted, and the records before the problem rewritten to match"
            )
    return Report(
        generated=utc_text(now),
        days=_every_day(days, period),
        period=period.label,
        since=utc_text(period.since),
        until=utc_text(period.until),
        model=model,
        store=store.shown,
        totals=totals,
        failing_rules=[f for f in failing if f.enforce != "advisory"],
        advisory_findings=[f for f in failing if f.enforce == "advisory"],
        models=models,
        waivers_used=used,
        waivers_expiring=expiring,
        waivers_from=waivers_from,
        waivers_expired_in_use=[u for u in used if u.expired_uses],
        policies=policies,
        production=production,
        reverts=reverts,
        approvals_pending=awaiting,
        approvals_given=given,
        approvals_void=[a for a in given if a.state != "valid"],
        chain=chain,
    )


def _totals(q: Aggregates) -> Totals:
    totals = Totals()
    for outcome, count in q.outcomes():
        setattr(totals, _FIELD[outcome], count)
        totals.decisions += count
    for outcome, count in q.versions():
        setattr(totals, f"versions_{_FIELD[outcome]}", count)
        totals.versions += count
    totals.plans, totals.promotions = q.plans(), q.promotions()
    return totals


def _days(q: Aggregates) -> dict[str, Day]:
    days: dict[str, Day] = {}
    for day, outcome, count in q.days():
        setattr(days.setdefault(day, Day(day=day)), _FIELD[outcome], count)
    return days


def _waivers_used(q: Aggregates, waivers: list[WaiverSpec]) -> list[WaiverUse]:
    expiry = {w.id: w.expires.isoformat() for w in waivers}
    return [WaiverUse(**u._asdict(), expires=expiry.get(u.waiver)) for u in q.waivers_used()]


def _approval(a: Any, period: Period, managed: Container[str]) -> ApprovalEntry:
    """`managed`: the tags governance sets, which an approval's evidence leaves out (engine.signoffs)."""
    if a.revoked_by is not None:
        state = f"revoked (#{a.revoked_by})"
    elif a.expires is not None and a.expires < period.until.date().isoformat():
        state = "expired"
    elif (
        a.latest_evidence is not None
        and bound_digest(Subject.model_validate_json(a.latest_evidence), managed) != a.digest
    ):
        state = "void: evidence changed"
    else:
        state = "valid"
    return ApprovalEntry(
        record=a.seq,
        time=a.time,
        model=a.model,
        version=a.version,
        role=a.role,
        approver=a.approver,
        reason=a.reason,
        evidence=a.digest,
        expires=a.expires,
        state=state,
    )


def _production(rechecks: list[Any], champions: dict[str, str]) -> list[ProductionModel]:
    """Each re-checked model; its champion is the alias holder the log knows at the period's end
    (a revert after the latest re-check moved it), else the version that re-check judged."""
    by_model: dict[str, list[Any]] = {}
    for r in rechecks:
        by_model.setdefault(r.model, []).append(r)
    out = []
    for model, rows in sorted(by_model.items()):
        last = rows[-1]
        out.append(
            ProductionModel(
                model=model,
                champion=champions.get(model, last.version),
                rechecked=last.version,
                last_recheck=last.time,
                last_outcome=last.outcome,
                record=last.seq,
                evidence_age=_age(last.time, (last.monitoring or {}).get("computed_at")),
                rechecks=len(rows),
                drift=[DriftPoint(time=r.time, share=_share(r.monitoring)) for r in rows],
            )
        )
    return out


def _age(at: str, computed: Any) -> str | None:
    """How old the report was at the re-check, read as the language reads timestamps."""
    try:
        return show_duration(timestamp(at, "the re-check") - timestamp(computed, "monitoring.computed_at"))
    except EvalError:  # no report, or no readable time in it
        return None


def _share(monitoring: Any) -> float | None:
    share = ((monitoring or {}).get("drift") or {}).get("share")
    return float(share) if isinstance(share, int | float) and not isinstance(share, bool) else None
