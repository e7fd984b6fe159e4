"""`pml-policy diff OLD NEW`: do two policy sets decide alike for every subject?

Policies are matched by name and rules by id. For each pair of rules the solver is asked for a
subject both versions of the policy apply to on which the two verdicts (pass, fail, skip, error,
pending) differ, following the language's left-to-right `and`/`or`; for each policy, a subject
only one version applies to. "Equivalent" is said only when every such question is proved to have
no answer. Each difference found comes with a counterexample written as an evidence folder, and
kept only after the engine, run on those files, gives the rule different verdicts under the two
sets. Enforcement levels, actions, `rank by`, `operational tags`, waivers and roles are compared as
written.
"""

from __future__ import annotations

import re
import shlex
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import z3
from pydantic import BaseModel, Field

from pml_policy.engine import ast
from pml_policy.engine.loader import PolicySet, load_with_trees

from .encoding import encode_policy
from .outcomes import PolicySym, RuleSym
from .solving import DEFAULT_BUDGET, DEFAULT_TIMEOUT, Solver
from .universe import Universe
from .witnesses import Outcomes, Witness

DIFF_SCHEMA_VERSION = 1
_OUTCOMES = ("pass", "fail", "skip", "error")


class Difference(BaseModel):
    policy: str
    rule: str | None = Field(default=None, description="None: the policy as a whole (its scope, actions, …).")
    change: str = Field(
        description="verdicts, scope, added, removed, enforcement, actions, rank, operational, waiver, role"
    )
    message: str
    old: str | None = Field(default=None, description="The verdict under OLD on the example.")
    new: str | None = Field(default=None, description="The verdict under NEW on the example.")
    example: str | None = Field(default=None, description="The evidence folder written (--write-example).")
    check: list[str] = Field(default_factory=list, description="The `check` arguments that read the example.")
    witness: str | None = None
    no_example: str | None = None
    assumes: list[str] = Field(default_factory=list)


class SemanticDiff(BaseModel):
    schema_: str = Field(default="pml-policy/diff", alias="schema")
    schema_version: int = DIFF_SCHEMA_VERSION
    old: str
    new: str
    equivalent: bool = Field(description="Proved: every subject gets the same outcome and per-rule verdicts.")
    differences: list[Difference]
    undecided: list[str] = Field(description="Rules the solver could not compare within the time-out.")
    assumes: list[str] = Field(description="What the proof of equivalence takes for granted.")
    seconds: float

    model_config = {"populate_by_name": True}

    @property
    def exit_code(self) -> int:
        return 0 if self.equivalent else 1


def diff(
    old_paths: Sequence[str | Path],
    new_paths: Sequence[str | Path],
    write_to: Path | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    labels: tuple[str, str] | None = None,
    budget: float = DEFAULT_BUDGET,
) -> SemanticDiff:
    started = time.perf_counter()
    (old, old_trees), (new, new_trees) = load_with_trees(old_paths), load_with_trees(new_paths)
    u = Universe([p.tree for s in (old, new) for p in s.policies if p.tree is not None])
    olds = {p.name: encode_policy(u, p.tree, p.source) for p in old.policies if p.tree is not None}
    news = {p.name: encode_policy(u, p.tree, p.source) for p in new.policies if p.tree is not None}
    old_label, new_label = labels or (" ".join(map(str, old_paths)), " ".join(map(str, new_paths)))
    run = _Run(Solver(u, timeout, budget), old, new, write_to, (old_label, new_label))
    for name in sorted(olds.keys() | news.keys()):
        run.policy(name, olds.get(name), news.get(name))
    run.declarations(old_trees, new_trees)
    equivalent = not run.differences and not run.undecided
    assumes = sorted({a for p in [*olds.values(), *news.values()] for a in p.assumes}) if equivalent else []
    return SemanticDiff(
        old=old_label,
        new=new_label,
        equivalent=equivalent,
        differences=run.differences,
        undecided=run.undecided,
        assumes=assumes,
        seconds=round(time.perf_counter() - started, 3),
    )


