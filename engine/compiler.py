"""Checked syntax tree to Python closures: each expression becomes a function of an Env.

Nothing here parses or evaluates text: the tree's shape picks which prebuilt closure runs, and
literal values are captured as Python constants. Missing evidence raises Missing and a type
mismatch raises EvalTypeError; the rule runner turns both into the `error` outcome.
"""
from __future__ import annotations

import datetime as dt
import fnmatch
import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import ast
from .checker import roots
from .formatter import expr_text
from .values import ABSENT, EvalError, EvalTypeError, Missing, describe, is_missing, is_number, show


class Env:
    """What one evaluation reads: the subject, the champion, context data, facts; what it saw."""

    __slots__ = ("subject", "champion", "data", "facts", "observed", "absent")

    def __init__(self, subject: dict, champion: dict | None, data: dict) -> None:
        self.subject = subject
        self.champion = champion
        self.data = data
        self.facts: dict[str, Any] = {}
        self.observed: dict[str, Any] = {}  # path -> value read by the current rule (None when absent)
        self.absent: set[str] = set()  # paths found absent in this evaluation, to say "absent", not "null"

    def missing(self, text: str, v: Any) -> Missing:
        """Record a path that cannot be read, and the exception that makes its rule an error."""
        if v is ABSENT:
            self.absent.add(text)
            v = None
        self.observed[text] = v
        return Missing(text, ABSENT if text in self.absent else v)

    def seen(self) -> str:
        """The observed values as a message lists them (the first six)."""
        parts = []
        for k, v in self.observed.items():
            parts.append(f"{k} = absent" if k in self.absent else f"{k} = {show(v)}")
            if len(parts) == 6:
                break
        return ", ".join(parts)


Fn = Callable[[Env], Any]

_ORDER = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_EQUAL = {"==": operator.eq, "!=": operator.ne}
_ARITH = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}


class _FactFailed:
    """A fact that could not be computed: rules that read it fail with its reason."""

    __slots__ = ("error", "observed")

    def __init__(self, error: EvalError, observed: dict) -> None:
        self.error = error
        self.observed = observed


class _FactValue:
    """A computed fact with the evidence it read, which becomes evidence of every rule using it."""

    __slots__ = ("value", "observed")

    def __init__(self, value: Any, observed: dict) -> None:
        self.value = value
        self.observed = observed


# ---- values ---------------------------------------------------------------------------------


def param_number(v: Any, text: str) -> Any:
    """A param is a string; beside a number it is read as one if it parses, else a type error."""
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            raise EvalTypeError(f"{text} = {show(v)} is not a number") from None
    return v


def _comparable(l: Any, r: Any) -> tuple[Any, Any]:
    if isinstance(l, dt.datetime) and type(r) is dt.date:
        return l.date(), r
    if type(l) is dt.date and isinstance(r, dt.datetime):
        return l, r.date()
    return l, r


def compare(op: str, l: Any, r: Any) -> bool:
    if is_number(l) and is_number(r):
        return (_ORDER.get(op) or _EQUAL[op])(l, r)
    l, r = _comparable(l, r)
    same = type(l) is type(r) or (isinstance(l, dt.date) and isinstance(r, dt.date))
    if op in _EQUAL:
        if same and not isinstance(l, dict):
            return _EQUAL[op](l, r)
    elif same and isinstance(l, (str, dt.date)):
        return _ORDER[op](l, r)
    raise EvalTypeError(f"cannot compare {describe(l)} {op} {describe(r)}")


def _is_param(node: ast.Expr) -> bool:
    if not isinstance(node, ast.Path):
        return False
    parts = node.parts[1:] if node.parts[0] == "champion" else node.parts
    return bool(parts) and parts[0] == "params"


# ---- expressions ----------------------------------------------------------------------------


