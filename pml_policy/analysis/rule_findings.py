"""Findings about one rule at a time, within its policy's scope: can it pass, can it fail, can
its `when` be true, and false; for a policy of several model globs, can it pass for each."""

from __future__ import annotations

import z3

from pml_policy.engine import ast
from pml_policy.engine.loader import PolicySet

from .encoding import scope
from .findings import Finding, Kind, Severity, place, scope_of, text, why_none
from .outcomes import BLOCKING, PolicySym, RuleSym
from .solving import Solver


def rule_findings(solver: Solver, p: PolicySym, policies: PolicySet) -> list[Finding]:
    out: list[Finding] = []
    for r in p.rules:
        about = _Rule(solver, policies, p, r)
        when = f"`when {text(r.rule.when.expr)}`" if r.rule.when else None
        blocking: Severity = "error" if r.level in BLOCKING else "warning"
        if when and solver.ask(p.applies, r.when_true) == "unsat":
            message = f"{when} is never true{scope_of(p)}: the rule is always skipped or errors"
            out.append(about.finding("when_never", "warning", message, [p.applies, r.skipped], "skip"))
            continue
        if when and solver.ask(p.applies, r.when_false) == "unsat":
            message = f"{when} is never false{scope_of(p)}: it can be left out"
            out.append(about.finding("when_always", "warning", message, [p.applies, r.passed], "pass"))
        if solver.ask(p.applies, r.passed) == "unsat":
            guard = f" {when}" if when else ""
            message = (
                f"no subject can pass {r.id} ({r.level}){guard}{scope_of(p)}: {about.required} is never true there"
            )
            out.append(about.finding("unsatisfiable", blocking, message, [p.applies, r.failed], "fail"))
            continue
        globs = [a.pattern for a in p.tree.applies if a.scope == "model"]
        for glob in globs if len(globs) > 1 else []:
            only = scope(solver.u, p.tree, glob)  # one glob of several: facts and rules may read model.name
            if solver.ask(only, r.passed) == "unsat" and solver.ask(only, r.when_true) == "sat":
                message = (
                    f'no model matching "{glob}" can pass {r.id} ({r.level}): {about.required} is never true there'
                )
                out.append(about.finding("unsatisfiable", blocking, message, [only, r.failed], "fail"))
        if solver.ask(p.applies, r.failed) == "unsat":
            message = f"{r.id} can never fail{scope_of(p)}: {about.required} passes or errors on every subject"
            out.append(about.finding("never_fails", "warning", message, [p.applies, r.passed], "pass"))
    return out


_SHOWS = {
    "fail": "the rule fails",
    "pass": "the rule passes",
    "skip": "the rule is skipped",
    "error": "the rule errors",
}


class _Rule:
    """Findings about one rule, each with a witness the engine confirms."""

    def __init__(self, solver: Solver, policies: PolicySet, p: PolicySym, r: RuleSym) -> None:
        self.solver, self.policies, self.p, self.r = solver, policies, p, r
        assert r.rule.require is not None  # the checker guarantees one
        self.required = f"`{text(r.rule.require.expr)}`"
        # An unmet sign-off is `pending` where another rule would `fail`.
        self.pending = isinstance(r.rule.require.expr, ast.Approval)

    def finding(self, kind: Kind, severity: Severity, message: str, shown: list[z3.BoolRef], outcome: str) -> Finding:
        p, r = self.p, self.r
        expected = "pending" if outcome == "fail" and self.pending else outcome
        w, decided = self.solver.witness(
            shown, r.realize, [self.policies], lambda got: got[0].get((p.name, r.id)) == expected
        )
        if w is None and decided is None and outcome == "fail":  # it cannot even fail: show how it errors
            outcome = expected = "error"
            shown = [*shown[:-1], r.errored]
            w, decided = self.solver.witness(
                shown, r.realize, [self.policies], lambda got: got[0].get((p.name, r.id)) == "error"
            )
        return Finding(
            kind=kind,
            severity=severity,
            place=place(p, r.rule),
            message=message,
            witness=w.yaml() if w else None,
            shows=f"{_SHOWS[outcome]}: {p.name}/{r.id} is {expected}" if w else None,
            no_witness=None if w else why_none(r.assumes, decided),
            assumes=sorted(r.assumes),
        )
