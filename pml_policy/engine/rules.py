"""Rules and policies as callables: each rule becomes one runner (when, then require, with the
message that fits its shape), each policy its facts in dependency order and its rules.

Built on the expression closures of compiler.py; the evaluator (python_backend.py) only runs them.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from . import ast
from .checker import roots
from .compiler import compile_comparison, compile_expr, compile_quantifier, tally
from .decision import Level, RuleOutcome
from .environment import Env, FactFailed, FactValue, Fn, is_param
from .formatter import expr_text
from .values import ABSENT, EQUAL, INF, ORDER, EvalError, EvalTypeError, Missing, as_bool, compare, show

# A rule's verdict before waivers: (outcome, message, observed). A plain tuple, not a NamedTuple:
# one is made per rule per evaluation, and that difference is a tenth of an evaluation's time.
Raw = tuple[RuleOutcome, str, dict[str, Any]]


@dataclass
class CompiledRule:
    id: str
    title: str | None
    level: Level
    line: int | None
    required: str
    when: Fn | None
    when_text: str | None
    check: Callable[[Env], tuple[bool, str]]  # -> (verdict, message)
    require: ast.Expr | None = None
    run: Callable[[Env], Raw] = field(init=False)  # when, then check, as one closure

    def __post_init__(self) -> None:
        threshold = _threshold_runner(self)
        self.run = threshold if threshold is not None and self.when is None else _runner(self, threshold)


def _error_message(exc: EvalError, required: str) -> str:
    if isinstance(exc, Missing):
        if exc.path == "champion":
            return (
                f"missing evidence: there is no champion (required: {required}); "
                "guard the rule with: when champion exists"
            )
        return f"missing evidence: {exc} (required: {required})"
    return f"type error: {exc} (required: {required})"


def _threshold_runner(rule: CompiledRule) -> Callable[..., Raw] | None:
    """The hot shape, fused: `require metrics.x >= 0.8`. Most rules of real policies look like
    this; reading, comparing and the message in one closure saves three calls per rule. Same
    semantics as _runner over _checker (the evaluator tests pin both). Run as `run(env)`; a rule
    with a `when` runs it as `run(env, observed)` once the guard holds, adding to what it read."""
    node = rule.require
    if not isinstance(node, ast.Binary) or not isinstance(node.right, ast.Number):
        return None
    left = node.left
    if (
        not isinstance(left, ast.Path)
        or len(left.parts) != 2
        or left.parts[0] not in ("metrics", "tags", "model", "run")
    ):
        return None
    (root, key), op, threshold, required = left.parts, node.op, node.right.value, rule.required
    fast, text = ORDER.get(op) or EQUAL.get(op), expr_text(left)
    if fast is None:
        return None
    head, tail = f"{text} = ", f", required {op} {expr_text(node.right)}"

    def run(env: Env, observed: dict[str, Any] | None = None) -> Raw:
        v = env.subject[root].get(key, ABSENT)
        if v is ABSENT or v is None or (type(v) is float and not -INF < v < INF):  # is_missing, inlined: hot
            env.observed = {} if observed is None else observed
            return ("error", _error_message(env.missing(text, v), required), env.observed)
        if observed is None:
            observed = {text: v}
        else:
            observed[text] = v
        if type(v) is float:  # show(v) inlined for a finite float: the message is a third of the rule
            shown = str(int(v)) if v.is_integer() and -1e15 < v < 1e15 else "%.6g" % v  # noqa: UP031 (as show())
            return ("pass" if fast(v, threshold) else "fail", head + shown + tail, observed)
        if type(v) is int:
            ok = fast(v, threshold)
        else:
            try:
                ok = compare(op, v, threshold)
            except EvalTypeError as exc:
                return ("error", _error_message(exc, required), observed)
        return ("pass" if ok else "fail", head + show(v) + tail, observed)

    return run


def _runner(rule: CompiledRule, threshold: Callable[..., Raw] | None = None) -> Callable[[Env], Raw]:
    """The closure that decides one rule: pass, fail, skip (its when is false) or error. With
    `threshold`, the fused check of a threshold rule runs once its `when` holds."""
    check, when, when_text, required = rule.check, rule.when, rule.when_text, rule.required
    unmet: RuleOutcome = "pending" if isinstance(rule.require, ast.Approval) else "fail"  # a sign-off awaited

    def run(env: Env) -> Raw:
        observed: dict[str, Any] = {}
        env.observed = observed
        try:
            ok, message = check(env)
        except EvalError as exc:
            return ("error", _error_message(exc, required), env.observed)
        return ("pass" if ok else unmet, message, observed)

    if when is None:
        return run

    def run_when(env: Env) -> Raw:
        env.observed = {}
        try:
            applies = when(env)
        except EvalError as exc:
            return ("error", _error_message(exc, required), env.observed)
        if applies is not True and applies is not False:
            return ("error", f"type error: when {when_text} gave {show(applies)}, not true or false", env.observed)
        if not applies:
            seen = env.seen()
            return ("skip", f"skipped: {when_text} is false" + (f" ({seen})" if seen else ""), env.observed)
        observed = env.observed
        if threshold is not None:
            return threshold(env, observed)
        try:
            ok, message = check(env)
        except EvalError as exc:
            return ("error", _error_message(exc, required), env.observed)
        return ("pass" if ok else unmet, message, observed)

    return run_when


@dataclass
class CompiledPolicy:
    name: str
    version: str
    digest: str
    source: str
    applies: list[str]  # globs on the model name
    facts: list[tuple[str, Fn]]
    rules: list[CompiledRule]
    on_pass: list[ast.SetAlias | ast.SetTag | ast.RevertAlias] = field(default_factory=list)
    on_fail: list[ast.SetAlias | ast.SetTag | ast.RevertAlias] = field(default_factory=list)
    on_pending: list[ast.SetAlias | ast.SetTag | ast.RevertAlias] = field(default_factory=list)
    rank: ast.Rank | None = None
    aliases: list[str] = field(default_factory=list)  # `applies to alias`: only subjects holding one of them
    tree: ast.Policy | None = None

    @property
    def needs_approval(self) -> bool:
        return any(isinstance(r.require, ast.Approval) for r in self.rules)

    def applies_to(self, model_name: str | None, aliases: list[str] | None = None) -> bool:
        """`applies to model` globs and `applies to alias` names: several of one kind are
        alternatives, both kinds must hold. aliases=None: the subject's aliases are not known yet
        (what may apply to some version of the model)."""
        if self.applies and not (
            model_name is not None and any(fnmatch.fnmatchcase(model_name, p) for p in self.applies)
        ):
            return False
        return not self.aliases or aliases is None or any(a in aliases for a in self.aliases)

    @property
    def scope(self) -> str:
        """Where it applies, as people read it."""
        parts = [f"model {', '.join(self.applies)}"] if self.applies else []
        parts += [f"alias {', '.join(self.aliases)}"] if self.aliases else []
        return " and ".join(parts) or "every model"


def _checker(node: ast.Expr, facts: frozenset[str]) -> Callable[[Env], tuple[bool, str]]:
    """The require test of a rule with the message that fits its shape."""
    required = expr_text(node)
    if isinstance(node, ast.Binary) and node.op in ("==", "!=", "<", "<=", ">", ">="):
        pair = compile_comparison(node, facts)
        ltext, rtext, op = expr_text(node.left), expr_text(node.right), node.op
        head, tail = f"{ltext} = ", f", required {op} {rtext}"  # built once: messages are hot

        if isinstance(node.right, ast.Number) and not is_param(node.left):
            # The threshold check, the most common rule: one getter, one comparison, one message.
            left, threshold, fast = compile_expr(node.left, facts), node.right.value, ORDER.get(op) or EQUAL[op]

            def against_number(env: Env) -> tuple[bool, str]:
                l = left(env)
                ok = fast(l, threshold) if type(l) is float or type(l) is int else compare(op, l, threshold)
                return ok, head + show(l) + tail

            return against_number

        if isinstance(node.right, (ast.Number, ast.String, ast.Bool, ast.Date, ast.Duration)) or (
            isinstance(node.right, ast.ListLit) and not node.right.items
        ):

            def comparison(env: Env) -> tuple[bool, str]:
                ok, l, _ = pair(env)
                return ok, head + show(l) + tail

        else:

            def comparison(env: Env) -> tuple[bool, str]:
                ok, l, r = pair(env)
                return ok, head + show(l) + tail + " = " + show(r)

        return comparison
    if isinstance(node, ast.Approval):

        def approved(env: Env) -> tuple[bool, str]:
            counted = tally(env, node)
            return counted.met, counted.message()

        return approved
    if isinstance(node, ast.Presence):
        test = compile_expr(node, facts)
        target = expr_text(node.operand)
        want = node.op

        def presence(env: Env) -> tuple[bool, str]:
            ok = test(env)
            present = ok if want == "exists" else not ok
            return (
                ok,
                f"{target} is {'present' if present else 'missing'}, required to "
                f"{'exist' if want == 'exists' else 'be missing'}",
            )

        return presence
    if isinstance(node, ast.Quantifier):
        q = compile_quantifier(node, facts)
        head = (
            f"{node.quant} metrics matching {expr_text(ast.String(value=node.glob))} {node.op} {expr_text(node.right)}"
        )

        def quantifier(env: Env) -> tuple[bool, str]:
            ok, hits, r = q(env)
            failing = [h for h in hits if not h[2]]
            if ok and not failing:
                return ok, f"{len(hits)} of {len(hits)} metrics {node.op} {show(r)} (required {head})"
            listed = ", ".join(f"metrics.{n} = {show(v)}" for n, v, _ in failing[:5])
            more = f" and {len(failing) - 5} more" if len(failing) > 5 else ""
            return ok, f"{listed}{more}: {len(hits) - len(failing)} of {len(hits)} pass, required {head}"

        return quantifier
    test = compile_expr(node, facts)

    def general(env: Env) -> tuple[bool, str]:
        ok = as_bool(test(env), "require")
        seen = env.seen()
        return ok, f"{required} is {'true' if ok else 'false'}" + (f" ({seen})" if seen else "")

    return general


def compile_policy(policy: ast.Policy, digest: str, source: str) -> CompiledPolicy:
    fact_names = frozenset(f.name for f in policy.facts)
    ordered = _fact_order(policy.facts, fact_names)
    rules = []
    for r in policy.rules:
        assert r.require is not None, "the checker guarantees a require"
        rules.append(
            CompiledRule(
                id=r.id,
                title=r.title,
                level=cast(Level, r.level),  # the checker accepted only LEVELS
                line=r.loc.line if r.loc else None,
                required=expr_text(r.require.expr),
                when=compile_expr(r.when.expr, fact_names) if r.when else None,
                when_text=expr_text(r.when.expr) if r.when else None,
                check=_checker(r.require.expr, fact_names),
                require=r.require.expr,
            )
        )
    return CompiledPolicy(
        name=policy.name,
        version=policy.version,
        digest=digest,
        source=source,
        applies=[a.pattern for a in policy.applies if a.scope == "model"],
        aliases=[a.pattern for a in policy.applies if a.scope == "alias"],
        facts=[(f.name, compile_expr(f.expr, fact_names)) for f in ordered],
        rules=rules,
        on_pass=list(policy.on_pass.actions) if policy.on_pass else [],
        on_fail=list(policy.on_fail.actions) if policy.on_fail else [],
        on_pending=list(policy.on_pending.actions) if policy.on_pending else [],
        rank=policy.rank,
        tree=policy,
    )


def _fact_order(facts: list[ast.Fact], names: frozenset[str]) -> list[ast.Fact]:
    """Facts in dependency order (the checker has ruled out cycles)."""
    by_name = {f.name: f for f in facts}
    done: dict[str, ast.Fact] = {}

    def visit(f: ast.Fact) -> None:
        if f.name in done:
            return
        for dep in sorted(roots(f.expr) & names):
            visit(by_name[dep])
        done[f.name] = f

    for f in facts:
        visit(f)
    return list(done.values())


def compute_facts(policy: CompiledPolicy, env: Env) -> None:
    env.facts = {}
    for name, fn in policy.facts:
        env.observed = {}
        try:
            env.facts[name] = FactValue(fn(env), env.observed)
        except EvalError as exc:
            env.facts[name] = FactFailed(exc, env.observed)