def compile_expr(node: ast.Expr, facts: frozenset[str] = frozenset()) -> Fn:
    """The closure for one expression; `facts` are the fact names its policy defines."""
    match node:
        case ast.Number() | ast.String() | ast.Bool() | ast.Date():
            value = node.value
            return lambda env: value
        case ast.ListLit():
            items = [compile_expr(i, facts) for i in node.items]
            return lambda env: [f(env) for f in items]
        case ast.Path():
            return _path(node, facts)
        case ast.Artifact():
            return _artifact(node.path)
        case ast.Presence():
            return _presence(node, facts)
        case ast.Unary(op="not"):
            operand = compile_expr(node.operand, facts)
            return lambda env: not _bool(operand(env), "not")
        case ast.Unary():
            operand, text = _numeric_operand(node.operand, facts)

            def neg(env: Env) -> Any:
                v = operand(env)
                if not is_number(v):
                    raise EvalTypeError(f"cannot negate {describe(v)} ({text})")
                return -v

            return neg
        case ast.Binary(op="and"):
            left, right = compile_expr(node.left, facts), compile_expr(node.right, facts)
            return lambda env: _bool(left(env), "and") and _bool(right(env), "and")
        case ast.Binary(op="or"):
            left, right = compile_expr(node.left, facts), compile_expr(node.right, facts)
            return lambda env: _bool(left(env), "or") or _bool(right(env), "or")
        case ast.Binary(op="in" | "not in"):
            return _membership(node, facts)
        case ast.Binary() if node.op in _ARITH:
            return _arith(node, facts)
        case ast.Binary():
            pair = compile_comparison(node, facts)
            return lambda env: pair(env)[0]
        case ast.Matches():
            operand, pattern = compile_expr(node.operand, facts), re.compile(node.pattern)
            text = expr_text(node.operand)

            def matches(env: Env) -> bool:
                v = operand(env)
                if not isinstance(v, str):
                    raise EvalTypeError(f"{text} is {describe(v)}, not a string to match")
                return pattern.search(v) is not None

            return matches
        case ast.Quantifier():
            q = compile_quantifier(node, facts)
            return lambda env: q(env)[0]
        case ast.Call():
            return _call(node, facts)
    raise TypeError(f"cannot compile {node!r}")


def _bool(v: Any, where: str) -> bool:
    if v is True or v is False:
        return v
    raise EvalTypeError(f"'{where}' needs true or false, got {describe(v)}")


def _numeric_operand(node: ast.Expr, facts: frozenset[str]) -> tuple[Fn, str]:
    """An operand in a numeric slot: params are read as numbers there."""
    fn, text = compile_expr(node, facts), expr_text(node)
    if _is_param(node):
        return (lambda env: param_number(fn(env), text)), text
    return fn, text


def _path(node: ast.Path, facts: frozenset[str]) -> Fn:
    text = expr_text(node)
    root, keys = node.parts[0], tuple(node.parts[1:])
    if root in facts:
        return _fact(root, keys, text)
    if root == "champion":
        return _champion_path(keys, text)
    if root == "data":
        return _walk(lambda env: env.data, keys, text)
    if root == "artifacts" and not keys:
        return lambda env: _observe(env, text, list(env.subject["artifacts"]))
    if len(keys) == 1:  # the hot path: metrics.x, params.x, tags.x, model.x, run.x
        key = keys[0]

        def get(env: Env) -> Any:
            v = env.subject[root].get(key, ABSENT)
            if v is ABSENT or v is None or (type(v) is float and v != v):
                raise env.missing(text, v)
            env.observed[text] = v
            return v

        return get
    return _walk(lambda env: env.subject[root], keys, text)


def _observe(env: Env, text: str, v: Any) -> Any:
    if is_missing(v):
        raise env.missing(text, v)
    env.observed[text] = v
    return v


def _walk(base: Fn, keys: tuple[str, ...], text: str) -> Fn:
    def get(env: Env) -> Any:
        v = base(env)
        for k in keys:
            if not isinstance(v, dict):
                v = ABSENT
                break
            v = v.get(k, ABSENT)
        return _observe(env, text, v)

    return get


def _champion_path(keys: tuple[str, ...], text: str) -> Fn:
    def champion(env: Env) -> Any:
        if env.champion is None:
            raise env.missing("champion", ABSENT)
        return env.champion

    if not keys:
        return champion
    return _walk(champion, keys, text)


def _fact(name: str, keys: tuple[str, ...], text: str) -> Fn:
    def fact(env: Env) -> Any:
        f = env.facts[name]
        env.observed.update(f.observed)
        if isinstance(f, _FactFailed):
            raise f.error
        env.observed[name] = f.value
        return f.value

    return _walk(fact, keys, text) if keys else fact


