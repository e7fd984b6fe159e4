"""Findings across rules, policies and waivers: a rule implied by a stronger one, policies that
cannot pass together (with the smallest set of rules that conflict), `on pass` actions that never
run, waivers that never apply or cover a hard rule."""

from __future__ import annotations

import itertools

import z3

from pml_policy.engine import ast
from pml_policy.engine.loader import PolicySet

from . import regexes
from .findings import Finding, Place, place, why_none
from .outcomes import BLOCKING, PolicySym
from .solving import Solver
from .witnesses import variables

_STRENGTH = {"advisory": 0, "soft": 1, "hard": 2}


def _flagged(found: list[Finding]) -> set[tuple[str, str | None]]:
    return {(f.place.policy, f.place.rule) for f in found}


def redundant(
    solver: Solver, encoded: list[PolicySym], found: list[Finding], waived: set[tuple[str, str]]
) -> list[Finding]:
    """R1 adds nothing where, whenever it would block, a rule at least as strong blocks too (and no
    waiver can lift that rule where it does not lift R1: a waived rule implies nothing)."""
    flagged = _flagged(found)
    rules = [(p, r, variables([r.blocks])) for p in encoded for r in p.rules if (p.name, r.id) not in flagged]
    out: list[Finding] = []
    done: set[tuple[str, str]] = set()
    for (p1, r1, v1), (p2, r2, v2) in itertools.permutations(rules, 2):
        if _STRENGTH[r2.level] < _STRENGTH[r1.level] or not (v1 & v2) or (p1.name, r1.id) in done:
            continue
        if r2.level != "hard" and (p2.name, r2.id) in waived:
            continue
        if isinstance(r1.rule.require.expr, ast.Approval) or isinstance(r2.rule.require.expr, ast.Approval):  # type: ignore[union-attr]
            continue
        if solver.ask(p1.applies, r1.blocks, z3.Not(z3.And(p2.applies, r2.blocks))) != "unsat":
            continue
        if (p2.name, r2.id) in done:
            continue  # two rules that imply each other: the first written is reported, implied by the other
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


def conflicts(solver: Solver, encoded: list[PolicySym], policies: PolicySet) -> list[Finding]:
    """Policies that apply to one model and cannot all pass: nothing can be promoted there."""
    alone = {p.name: solver.ask(p.applies, p.passes) for p in encoded}  # each asked once, used by every group
    meets = {
        frozenset((p.name, q.name)): solver.ask(p.applies, q.applies) == "sat"
        for p, q in itertools.combinations(encoded, 2)
    }
    pairs = [[p, q] for p, q in itertools.combinations(encoded, 2) if meets[frozenset((p.name, q.name))]]
    out: list[Finding] = []
    reported: list[frozenset[str]] = []
    for group in [[p] for p in encoded] + pairs + _overlapping(encoded, meets):  # the smallest first
        together = [p.applies for p in group]
        if any(reported_set <= frozenset(p.name for p in group) for reported_set in reported):
            continue
        if len(group) == 1:
            if alone[group[0].name] != "unsat":
                continue
        elif len(group) > 2 and solver.ask(*together) != "sat":
            continue  # each pair meets, but not all of them at once
        elif solver.ask(*together, *[p.passes for p in group]) != "unsat":
            continue
        elif any(alone[p.name] == "unsat" for p in group):
            continue  # one of them cannot pass on its own: reported as that policy's own conflict
        tracked = {f"{p.name}/{r.id}": z3.Not(r.blocks) for p in group for r in p.rules if r.level in BLOCKING}
        core = solver.core(together, tracked) or sorted(tracked)
        if len(group) == 1 and len(core) < 2:
            continue  # one rule that cannot pass: an `unsatisfiable` finding of its own
        reported.append(frozenset(p.name for p in group))
        out.append(_conflict(solver, group, core, policies))
    return out


def _overlapping(encoded: list[PolicySym], meets: dict[frozenset[str], bool]) -> list[list[PolicySym]]:
    """For each policy, it and every policy that can apply to a subject it applies to, when there
    are more than two: conflicts no pair shows (each pair can pass, all of them cannot)."""
    groups: dict[frozenset[str], list[PolicySym]] = {}
    for p in encoded:
        group = [q for q in encoded if q is p or meets[frozenset((p.name, q.name))]]
        if len(group) > 2:
            groups.setdefault(frozenset(q.name for q in group), group)
    return list(groups.values())


def _conflict(solver: Solver, group: list[PolicySym], core: list[str], policies: PolicySet) -> Finding:
    rules = {f"{p.name}/{r.id}": (p, r) for p in group for r in p.rules}
    first_p, first_r = rules[core[0]]
    quoted = [f'"{p.name}"' for p in group]
    names = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]
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
        no_witness=None if w else why_none({a for p in group for a in p.assumes}, decided),
        assumes=sorted({a for p in group for a in p.assumes}),
        related=[place(p, r.rule) for p, r in others],
    )


def _scopes(group: list[PolicySym]) -> str:
    return "; ".join(
        f"{p.name} applies to {', '.join(f'{a.scope} {a.pattern}' for a in p.tree.applies)}"
        for p in group
        if p.tree.applies
    )


def on_pass(solver: Solver, encoded: list[PolicySym], found: list[Finding]) -> list[Finding]:
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


def waivers(waivers: list[tuple[ast.Waiver, str]], policies: PolicySet) -> list[Finding]:
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


def undecided(count: int, encoded: list[PolicySym]) -> Finding:
    p = encoded[0]
    return Finding(
        kind="unknown",
        severity="note",
        place=place(p),
        message=f"{count} question(s) were not decided within the solver's time-out or the analysis's budget: "
        "raise --timeout or --budget to decide them (nothing is reported about them)",
    )
