"""`pml-policy analyze`: what no evidence can ever change about a policy set.

Per policy (within its `applies to` scope), the solver is asked, rule by rule: can it pass? can it
fail? can its `when` be true, and false? Then whether a rule adds anything to a stronger rule that
reads the same evidence, whether policies that apply to the same models can pass together, whether
each policy's `on pass` actions can ever run, and whether each waiver can ever apply.

A finding that something cannot happen is a proof; the witness beside it shows the other side
(how the rule fails, when it can never pass) and is evidence `check` decides that way.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import z3
from pydantic import BaseModel, Field

from pml_policy.engine import ast
from pml_policy.engine.loader import PolicySet, load, parse_and_check, policy_files

from . import regexes
from .encoding import BLOCKING, PolicySym, RuleSym, encode_policy, scope
from .solving import DEFAULT_BUDGET, DEFAULT_TIMEOUT, Solver
from .universe import Universe
from .witnesses import Outcomes

Severity = Literal["error", "warning", "note"]
Kind = Literal[
    "unsatisfiable",
    "never_fails",
    "when_never",
    "when_always",
    "redundant",
    "conflict",
    "on_pass_unreachable",
    "waiver_unreachable",
    "waiver_hard",
    "unknown",
]
ANALYSIS_SCHEMA_VERSION = 1
_STRENGTH = {"advisory": 0, "soft": 1, "hard": 2}


class Place(BaseModel):
    policy: str
    rule: str | None = None
    file: str
    line: int
    column: int = 1


class Finding(BaseModel):
    kind: Kind
    severity: Severity
    place: Place
    message: str = Field(description="One line: what is true of every subject.")
    witness: str | None = Field(default=None, description="YAML evidence on which `check` decides as `shows` says.")
    shows: str | None = Field(default=None, description="What the witness shows.")
    no_witness: str | None = Field(default=None, description="Why no witness is shown.")
    assumes: list[str] = Field(default_factory=list, description="What the analysis left unmodelled here.")
    related: list[Place] = Field(default_factory=list)


class Analysis(BaseModel):
    schema_: str = Field(default="pml-policy/analysis", alias="schema")
    schema_version: int = ANALYSIS_SCHEMA_VERSION
    files: list[str]
    policies: int
    rules: int
    findings: list[Finding]
    unknown: int = Field(description="Queries the solver could not decide within the time-out.")
    seconds: float

    model_config = {"populate_by_name": True}

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    def exit_code(self, fail_on: Literal["error", "warn"] = "error") -> int:
        if self.count("error") or (fail_on == "warn" and self.count("warning")):
            return 1
        return 0


def analyze(paths: Sequence[str | Path], timeout: float = DEFAULT_TIMEOUT, budget: float = DEFAULT_BUDGET) -> Analysis:
    """Every finding for the policy files under `paths` (PolicyError/UsageError on bad input)."""
    started = time.perf_counter()
    policies = load(paths)  # every parse and check error first, as `validate` reports them
    parsed, _ = parse_and_check(policy_files(paths))
    u = Universe([p.tree for p in policies.policies if p.tree is not None])
    encoded = [encode_policy(u, p.tree, p.source) for p in policies.policies if p.tree is not None]
    solver = Solver(u, timeout, budget)
    found: list[Finding] = []
    for p in encoded:
        found += _rules(solver, p, policies)
    found += _redundant(solver, encoded, found)
    found += _conflicts(solver, encoded, policies)
    found += _on_pass(solver, encoded, found)
    found += _waivers([(w, tree.path) for tree, _ in parsed for w in tree.waivers], policies)
    if solver.timeouts:
        found.append(_unknown(solver.timeouts, encoded))
    return Analysis(
        files=policies.files,
        policies=len(encoded),
        rules=sum(len(p.rules) for p in encoded),
        findings=found,
        unknown=solver.timeouts,
        seconds=round(time.perf_counter() - started, 3),
    )


def place(p: PolicySym, rule: ast.Rule | None = None, node: ast.Node | None = None) -> Place:
    at = (node or rule or p.tree).loc
    return Place(
        policy=p.name,
        rule=rule.id if rule else None,
        file=p.source,
        line=at.line if at else 1,
        column=at.column if at else 1,
    )


# ---- one rule at a time --------------------------------------------------------------------


def _rules(solver: Solver, p: PolicySym, policies: PolicySet) -> list[Finding]:
    out: list[Finding] = []
    for r in p.rules:
        about = _Rule(solver, policies, p, r)
        when = f"`when {_text(r.rule.when.expr)}`" if r.rule.when else None
        blocking: Severity = "error" if r.level in BLOCKING else "warning"
        if when and solver.ask(p.applies, r.when_true) == "unsat":
            message = f"{when} is never true{_scope(p)}: the rule is always skipped or errors"
            out.append(about.finding("when_never", "warning", message, [p.applies, r.skipped], "skip"))
            continue
        if when and solver.ask(p.applies, r.when_false) == "unsat":
            message = f"{when} is never false{_scope(p)}: it can be left out"
            out.append(about.finding("when_always", "warning", message, [p.applies, r.passed], "pass"))
        if solver.ask(p.applies, r.passed) == "unsat":
            guard = f" {when}" if when else ""
            message = f"no subject can pass {r.id} ({r.level}){guard}{_scope(p)}: {about.required} is never true there"
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
            message = f"{r.id} can never fail{_scope(p)}: {about.required} passes or errors on every subject"
            out.append(about.finding("never_fails", "warning", message, [p.applies, r.passed], "pass"))
    return out


_SHOWS = {"fail": "the rule fails", "pass": "the rule passes", "skip": "the rule is skipped"}


class _Rule:
    """Findings about one rule, each with a witness the engine confirms."""

    def __init__(self, solver: Solver, policies: PolicySet, p: PolicySym, r: RuleSym) -> None:
        self.solver, self.policies, self.p, self.r = solver, policies, p, r
        assert r.rule.require is not None  # the checker guarantees one
        self.required = f"`{_text(r.rule.require.expr)}`"
        # An unmet sign-off is `pending` where another rule would `fail`.
        self.pending = isinstance(r.rule.require.expr, ast.Approval)

    def finding(self, kind: Kind, severity: Severity, message: str, shown: list[z3.BoolRef], outcome: str) -> Finding:
        p, r = self.p, self.r
        expected = "pending" if outcome == "fail" and self.pending else outcome
        w, decided = self.solver.witness(
            shown, r.realize, [self.policies], lambda got: got[0].get((p.name, r.id)) == expected
        )
        return Finding(
            kind=kind,
            severity=severity,
            place=place(p, r.rule),
            message=message,
            witness=w.yaml() if w else None,
            shows=f"{_SHOWS[outcome]}: {p.name}/{r.id} is {expected}" if w else None,
            no_witness=None if w else _why_none(r.assumes, decided),
            assumes=sorted(r.assumes),
        )


def _why_none(assumes: set[str], decided: list[Outcomes] | None) -> str:
    if assumes:
        return "it depends on what the analysis does not model: " + "; ".join(sorted(assumes))
    if decided is None:
        return "no subject decides it that way (proved)"
    return "the nearest evidence found is decided otherwise by the engine (a floating-point boundary)"


def _scope(p: PolicySym) -> str:
    scopes = [f"{a.scope} {a.pattern}" for a in p.tree.applies]
    return f" (for {' and '.join(scopes)})" if scopes else ""


def _text(node: ast.Expr) -> str:
    from pml_policy.engine.formatter import expr_text

    return expr_text(node)


# ---- across rules and policies -------------------------------------------------------------


def _flagged(found: list[Finding]) -> set[tuple[str, str | None]]:
    return {(f.place.policy, f.place.rule) for f in found}


def _redundant(solver: Solver, encoded: list[PolicySym], found: list[Finding]) -> list[Finding]:
    """R1 adds nothing where, whenever it would block, a rule at least as strong blocks too."""
    from .witnesses import variables

    flagged = _flagged(found)
    rules = [(p, r, variables([r.blocks])) for p in encoded for r in p.rules if (p.name, r.id) not in flagged]
    out: list[Finding] = []
    done: set[tuple[str, str]] = set()
    for (p1, r1, v1), (p2, r2, v2) in itertools.permutations(rules, 2):
        if _STRENGTH[r2.level] < _STRENGTH[r1.level] or not (v1 & v2) or (p1.name, r1.id) in done:
            continue
        if isinstance(r1.rule.require.expr, ast.Approval) or isinstance(r2.rule.require.expr, ast.Approval):  # type: ignore[union-attr]
            continue
        if solver.ask(p1.applies, r1.blocks, z3.Not(z3.And(p2.applies, r2.blocks))) != "unsat":
            continue
        if (p2.name, r2.id) in done:
            continue  # two rules that imply each other: the second one written is reported
        done.add((p1.name, r1.id))
        out.append(
            Finding(
                kind="redundant",
                severity="warning",
                place=place(p1, r1.rule),
                message=f"{p1.name}/{r1.id} is implied by {p2.name}/{r2.id} ({r2.level}): wherever it would fail,"
                " that rule fails too, so it never changes a decision",
                no_witness="a proof over every subject: no subject is blocked by it alone",
                assumes=sorted(r1.assumes | r2.assumes),
                related=[place(p2, r2.rule)],
            )
        )
    return out


def _conflicts(solver: Solver, encoded: list[PolicySym], policies: PolicySet) -> list[Finding]:
    """Policies that apply to one model and cannot all pass: nothing can be promoted there."""
    out: list[Finding] = []
    reported: list[frozenset[str]] = []
    groups = [[p] for p in encoded] + [list(g) for g in itertools.combinations(encoded, 2)]
    for group in groups:
        together = [p.applies for p in group]
        if any(reported_set <= frozenset(p.name for p in group) for reported_set in reported):
            continue
        if len(group) > 1 and solver.ask(*together) != "sat":
            continue  # never apply to the same subject
        if solver.ask(*together, *[p.passes for p in group]) != "unsat":
            continue
        if len(group) > 1 and any(solver.ask(p.applies, p.passes) == "unsat" for p in group):
            continue  # one of them cannot pass on its own: reported as that policy's own conflict
        tracked = {f"{p.name}/{r.id}": z3.Not(r.blocks) for p in group for r in p.rules if r.level in BLOCKING}
        core = solver.core(together, tracked) or sorted(tracked)
        if len(group) == 1 and len(core) < 2:
            continue  # one rule that cannot pass: an `unsatisfiable` finding of its own
        reported.append(frozenset(p.name for p in group))
        out.append(_conflict(solver, group, core, policies))
    return out


def _conflict(solver: Solver, group: list[PolicySym], core: list[str], policies: PolicySet) -> Finding:
    rules = {f"{p.name}/{r.id}": (p, r) for p in group for r in p.rules}
    first_p, first_r = rules[core[0]]
    names = " and ".join(f'"{p.name}"' for p in group)
    what = f"policy {names}" if len(group) == 1 else f"policies {names} apply to the same models"
    others = [rules[c] for c in core[1:]]
    # The witness: the first rule of the conflict passes, so one of the others must fail.
    w, decided = solver.witness(
        [*[p.applies for p in group], z3.Not(first_r.blocks)],
        [c for p in group for c in p.realize],
        [policies],
        lambda got: (
            got[0].get((first_p.name, first_r.id)) in ("pass", "skip")
            and any(got[0].get((p.name, r.id)) in ("fail", "error", "pending") for p, r in others)
        ),
    )
    return Finding(
        kind="conflict",
        severity="error",
        place=place(first_p, first_r.rule),
        message=f"{what} and cannot all pass: {', '.join(core)} never pass together, so nothing can be promoted"
        + (f" ({_scopes(group)})" if any(p.tree.applies for p in group) else ""),
        witness=w.yaml() if w else None,
        shows=f"{core[0]} passes, and then {' or '.join(c for c in core[1:])} does not" if w else None,
        no_witness=None if w else _why_none({a for p in group for a in p.assumes}, decided),
        assumes=sorted({a for p in group for a in p.assumes}),
        related=[place(p, r.rule) for p, r in others],
    )


def _scopes(group: list[PolicySym]) -> str:
    return "; ".join(
        f"{p.name} applies to {', '.join(f'{a.scope} {a.pattern}' for a in p.tree.applies)}"
        for p in group
        if p.tree.applies
    )


def _on_pass(solver: Solver, encoded: list[PolicySym], found: list[Finding]) -> list[Finding]:
    """`on pass` runs when the policy passes and the whole decision does: every other policy that
    applies passes too."""
    out = []
    for p in encoded:
        if p.tree.on_pass is None or not p.tree.on_pass.actions:
            continue
        others = [z3.Implies(q.applies, q.passes) for q in encoded if q is not p]
        if solver.ask(p.applies, p.passes, *others) != "unsat":
            continue
        out.append(
            Finding(
                kind="on_pass_unreachable",
                severity="warning",
                place=place(p, node=p.tree.on_pass),
                message=f"the `on pass` actions of {p.name} can never run: no subject passes it with a decision"
                " that passes",
                no_witness="a proof over every subject",
                assumes=sorted(p.assumes),
            )
        )
    return out


def _waivers(waivers: list[tuple[ast.Waiver, str]], policies: PolicySet) -> list[Finding]:
    out = []
    by_name = {p.name: p for p in policies.policies}
    for w, source in waivers:
        if w.target is None or w.model is None or w.target.policy not in by_name:
            continue
        p = by_name[w.target.policy]
        at = Place(policy=p.name, rule=w.target.rule, file=source, line=w.line, column=w.loc.column if w.loc else 1)
        if p.applies and not _globs_meet(w.model.model, p.applies):
            out.append(
                Finding(
                    kind="waiver_unreachable",
                    severity="warning",
                    place=at,
                    message=f'waiver "{w.id}" names model "{w.model.model}", which {p.name} never applies to'
                    f" ({', '.join(p.applies)}): it can never be used",
                    no_witness="no model name matches both",
                )
            )
        rule = next((r for r in p.rules if r.id == w.target.rule), None)
        if rule is not None and rule.level == "hard":
            out.append(
                Finding(
                    kind="waiver_hard",
                    severity="warning",
                    place=at,
                    message=f'waiver "{w.id}" covers {p.name}/{rule.id}, a hard rule: no waiver can lift it',
                    no_witness="hard rules are never waived",
                )
            )
    return out


def _globs_meet(waiver_glob: str, applies: list[str]) -> bool:
    name = z3.String("model")
    s = z3.Solver()
    s.add(z3.InRe(name, regexes.glob(waiver_glob)), z3.Or([z3.InRe(name, regexes.glob(g)) for g in applies]))
    return s.check() != z3.unsat


def _unknown(count: int, encoded: list[PolicySym]) -> Finding:
    p = encoded[0]
    return Finding(
        kind="unknown",
        severity="note",
        place=place(p),
        message=f"{count} question(s) were not decided within the solver's time-out or the analysis's budget: "
        "raise --timeout or --budget to decide them (nothing is reported about them)",
    )