def _artifact(path: str) -> Fn:
    text = f'artifact "{path}"'
    if any(ch in path for ch in "*?["):
        pattern = re.compile(fnmatch.translate(path))

        def glob(env: Env) -> Any:
            hits = [a for p, a in env.subject["artifacts"].items() if pattern.match(p)]
            return _observe(env, text, hits[0] if hits else ABSENT)

        return glob
    return lambda env: _observe(env, text, env.subject["artifacts"].get(path, ABSENT))


def _presence(node: ast.Presence, facts: frozenset[str]) -> Fn:
    operand = compile_expr(node.operand, facts)
    want_present = node.op == "exists"

    def presence(env: Env) -> bool:
        try:
            operand(env)
        except Missing:
            return not want_present
        return want_present

    return presence


def _membership(node: ast.Binary, facts: frozenset[str]) -> Fn:
    left, right = compile_expr(node.left, facts), compile_expr(node.right, facts)
    negate = node.op == "not in"
    text = expr_text(node.right)

    def member(env: Env) -> bool:
        item, container = left(env), right(env)
        if isinstance(container, list):
            found = item in container
        elif isinstance(container, str) and isinstance(item, str):
            found = item in container
        elif isinstance(container, dict) and isinstance(item, str):
            found = item in container  # a name among a record's keys (artifacts, data)
        else:
            raise EvalTypeError(f"'in' needs a list on its right; {text} is {describe(container)}")
        return found != negate

    return member


def _arith(node: ast.Binary, facts: frozenset[str]) -> Fn:
    (left, ltext), (right, rtext) = _numeric_operand(node.left, facts), _numeric_operand(node.right, facts)
    op, fn = node.op, _ARITH[node.op]

    def arith(env: Env) -> Any:
        l, r = left(env), right(env)
        if not (is_number(l) and is_number(r)):
            bad, bad_text = (l, ltext) if not is_number(l) else (r, rtext)
            raise EvalTypeError(f"'{op}' needs numbers; {bad_text} is {describe(bad)}")
        if op == "/" and r == 0:
            raise EvalTypeError(f"division by zero: {rtext} is 0")
        return fn(l, r)

    return arith


def compile_comparison(node: ast.Binary, facts: frozenset[str]) -> Callable[[Env], tuple[bool, Any, Any]]:
    """A comparison that also hands back both sides, for the rule's message."""
    left, right = compile_expr(node.left, facts), compile_expr(node.right, facts)
    lparam, rparam = _is_param(node.left), _is_param(node.right)
    ltext, rtext = expr_text(node.left), expr_text(node.right)
    op = node.op
    if not (lparam or rparam):
        fast = _ORDER.get(op) or _EQUAL[op]

        def pair(env: Env) -> tuple[bool, Any, Any]:
            l, r = left(env), right(env)
            if type(l) is float and type(r) is float:
                return fast(l, r), l, r
            return compare(op, l, r), l, r

        return pair

    def pair_with_params(env: Env) -> tuple[bool, Any, Any]:
        l, r = left(env), right(env)
        if lparam and is_number(r):
            l = param_number(l, ltext)
        if rparam and is_number(l):
            r = param_number(r, rtext)
        return compare(op, l, r), l, r

    return pair_with_params


def compile_quantifier(node: ast.Quantifier, facts: frozenset[str]) -> Callable[[Env], tuple[bool, list, Any]]:
    """all|any metrics matching GLOB OP expr -> (verdict, [(name, value, ok)...], right value)."""
    pattern = re.compile(fnmatch.translate(node.glob))
    right, op, quant = compile_expr(node.right, facts), node.op, node.quant
    family = f'metrics matching "{node.glob}"'

    def quantifier(env: Env) -> tuple[bool, list, Any]:
        r = right(env)
        hits = []
        for name, v in env.subject["metrics"].items():
            if pattern.match(name):
                text = f"metrics.{name}"
                if is_missing(v):
                    raise env.missing(text, v)
                env.observed[text] = v
                hits.append((name, v, compare(op, v, r)))
        if not hits:
            raise Missing(family)
        verdict = all(h[2] for h in hits) if quant == "all" else any(h[2] for h in hits)
        return verdict, hits, r

    return quantifier


