"""The built-in functions of the language: one table, each with its arity and its implementation."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

from .values import EvalTypeError, Missing, describe, is_number, show


class Function(NamedTuple):
    fewest: int  # arguments
    most: int | None  # None: no upper bound
    impl: Callable[[str, list[Any]], Any]  # (name, argument values) -> value


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


def _needs_now() -> Any:
    raise AssertionError("age() is compiled with the decision's time (compiler._age)")


_ROUND_DIGITS = 400


def _round(name: str, args: list) -> Any:
    v = _one((int, float), "a number")(name, args)
    digits = args[1] if len(args) > 1 else 0
    if not is_number(digits) or not math.isfinite(digits) or digits != int(digits):
        raise EvalTypeError(f"round() needs a whole number of digits, got {describe(digits)}")
    if not math.isfinite(v):
        raise EvalTypeError(f"round() of {show(v)}")
    # Beyond 400 digits either way the result no longer changes (floats hold about 17), but an
    # integer's rounding to -10**9 digits would compute 10**(10**9): bounded, the same result.
    return round(v, int(max(-_ROUND_DIGITS, min(_ROUND_DIGITS, digits))))


def _pick(name: str, args: list) -> Any:
    """pick(mapping, key): the value under key, e.g. a use case's thresholds in `data`."""
    mapping, key = args
    if not isinstance(mapping, dict):
        raise EvalTypeError(f"pick() needs a mapping first, got {describe(mapping)}")
    if not isinstance(key, str):
        raise EvalTypeError(f"pick() needs a string key, got {describe(key)}")
    if mapping.get(key) is None:
        raise Missing(f"pick(…, {show(key)})")
    return mapping[key]


def _drifted(name: str, args: list) -> Any:
    """drifted(monitoring.columns, names): the named columns whose drift was detected, in the order
    named; a column the report does not cover is missing evidence (fail closed)."""
    columns, names = args
    if not isinstance(columns, dict):
        raise EvalTypeError(f"drifted() needs the report's columns first, got {describe(columns)}")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise EvalTypeError(f"drifted() needs a list of column names, got {describe(names)}")
    found = []
    for column in names:
        detected = (columns.get(column) or {}).get("drift_detected") if isinstance(columns.get(column), dict) else None
        if detected is None:
            raise Missing(f'monitoring.columns["{column}"].drift_detected')
        if not isinstance(detected, bool):
            raise EvalTypeError(f'monitoring.columns["{column}"].drift_detected is {describe(detected)}')
        if detected:
            found.append(column)
    return found


# name -> arity and implementation: the checker reads the arity, the compiler the implementation.
FUNCTIONS: dict[str, Function] = {
    "abs": Function(1, 1, lambda n, a: abs(_one((int, float), "a number")(n, a))),
    "min": Function(1, None, lambda n, a: min(_numbers(n, a))),
    "max": Function(1, None, lambda n, a: max(_numbers(n, a))),
    "len": Function(1, 1, lambda n, a: len(_one((list, str, dict), "a list or a string")(n, a))),
    "lower": Function(1, 1, lambda n, a: _one(str, "a string")(n, a).lower()),
    "upper": Function(1, 1, lambda n, a: _one(str, "a string")(n, a).upper()),
    "round": Function(1, 2, _round),
    "age": Function(1, 1, lambda n, a: _needs_now()),  # the compiler builds it: it reads the decision's time (1.1)
    "pick": Function(2, 2, _pick),
    "drifted": Function(2, 2, _drifted),
}
