"""`rank by`: the order in which passing candidates compete for an alias (DSL.md, Semantics)."""

from __future__ import annotations

from collections.abc import Callable

from .compiler import compile_expr
from .environment import Env
from .rules import CompiledPolicy, compute_facts
from .subject import Subject
from .values import EvalError, is_number


def ranker(policy: CompiledPolicy, data: dict | None = None) -> Callable[[Subject], float | None]:
    """A function giving a candidate's rank value under the policy's `rank by`: a number, or None
    when its evidence can't give one (absent, not a number). Compiled once for all candidates.
    Candidates compete with each other, so `champion.…` reads as absent here."""
    if policy.rank is None:
        return lambda subject: None
    fn = compile_expr(policy.rank.expr, frozenset(name for name, _ in policy.facts))

    def value(subject: Subject) -> float | None:
        env = Env(subject.view(), None, data or {})
        compute_facts(policy, env)
        try:
            v = fn(env)
        except EvalError:
            return None
        return float(v) if is_number(v) and v == v else None  # NaN never wins

    return value


def order(candidates: list[tuple[Subject, float | None]], descending: bool) -> list[Subject]:
    """Best first: by rank value (those without one last), ties to the newer version."""

    def key(item: tuple[Subject, float | None]) -> tuple[int, float, int]:
        subject, v = item
        version = int(subject.model.version or "") if (subject.model.version or "").isdigit() else -1
        if v is None:
            return (1, 0.0, -version)
        return (0, -v if descending else v, -version)

    return [s for s, _ in sorted(candidates, key=key)]
