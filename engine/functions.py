"""The built-in functions of the language: one table, each with its arity and its implementation."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

from .values import EvalTypeError, describe, is_number, show


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


# name -> arity and implementation: the checker reads the arity, the compiler the implementation.
FUNCTIONS: dict[str, Function] = {
    "abs": Function(1, 1, lambda n, a: abs(_one((int, float), "a number")(n, a))),
    "min": Function(1, None, lambda n, a: min(_numbers(n, a))),
    "max": Function(1, None, lambda n, a: max(_numbers(n, a))),
    "len": Function(1, 1, lambda n, a: len(_one((list, str, dict), "a list or a string")(n, a))),
    "lower": Function(1, 1, lambda n, a: _one(str, "a string")(n, a).lower()),
    "upper": Function(1, 1, lambda n, a: _one(str, "a string")(n, a).upper()),
    "round": Function(1, 2, _round),
}
