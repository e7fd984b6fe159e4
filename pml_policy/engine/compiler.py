"""Checked syntax tree to Python closures: each expression becomes a function of an Env
(rules.py builds rules and policies from them).

Nothing here parses or evaluates text: the tree's shape picks which prebuilt closure runs, and
literal values are captured as Python constants. Missing evidence raises Missing and a type
mismatch raises EvalTypeError; the rule runner turns both into the `error` outcome.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import operator
import re
from collections.abc import Callable
from typing import Any

from . import ast
from .formatter import expr_text
from .functions import FUNCTIONS
from .patterns import compile_pattern
from .signoffs import SignOffs, Tally
from .values import (
    ABSENT,
    EQUAL,
    INF,
    ORDER,
    EvalError,
    EvalTypeError,
    Missing,
    as_bool,
    compare,
    describe,
    is_missing,
    is_number,
    param_number,
    show,
    time_arith,
    timestamp,
)

_TIMES = (dt.date, dt.timedelta)  # what `+ - * /` takes besides numbers (with ISO 8601 strings beside them)


class Env:
    """What one evaluation reads: the subject, the champion, context data, facts; what it saw."""

    __slots__ = ("subject", "champion", "data", "facts", "observed", "absent", "signoffs", "now")

    def __init__(
        self,
        subject: dict,
        champion: dict | None,
        data: dict,
        signoffs: SignOffs | None = None,
        now: dt.datetime | None = None,
    ) -> None:
        self.subject = subject
        self.champion = champion
        self.data = data
        self.signoffs = signoffs  # the approvals given on the subject, for `approved by` (1.1)
        self.now = now  # the time of the decision, fixed once and recorded with it (1.1)
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

_ARITH = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}


class FactFailed:
    """A fact that could not be computed: rules that read it fail with its reason."""

    __slots__ = ("error", "observed")

    def __init__(self, error: EvalError, observed: dict) -> None:
        self.error = error
        self.observed = observed


class FactValue:
    """A computed fact with the evidence it read, which becomes evidence of every rule using it."""

    __slots__ = ("value", "observed")

    def __init__(self, value: Any, observed: dict) -> None:
        self.value = value
        self.observed = observed


def is_param(node: ast.Expr) -> bool:
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
        case ast.Duration():
            span = dt.timedelta(seconds=node.seconds)
            return lambda env: span
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
            return lambda env: not as_bool(operand(env), "not")
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
            return lambda env: as_bool(left(env), "and") and as_bool(right(env), "and")
        case ast.Binary(op="or"):
            left, right = compile_expr(node.left, facts), compile_expr(node.right, facts)
            return lambda env: as_bool(left(env), "or") or as_bool(right(env), "or")
        case ast.Binary(op="in" | "not in"):
            return _membership(node, facts)
        case ast.Binary() if node.op in _ARITH:
            return _arith(node, facts)
        case ast.Binary():
            pair = compile_comparison(node, facts)
            return lambda env: pair(env)[0]
        case ast.Matches():
            operand, pattern = compile_expr(node.operand, facts), compile_pattern(node.pattern)
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
        case ast.Approval():
            return lambda env: tally(env, node).met
    raise TypeError(f"cannot compile {node!r}")


def tally(env: Env, node: ast.Approval) -> Tally:
    """Who counts for `approved by [N of] "ROLE"`; the approvers read are the rule's evidence."""
    counted = (env.signoffs or SignOffs(None, {}, _EPOCH)).tally(node.role, node.count)
    env.observed[expr_text(node)] = counted.approvers
    return counted


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _numeric_operand(node: ast.Expr, facts: frozenset[str]) -> tuple[Fn, str]:
    """An operand in a numeric slot: params are read as numbers there."""
    fn, text = compile_expr(node, facts), expr_text(node)
    if is_param(node):
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
    if root == "now":
        return lambda env: _observe(env, text, decision_time(env))
    if root == "monitoring":  # a report, or none (null): walked as nested mappings
        return _walk(lambda env: env.subject["monitoring"], keys, text)
    if root == "card":
        return _card(lambda env: env.subject["card"], keys, text)
    if root == "artifacts" and not keys:
        return lambda env: _observe(env, text, list(env.subject["artifacts"]))
    if len(keys) == 1:  # the hot path: metrics.x, params.x, tags.x, model.x, run.x
        key = keys[0]

        def get(env: Env) -> Any:
            v = env.subject[root].get(key, ABSENT)
            if v is ABSENT or v is None or (type(v) is float and not -INF < v < INF):  # is_missing, inlined: hot
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
    if keys[0] == "card":
        return _card(lambda env: champion(env)["card"], keys[1:], text)
    return _walk(champion, keys, text)


def _card(base: Fn, keys: tuple[str, ...], text: str) -> Fn:
    """A model card (one flat mapping with dotted keys, or none): `card.a.b` and `card["a.b"]` read
    the same key; `card` alone is the card, for `card exists`."""
    key = ".".join(keys)

    def get(env: Env) -> Any:
        card = base(env)
        if not keys or card is None:
            return _observe(env, text, card if card is not None else ABSENT)
        return _observe(env, text, card.get(key, ABSENT))

    return get


def _fact(name: str, keys: tuple[str, ...], text: str) -> Fn:
    def fact(env: Env) -> Any:
        f = env.facts[name]
        env.observed.update(f.observed)
        if isinstance(f, FactFailed):
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
        if isinstance(container, list) or isinstance(container, str) and isinstance(item, str):
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
            if isinstance(l, _TIMES) or isinstance(r, _TIMES):
                return time_arith(op, l, r, ltext, rtext)
            bad, bad_text = (l, ltext) if not is_number(l) else (r, rtext)
            raise EvalTypeError(f"'{op}' needs numbers; {bad_text} is {describe(bad)}")
        if op == "/" and r == 0:
            raise EvalTypeError(f"division by zero: {rtext} is 0")
        return fn(l, r)

    return arith


def compile_comparison(node: ast.Binary, facts: frozenset[str]) -> Callable[[Env], tuple[bool, Any, Any]]:
    """A comparison that also hands back both sides, for the rule's message."""
    left, right = compile_expr(node.left, facts), compile_expr(node.right, facts)
    lparam, rparam = is_param(node.left), is_param(node.right)
    ltext, rtext = expr_text(node.left), expr_text(node.right)
    op = node.op
    if not (lparam or rparam):
        fast = ORDER.get(op) or EQUAL[op]

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


def decision_time(env: Env) -> dt.datetime:
    if env.now is None:  # an evaluation always has one; ranking candidates does not
        raise EvalTypeError("now is not known here (rank by cannot read the time)")
    return env.now


def _age(node: ast.Call, facts: frozenset[str]) -> Fn:
    """age(x): now minus the timestamp x (a date, a timestamp, or an ISO 8601 string), a duration."""
    (arg,), text = node.args, expr_text(node.args[0])
    of = compile_expr(arg, facts)

    def age(env: Env) -> dt.timedelta:
        return decision_time(env) - timestamp(of(env), text)

    return age


def _call(node: ast.Call, facts: frozenset[str]) -> Fn:
    if node.name == "age":
        return _age(node, facts)
    args = [_numeric_operand(a, facts) if is_param(a) else (compile_expr(a, facts), expr_text(a)) for a in node.args]
    fns = [a[0] for a in args]
    impl = FUNCTIONS[node.name].impl
    name = node.name

    def call(env: Env) -> Any:
        return impl(name, [f(env) for f in fns])

    return call
