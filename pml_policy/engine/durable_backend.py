"""The durable_rules backend (`--engine durable`, extra `pml-policy[durable]`), behind a defensive wrapper.

durable_rules is the product card's rules engine, kept as a second backend because, measured
here, it matches missing fields and mistyped values silently, swallows exceptions in actions,
crashes past 1024 live sessions, segfaults under threads with its own timer threads, and is far
slower than plain Python (DESIGN.md). So, around it:

* presence and type checks run in Python first: the compiled rule is run, and an `error` outcome
  (with its message and evidence) is decided there, never by durable_rules;
* durable_rules then decides each rule's `when` and `require`: their boolean structure and every
  comparison become a durable ruleset over "atoms" (operand values, and tests such as `exists`
  or `matches` that it cannot express) that Python computes and asserts as one fact per rule;
* the Host runs no background threads, there is one Host per backend (one per policy set),
  evaluations are serialised by a lock, and each evaluation's session is deleted afterwards;
* every session first receives a sentinel fact that a sentinel rule handles: deleting a session
  that saw only unmatched facts segfaults, and deleting one that saw none raises (error 309).

Both backends must agree on every verdict of the test corpus (tests/test_durable_backend.py).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
import secrets
import threading
from collections.abc import Callable
from typing import Any

from pml_policy.base.errors import UsageError

from . import ast
from .compiler import compile_expr
from .environment import Env, is_param
from .python_backend import PythonBackend
from .rules import CompiledPolicy, Raw, compute_facts
from .values import EvalError, comparable, is_number, param_number

try:
    from durable import engine as _durable
except ImportError:  # pragma: no cover - exercised only without the extra
    _durable = None

_OPS = {"<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte", "!=": "$neq"}
_INVERSE = {"==": "!=", "!=": "==", "<": ">=", ">=": "<", ">": "<=", "<=": ">"}
SENTINEL = -1  # the `rule` of the fact that opens every session
_BIG = 1.7976931348623157e308  # JSON has no infinity; durable_rules gets the largest float instead

Atom = Callable[[Env], dict[str, Any]]


def _plain_for_durable(v: Any) -> Any:
    """Values durable_rules can compare: numbers, strings; dates as ISO text, lists as JSON text."""
    if v is True or v is False:
        return int(v)
    if is_number(v):
        return max(-_BIG, min(_BIG, float(v)))
    if isinstance(v, dt.datetime):  # full UTC timestamps compare as ISO text
        aware = v if v.tzinfo else v.replace(tzinfo=dt.UTC)
        return aware.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, dt.timedelta):  # durations compare as seconds
        return v.total_seconds()
    if isinstance(v, list):
        return json.dumps([_plain_for_durable(i) for i in v])
    return v


class _DurableJson:
    """json as durable_rules' C parser reads it. It refuses a number written with an exponent but
    no decimal point (`1e-05`, `1e+308`: error 204, a crash on ordinary evidence), so such floats
    are written `1.0e-05`: the same value, in the form it parses. Installed as durable.engine's json."""

    loads = staticmethod(json.loads)

    @staticmethod
    def dumps(value: Any, **options: Any) -> str:
        nonce, numbers = secrets.token_hex(8), dict[str, str]()

        def swap(v: Any) -> Any:
            if type(v) is float and "e" in (text := repr(v)) and "." not in text.split("e")[0]:
                mark = json.dumps(f"\x00{nonce}:{len(numbers)}")
                numbers[mark] = text.replace("e", ".0e", 1)
                return json.loads(mark)
            if isinstance(v, dict):
                return {k: swap(x) for k, x in v.items()}
            return [swap(x) for x in v] if isinstance(v, list) else v

        text = json.dumps(swap(value), **options)
        for mark, number in numbers.items():
            text = text.replace(mark, number)
        return text


if _durable is not None:
    _durable.json = _DurableJson


class _Lowering:
    """Turns one expression into a durable_rules condition plus the atoms Python computes for it."""

    def __init__(self, facts: frozenset[str], prefix: str) -> None:
        self.facts = facts
        self.prefix = prefix
        self.atoms: list[Atom] = []

    def _name(self) -> str:
        return f"{self.prefix}{len(self.atoms)}"

    def condition(self, node: ast.Expr, negate: bool = False) -> dict:
        if isinstance(node, ast.Binary) and node.op in ("and", "or"):
            op = {"and": "or", "or": "and"}[node.op] if negate else node.op
            return {f"${op}": [self.condition(node.left, negate), self.condition(node.right, negate)]}
        if isinstance(node, ast.Unary) and node.op == "not":
            return self.condition(node.operand, not negate)
        if isinstance(node, ast.Binary) and node.op in _INVERSE:
            return self._comparison(node, _INVERSE[node.op] if negate else node.op)
        return self._boolean(node, negate)

    def _comparison(self, node: ast.Binary, op: str) -> dict:
        left, right = self._name() + "l", self._name() + "r"
        lfn, rfn = compile_expr(node.left, self.facts), compile_expr(node.right, self.facts)
        lparam, rparam = is_param(node.left), is_param(node.right)

        def pair(env: Env) -> dict[str, Any]:
            l, r = lfn(env), rfn(env)
            if lparam and is_number(r):
                l = param_number(l, "")
            if rparam and is_number(l):
                r = param_number(r, "")
            l, r = comparable(l, r)  # a datetime beside a date is compared by its day, as in Python
            return {left: _plain_for_durable(l), right: _plain_for_durable(r)}

        self.atoms.append(pair)
        reference = {"$m": right}
        return {left: reference} if op == "==" else {_OPS[op]: {left: reference}}

    def _boolean(self, node: ast.Expr, negate: bool) -> dict:
        name, fn = self._name() + "b", compile_expr(node, self.facts)

        def boolean(env: Env) -> dict[str, Any]:
            v = fn(env)
            return {name: v} if v is True or v is False else {}  # not a boolean: Python reports it

        self.atoms.append(boolean)
        return {name: not negate}