def _call(node: ast.Call, facts: frozenset[str]) -> Fn:
    args = [_numeric_operand(a, facts) if _is_param(a) else (compile_expr(a, facts), expr_text(a)) for a in node.args]
    fns = [a[0] for a in args]
    impl = _FUNCTIONS[node.name]
    name = node.name

    def call(env: Env) -> Any:
        return impl(name, [f(env) for f in fns])

    return call


def _numbers(name: str, values: list) -> list:
    if len(values) == 1 and isinstance(values[0], list):
        values = values[0]
    if not values:
        raise EvalTypeError(f"{name}() of an empty list")
    for v in values:
        if not is_number(v):
            raise EvalTypeError(f"{name}() needs numbers, got {describe(v)}")
    return values


def _one(kind: type | tuple, label: str) -> Callable[[str, list], Any]:
    def check(name: str, args: list) -> Any:
        if not isinstance(args[0], kind) or isinstance(args[0], bool):
            raise EvalTypeError(f"{name}() needs {label}, got {describe(args[0])}")
        return args[0]

    return check


def _round(name: str, args: list) -> Any:
    v = _one((int, float), "a number")(name, args)
    digits = args[1] if len(args) > 1 else 0
    if not is_number(digits) or not math.isfinite(digits) or digits != int(digits):
        raise EvalTypeError(f"round() needs a whole number of digits, got {describe(digits)}")
    if not math.isfinite(v):
        raise EvalTypeError(f"round() of {show(v)}")
    return round(v, int(digits))


_FUNCTIONS: dict[str, Callable[[str, list], Any]] = {
    "abs": lambda n, a: abs(_one((int, float), "a number")(n, a)),
    "min": lambda n, a: min(_numbers(n, a)),
    "max": lambda n, a: max(_numbers(n, a)),
    "len": lambda n, a: len(_one((list, str, dict), "a list or a string")(n, a)),
    "lower": lambda n, a: _one(str, "a string")(n, a).lower(),
    "upper": lambda n, a: _one(str, "a string")(n, a).upper(),
    "round": _round,
}


# ---- rules ----------------------------------------------------------------------------------


# A rule's verdict before waivers: (outcome, message, observed). A plain tuple, not a NamedTuple:
# one is made per rule per evaluation, and that difference is a tenth of an evaluation's time.
Raw = tuple[str, str, dict[str, Any]]


@dataclass
class CompiledRule:
    id: str
    title: str | None
    level: str
    line: int | None
    required: str
    when: Fn | None
    when_text: str | None
    check: Callable[[Env], tuple[bool, str]]  # -> (verdict, message)
    require: ast.Expr | None = None
    run: Callable[[Env], Raw] = field(init=False)  # when, then check, as one closure

    def __post_init__(self) -> None:
        self.run = _threshold_runner(self) or _runner(self)


def _error_message(exc: EvalError, required: str) -> str:
    if isinstance(exc, Missing):
        if exc.path == "champion":
            return f"missing evidence: there is no champion (required: {required}); guard the rule with: when champion exists"
        return f"missing evidence: {exc} (required: {required})"
    return f"type error: {exc} (required: {required})"


def _threshold_runner(rule: CompiledRule) -> Callable[[Env], Raw] | None:
    """The hot shape, fused: `require metrics.x >= 0.8` with no `when`. Most rules of real
    policies look like this; reading, comparing and the message in one closure saves two calls
    per rule. Same semantics as _runner over _checker (the evaluator tests pin both)."""
    node = rule.require
    if rule.when is not None or not isinstance(node, ast.Binary) or not isinstance(node.right, ast.Number):
        return None
    left = node.left
    if not isinstance(left, ast.Path) or len(left.parts) != 2 or left.parts[0] not in ("metrics", "tags", "model", "run"):
        return None
    (root, key), op, threshold, required = left.parts, node.op, node.right.value, rule.required
    fast, text = _ORDER.get(op) or _EQUAL.get(op), expr_text(left)
    if fast is None:
        return None
    head, tail = f"{text} = ", f", required {op} {expr_text(node.right)}"

    def run(env: Env) -> Raw:
        v = env.subject[root].get(key, ABSENT)
        if v is ABSENT or v is None or (type(v) is float and v != v):
            env.observed = {}
            return ("error", _error_message(env.missing(text, v), required), env.observed)
        env.observed = observed = {text: v}
        if type(v) is float or type(v) is int:
            ok = fast(v, threshold)
        else:
            try:
                ok = compare(op, v, threshold)
            except EvalTypeError as exc:
                return ("error", _error_message(exc, required), observed)
        return ("pass" if ok else "fail", head + show(v) + tail, observed)

    return run


