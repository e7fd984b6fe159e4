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
from .environment import Env, Fn, decision_time, is_param
from .formatter import expr_text
from .functions import FUNCTIONS
from .paths import artifact_reader, path_reader
from .patterns import compile_pattern
from .signoffs import SignOffs, Tally
from .values import (
    EQUAL,
    ORDER,
    EvalTypeError,
    Missing,
    as_bool,
    compare,
    describe,
    is_missing,
    is_number,
    param_number,
    time_arith,
    timestamp,
)

_TIMES = (dt.date, dt.timedelta)  # what `+ - * /` takes besides numbers (with ISO 8601 strings beside them)


_ARITH = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}


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
            return path_reader(node, facts)
        case ast.Artifact():
            return artifact_reader(node.path)
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