class _Host:
    """A durable_rules Host without its two timer threads (they segfault under load)."""

    def __init__(self) -> None:
        class QuietHost(_durable.Host):
            def _run(self) -> None:
                pass

        self.host = QuietHost()
        self.lock = threading.Lock()
        self.sessions = itertools.count()


class _Ruleset:
    """One policy as a durable ruleset: per rule, a `when` rule and a `require` rule."""

    def __init__(self, policy: CompiledPolicy, index: int, host: _Host) -> None:
        assert policy.tree is not None
        facts = frozenset(f.name for f in policy.tree.facts)
        self.name = f"pml{index}_{policy.digest[:16]}"
        self.atoms: list[list[Atom]] = []
        self.hits: set[tuple[int, str]] = set()
        definition: dict[str, Any] = {}
        for i, rule in enumerate(policy.tree.rules):
            lowering = _Lowering(facts, f"r{i}_")
            for kind, cond in (("when", rule.when), ("require", rule.require)):
                if cond is not None:
                    condition = lowering.condition(cond.expr)
                    definition[f"r{i}_{kind}"] = {
                        "all": [{"m": {"$and": [{"rule": i}, condition]}}],
                        "run": self._recorder(i, kind),
                    }
            self.atoms.append(lowering.atoms)
        definition["session_open"] = {"all": [{"m": {"rule": SENTINEL}}], "run": lambda c: None}
        host.host.register_rulesets({self.name: definition})

    def _recorder(self, index: int, kind: str) -> Callable:
        def record(c: Any) -> None:
            self.hits.add((index, kind))

        return record


class DurableBackend(PythonBackend):
    name = "durable"

    def __init__(self) -> None:
        if _durable is None:
            raise UsageError(
                "--engine durable needs durable_rules, which is not installed", "install pml-policy[durable]"
            )
        self._host = _Host()
        self._rulesets: dict[str, _Ruleset] = {}

    def _ruleset(self, policy: CompiledPolicy) -> _Ruleset:
        key = f"{policy.name}@{policy.digest}"
        with self._host.lock:  # two threads meeting a new policy at once would register it twice
            if key not in self._rulesets:
                self._rulesets[key] = _Ruleset(policy, len(self._rulesets), self._host)
            return self._rulesets[key]

    def decide(self, policy: CompiledPolicy, env: Env) -> list[Raw]:
        compute_facts(policy, env)
        checked = [rule.run(env) for rule in policy.rules]  # presence and type checks, messages
        ruleset = self._ruleset(policy)
        with self._host.lock:
            sid = str(next(self._host.sessions))
            ruleset.hits.clear()
            self._host.host.assert_fact(ruleset.name, {"sid": sid, "rule": SENTINEL})
            try:
                for i, raw in enumerate(checked):
                    if raw[0] != "error":
                        checked[i] = self._assert(ruleset, i, sid, env) or raw
                hits = set(ruleset.hits)
            finally:
                self._host.host.delete_state(ruleset.name, sid)
        return [
            self._verdict(rule.when is not None, isinstance(rule.require, ast.Approval), i, raw, hits)
            for i, (rule, raw) in enumerate(zip(policy.rules, checked))
        ]

    def _assert(self, ruleset: _Ruleset, index: int, sid: str, env: Env) -> Raw | None:
        """Assert the rule's fact; an error result when durable_rules refuses it (never a crash)."""
        fact: dict[str, Any] = {"sid": sid, "rule": index}
        for atom in ruleset.atoms[index]:
            # An atom that errs is only in a branch that and/or never needed; Python has already checked the rest.
            with contextlib.suppress(EvalError):
                fact.update(atom(env))
        try:
            self._host.host.assert_fact(ruleset.name, fact)
        except _durable.MessageNotHandledException:
            pass  # no condition matched: the rule does not apply or does not hold
        except Exception as exc:  # its C engine's own errors (durable_rules_engine.error) and the like
            return ("error", f"durable_rules could not evaluate this rule ({exc}); the Python engine can", {})
        return None

    @staticmethod
    def _verdict(has_when: bool, signoff: bool, index: int, raw: Raw, hits: set[tuple[int, str]]) -> Raw:
        if raw[0] == "error":
            return raw
        if has_when and (index, "when") not in hits:
            outcome = "skip"
        else:  # an unmet sign-off is pending, not failed
            outcome = "pass" if (index, "require") in hits else "pending" if signoff else "fail"
        if outcome == raw[0]:
            return raw
        # The backends disagree: say so rather than pick one silently (the differential test fails on it).
        return (
            "error",
            f"backends disagree: durable_rules decided {outcome}, the Python evaluator {raw[0]}; {raw[1]}",
            raw[2],
        )