def _runner(rule: CompiledRule) -> Callable[[Env], Raw]:
    """The closure that decides one rule: pass, fail, skip (its when is false) or error."""
    check, when, when_text, required = rule.check, rule.when, rule.when_text, rule.required

    def run(env: Env) -> Raw:
        env.observed = observed = {}
        try:
            ok, message = check(env)
        except EvalError as exc:
            return ("error", _error_message(exc, required), env.observed)
        return ("pass" if ok else "fail", message, observed)

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
        try:
            ok, message = check(env)
        except EvalError as exc:
            return ("error", _error_message(exc, required), env.observed)
        return ("pass" if ok else "fail", message, observed)

    return run_when


@dataclass
class CompiledPolicy:
    name: str
    version: str
    digest: str
    source: str
    applies: list[str]
    facts: list[tuple[str, Fn]]
    rules: list[CompiledRule]
    on_pass: list[ast.SetAlias | ast.SetTag] = field(default_factory=list)
    on_fail: list[ast.SetAlias | ast.SetTag] = field(default_factory=list)
    rank: ast.Rank | None = None
    tree: ast.Policy | None = None

    def applies_to(self, model_name: str | None) -> bool:
        if not self.applies:
            return True
        return model_name is not None and any(fnmatch.fnmatchcase(model_name, p) for p in self.applies)


def _checker(node: ast.Expr, facts: frozenset[str]) -> Callable[[Env], tuple[bool, str]]:
    """The require test of a rule with the message that fits its shape."""
    required = expr_text(node)
    if isinstance(node, ast.Binary) and node.op in ("==", "!=", "<", "<=", ">", ">="):
        pair = compile_comparison(node, facts)
        ltext, rtext, op = expr_text(node.left), expr_text(node.right), node.op
        head, tail = f"{ltext} = ", f", required {op} {rtext}"  # built once: messages are hot

        if isinstance(node.right, ast.Number) and not _is_param(node.left):
            # The threshold check, the most common rule: one getter, one comparison, one message.
            left, threshold, fast = compile_expr(node.left, facts), node.right.value, _ORDER.get(op) or _EQUAL[op]

            def against_number(env: Env) -> tuple[bool, str]:
                l = left(env)
                ok = fast(l, threshold) if type(l) is float or type(l) is int else compare(op, l, threshold)
                return ok, head + show(l) + tail

            return against_number

        if isinstance(node.right, (ast.Number, ast.String, ast.Bool, ast.Date)):

            def comparison(env: Env) -> tuple[bool, str]:
                ok, l, _ = pair(env)
                return ok, head + show(l) + tail

        else:

            def comparison(env: Env) -> tuple[bool, str]:
                ok, l, r = pair(env)
                return ok, head + show(l) + tail + " = " + show(r)

        return comparison
    if isinstance(node, ast.Presence):
        test = compile_expr(node, facts)
        target = expr_text(node.operand)
        want = node.op

        def presence(env: Env) -> tuple[bool, str]:
            ok = test(env)
            present = ok if want == "exists" else not ok
            return ok, f"{target} is {'present' if present else 'missing'}, required to {'exist' if want == 'exists' else 'be missing'}"

        return presence
    if isinstance(node, ast.Quantifier):
        q = compile_quantifier(node, facts)
        head = f"{node.quant} metrics matching {expr_text(ast.String(value=node.glob))} {node.op} {expr_text(node.right)}"

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
        ok = _bool(test(env), "require")
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
                level=r.level,
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
        applies=[a.pattern for a in policy.applies],
        facts=[(f.name, compile_expr(f.expr, fact_names)) for f in ordered],
        rules=rules,
        on_pass=list(policy.on_pass.actions) if policy.on_pass else [],
        on_fail=list(policy.on_fail.actions) if policy.on_fail else [],
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
            env.facts[name] = _FactValue(fn(env), env.observed)
        except EvalError as exc:
            env.facts[name] = _FactFailed(exc, env.observed)
