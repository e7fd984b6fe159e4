"""Subject + policies -> Decision. The compiled-closure backend; durable_rules reuses all but verdicts.

>>> from pml_policy.engine import load, evaluate
>>> decision = evaluate(load(["policies/"]), subject)      # doctest: +SKIP
>>> decision.outcome
'pass'
"""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from pml_policy.errors import NoPolicyApplies

from .compiler import CompiledPolicy, CompiledRule, Env, compute_facts
from .decision import Counts, Decision, PlannedAction, PolicyResult, RuleResult, SubjectSummary, combine
from .loader import PolicySet
from .subject import Subject
from .values import EvalError, Missing, plain, show
from .waivers import WaiverIndex


@dataclass
class Raw:
    """A rule's verdict before waivers: pass, fail, skip or error, with its message and evidence."""

    outcome: str
    message: str
    observed: dict[str, Any]


def run_rule(rule: CompiledRule, env: Env) -> Raw:
    env.observed = {}
    if rule.when is not None:
        try:
            applies = rule.when(env)
            if applies is not True and applies is not False:
                return Raw("error", f"type error: when {rule.when_text} gave {show(applies)}, not true or false", env.observed)
        except EvalError as exc:
            return Raw("error", _error_message(exc, rule), env.observed)
        if not applies:
            seen = ", ".join(f"{k} = {show(v)}" for k, v in env.observed.items())
            return Raw("skip", f"skipped: {rule.when_text} is false" + (f" ({seen})" if seen else ""), env.observed)
        env.observed = dict(env.observed)
    try:
        ok, message = rule.check(env)
    except EvalError as exc:
        return Raw("error", _error_message(exc, rule), env.observed)
    return Raw("pass" if ok else "fail", message, env.observed)


def _error_message(exc: EvalError, rule: CompiledRule) -> str:
    if isinstance(exc, Missing):
        if exc.path == "champion":
            return f"missing evidence: there is no champion (required: {rule.required}); guard the rule with: when champion exists"
        return f"missing evidence: {exc} (required: {rule.required})"
    return f"type error: {exc} (required: {rule.required})"


class PythonBackend:
    """The default backend: the compiled closures decide every rule."""

    name = "python"

    def decide(self, policy: CompiledPolicy, env: Env) -> list[Raw]:
        compute_facts(policy, env)
        return [run_rule(rule, env) for rule in policy.rules]

    def evaluate(self, policies: PolicySet, subject: Subject, champion: Subject | None = None, data: dict | None = None, now: dt.datetime | None = None) -> Decision:
        now = now or dt.datetime.now(dt.timezone.utc)
        applicable = policies.applicable(subject.model.name)
        if not applicable:
            names = ", ".join(f'"{p.name}" ({", ".join(p.applies)})' for p in policies.policies)
            who = f'model "{subject.model.name}"' if subject.model.name else "a subject with no model name"
            raise NoPolicyApplies(
                f"no policy applies to {subject.reference}: {who} matches none of {names}",
                "check `applies to model` in your policies, or the model name in the subject's pml.yaml",
            )
        env = Env(subject.view(), champion.view() if champion else None, data or {})
        results = [self._policy_result(p, self.decide(p, env), policies.waivers, subject, now) for p in applicable]
        return _decision(results, subject, champion, now, self.name)

    def _policy_result(self, policy: CompiledPolicy, raws: list[Raw], waivers: WaiverIndex, subject: Subject, now: dt.datetime) -> PolicyResult:
        rules = [_with_waivers(policy, rule, raw, waivers, subject, now) for rule, raw in zip(policy.rules, raws)]
        outcome = policy_outcome(rules)
        actions = policy.on_fail if outcome == "fail" else policy.on_pass
        planned = [
            PlannedAction(kind="set_alias", name=a.alias, policy=policy.name)
            if a.action == "set_alias"
            else PlannedAction(kind="set_tag", name=a.key, value=a.value, policy=policy.name)
            for a in actions
        ]
        return PolicyResult.model_construct(
            name=policy.name, version=policy.version, digest=policy.digest, source=policy.source,
            outcome=outcome, rules=rules, actions=planned,
        )


def _with_waivers(policy: CompiledPolicy, rule: CompiledRule, raw: Raw, waivers: WaiverIndex, subject: Subject, now: dt.datetime) -> RuleResult:
    outcome, message, used, expired = raw.outcome, raw.message, None, []
    if outcome in ("fail", "error") and waivers.all:
        valid, stale = waivers.lookup(policy.name, rule.id, subject.model.name, subject.model.version, now)
        expired = [f"{w.id} (expired {w.expires.isoformat()})" for w in stale]
        if valid is not None and rule.level == "hard":
            message += f"; waiver {valid.id} cannot lift a hard rule"
        elif valid is not None:
            outcome, used = "waived", valid.id
            message += f"; waived by {valid.id} ({valid.reason}; approved by {valid.approved_by}, until {valid.expires.isoformat()})"
        if stale and used is None:
            message += "; expired waiver " + ", ".join(w.id for w in stale) + " not applied"
    return RuleResult.model_construct(
        policy=policy.name, rule=rule.id, title=rule.title, enforce=rule.level, outcome=outcome,
        message=message, required=rule.required, observed={k: plain(v) for k, v in raw.observed.items()},
        waiver=used, expired_waivers=expired, line=rule.line,
    )


def policy_outcome(rules: list[RuleResult]) -> str:
    """fail if a hard or unwaived soft rule failed or errored; warn if an advisory one did or a waiver was used."""
    if any(r.blocking for r in rules):
        return "fail"
    if any(r.outcome in ("fail", "error", "waived") for r in rules):
        return "warn"
    return "pass"


def _summary(subject: Subject) -> SubjectSummary:
    return SubjectSummary.model_construct(
        reference=subject.reference, source=subject.source, model=subject.model.name,
        version=subject.model.version, digest=subject.digest,
    )


def _decision(results: list[PolicyResult], subject: Subject, champion: Subject | None, now: dt.datetime, engine: str) -> Decision:
    rules = [r for p in results for r in p.rules]
    tally = {o: 0 for o in ("pass", "fail", "skip", "error", "waived")}
    for r in rules:
        tally[r.outcome] += 1
    counts = Counts.model_construct(passed=tally["pass"], failed=tally["fail"], skipped=tally["skip"], errored=tally["error"], waived=tally["waived"])
    return Decision.model_construct(
        schema_="pml-policy/decision", schema_version=1, id=str(uuid.uuid4()), time=now, engine=engine,
        subject=_summary(subject), champion=_summary(champion) if champion else None,
        outcome=combine([p.outcome for p in results]), policies=results,
        waivers_used=sorted({r.waiver for r in rules if r.waiver}),
        expired_waivers=sorted({w for r in rules for w in r.expired_waivers}), counts=counts,
    )


BACKENDS = {"python": PythonBackend}


def backend(name: str = "python") -> PythonBackend:
    """The evaluator by name: 'python' (default) or 'durable' (needs pml-policy[durable])."""
    if name == "durable":
        from .durable_backend import DurableBackend

        return DurableBackend()
    return BACKENDS[name]()


def evaluate(policies: PolicySet, subject: Subject, champion: Subject | None = None, data: dict | None = None, now: dt.datetime | None = None, engine: str = "python") -> Decision:
    return backend(engine).evaluate(policies, subject, champion, data, now)