class _Run:
    def __init__(
        self, solver: Solver, old: PolicySet, new: PolicySet, write_to: Path | None, labels: tuple[str, str]
    ) -> None:
        self.solver, self.old, self.new, self.write_to, self.labels = solver, old, new, write_to, labels
        self.differences: list[Difference] = []
        self.undecided: list[str] = []

    def policy(self, name: str, a: PolicySym | None, b: PolicySym | None) -> None:
        if a is None or b is None:
            present = b or a
            assert present is not None
            change = "added" if a is None else "removed"
            self.example(
                Difference(policy=name, change=change, message=f'policy "{name}" is {change}'),
                [present.applies],
                [],
                lambda got: _has_policy(got[0], name) != _has_policy(got[1], name),
            )
            return
        self.scope(name, a, b)
        rules_a, rules_b = {r.id: r for r in a.rules}, {r.id: r for r in b.rules}
        for rule_id in [*rules_a, *(r for r in rules_b if r not in rules_a)]:
            self.rule(name, a, b, rules_a.get(rule_id), rules_b.get(rule_id))
        for what in ("on_pass", "on_fail", "on_pending", "rank"):
            was, now = getattr(a.tree, what), getattr(b.tree, what)
            if _written(was) != _written(now):
                label = what.replace("_", " ") if what != "rank" else "rank by"
                self.differences.append(
                    Difference(
                        policy=name, change="actions" if what != "rank" else "rank", message=f"`{label}` changed"
                    )
                )
        was_ops = sorted(t for o in a.tree.operational for t in o.patterns)
        now_ops = sorted(t for o in b.tree.operational for t in o.patterns)
        if was_ops != now_ops:  # what sign-offs bind: an approval valid under one may be void under the other
            message = f"`operational tags` changed ({', '.join(was_ops) or 'none'} -> {', '.join(now_ops) or 'none'})"
            self.differences.append(Difference(policy=name, change="operational", message=message))

    def scope(self, name: str, a: PolicySym, b: PolicySym) -> None:
        answer = self.solver.ask(z3.Xor(a.applies, b.applies))
        if answer == "unknown":
            self.undecided.append(f"{name} (scope)")
        elif answer == "sat":
            self.example(
                Difference(policy=name, change="scope", message=f'policy "{name}" applies to other subjects'),
                [z3.Xor(a.applies, b.applies)],
                [],  # only whether it applies is looked at: no rule's reading needs to hold
                lambda got: _has_policy(got[0], name) != _has_policy(got[1], name),
            )

    def rule(self, name: str, a: PolicySym, b: PolicySym, ra: RuleSym | None, rb: RuleSym | None) -> None:
        if ra is None or rb is None:
            present, sym = (rb, b) if ra is None else (ra, a)
            assert present is not None
            change = "added" if ra is None else "removed"
            self.example(
                Difference(policy=name, rule=present.id, change=change, message=f"rule {present.id} is {change}"),
                [sym.applies, present.blocks],
                present.realize,
                lambda got: ((name, present.id) in got[0]) != ((name, present.id) in got[1]),
            )
            return
        both = z3.And(a.applies, b.applies)
        answer = self.solver.ask(both, _verdicts_differ(ra, rb))
        if answer == "unknown":
            self.undecided.append(f"{name}/{ra.id}")
        elif answer == "sat":
            key = (name, ra.id)
            self.example(
                Difference(
                    policy=name, rule=ra.id, change="verdicts", message="its verdicts under OLD and NEW can differ"
                ),
                [both, _verdicts_differ(ra, rb)],
                [*ra.realize, *rb.realize],
                lambda got: key in got[0] and key in got[1] and got[0][key] != got[1][key],
                assumes=ra.assumes | rb.assumes,
            )
        if ra.level != rb.level:
            self.differences.append(
                Difference(
                    policy=name, rule=ra.id, change="enforcement", message=f"{ra.id}: enforce {ra.level} -> {rb.level}"
                )
            )

    def example(
        self,
        difference: Difference,
        formulas: list[z3.BoolRef],
        realize: list[z3.BoolRef],
        expect: Callable[[list[Outcomes]], bool],
        assumes: set[str] | None = None,
    ) -> None:
        folder = None
        if self.write_to is not None:
            folder = self.write_to / _folder_name(difference.policy, difference.rule)
        w, decided = self.solver.witness(
            formulas,
            realize,
            [self.old, self.new],
            expect,
            folder,
            self.readme(difference, folder),
        )
        difference.assumes = sorted(assumes or set())
        if w is None:
            difference.no_example = (
                "it depends on what the analysis does not model: " + "; ".join(sorted(assumes))
                if assumes
                else "the nearest evidence found is decided alike by the engine (a floating-point boundary, or "
                "what the analysis leaves unmodelled)"
                if decided
                else "none found"
            )
        else:
            assert decided is not None
            difference.witness = w.yaml()
            key = (difference.policy, difference.rule) if difference.rule else None
            if key is not None:
                difference.old, difference.new = decided[0].get(key, "absent"), decided[1].get(key, "absent")
            else:
                difference.old = "applies" if _has_policy(decided[0], difference.policy) else "does not apply"
                difference.new = "applies" if _has_policy(decided[1], difference.policy) else "does not apply"
            if folder is not None:
                difference.example = str(folder)
                difference.check = w.args(folder)
        self.differences.append(difference)

    def readme(self, difference: Difference, folder: Path | None) -> Callable[[Witness], str] | None:
        """The README line of an example: the two `check` commands that decide it differently."""
        if folder is None:
            return None
        what = f"{difference.policy}/{difference.rule}" if difference.rule else f'policy "{difference.policy}"'

        def line(w: Witness) -> str:
            args = " ".join(shlex.quote(a) for a in w.args(folder))
            return (
                f"{what} decides differently here: pml-policy check {args} -p {self.labels[0]}   "
                f"vs   -p {self.labels[1]}   ({difference.message}; written by pml-policy diff)"
            )

        return line

    def declarations(self, old: list[ast.PolicyFile], new: list[ast.PolicyFile]) -> None:
        """Waivers and roles, compared as written."""
        before, after = _declarations(old), _declarations(new)
        for key in sorted(before.keys() | after.keys()):
            if before.get(key) != after.get(key):
                kind, name = key
                state = "added" if key not in before else "removed" if key not in after else "changed"
                self.differences.append(Difference(policy=name, change=kind, message=f'{kind} "{name}" {state}'))


def _verdicts_differ(a: RuleSym, b: RuleSym) -> z3.BoolRef:
    same = [a.outcome(o) == b.outcome(o) for o in _OUTCOMES]
    if _pending(a) != _pending(b):  # an unmet sign-off is `pending`, an unmet check `fail`
        same.append(z3.Not(z3.And(a.failed, b.failed)))
    return z3.Not(z3.And(same))


def _pending(r: RuleSym) -> bool:
    return isinstance(r.rule.require.expr if r.rule.require else None, ast.Approval)


def _has_policy(outcomes: Outcomes, name: str) -> bool:
    return any(p == name for p, _ in outcomes)


def _written(node: ast.Node | None) -> object:
    return node.model_dump() if node is not None else None


def _declarations(trees: list[ast.PolicyFile]) -> dict[tuple[str, str], object]:
    found: dict[tuple[str, str], object] = {}
    for tree in trees:
        for w in tree.waivers:
            found[("waiver", w.id)] = w.model_dump()
        for r in tree.roles:
            found[("role", r.name)] = r.model_dump()
    return found


def _folder_name(policy: str, rule: str | None) -> str:
    """A file name for an example: the policy's name may hold anything (`/`, `..`)."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", f"{policy}.{rule}" if rule else policy)[:200]
    return "_" + name if name.startswith(".") else name
