"""Runtime values: the fail-closed exceptions, type tests, and how a value is shown to a person."""
from __future__ import annotations

import datetime as dt
import json
from typing import Any


class _Absent:
    __slots__ = ()

    def __repr__(self) -> str:
        return "absent"


ABSENT: Any = _Absent()


class EvalError(Exception):
    """A rule cannot be decided; the rule's outcome becomes `error` (fail closed)."""


class Missing(EvalError):
    """A path the rule needs is absent, null or NaN."""

    def __init__(self, path: str, value: Any = ABSENT) -> None:
        self.path = path
        self.value = value
        state = "absent" if value is ABSENT else "null" if value is None else "NaN"
        super().__init__(f"{path} is {state}")


class EvalTypeError(EvalError):
    """Values of the wrong type met (a string against a number, a param that is not numeric)."""


def is_number(v: Any) -> bool:
    return type(v) is float or type(v) is int  # bool is not a number here


def is_missing(v: Any) -> bool:
    return v is ABSENT or v is None or (type(v) is float and v != v)


def describe(v: Any) -> str:
    """A value with its type, for type errors: 'the string "high"'."""
    if is_number(v):
        return f"the number {show(v)}"
    if isinstance(v, str):
        return f"the string {show(v)}"
    if isinstance(v, bool):
        return f"the boolean {show(v)}"
    if isinstance(v, list):
        return f"the list {show(v)}"
    if isinstance(v, (dt.date, dt.datetime)):
        return f"the date {show(v)}"
    if isinstance(v, dict):
        return "a record"
    return repr(v)


def show(v: Any) -> str:
    """A value as a business user reads it in a message."""
    if type(v) is float:  # the common case first
        if v != v:
            return "NaN"
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return f"{v:.6g}"
    if v is ABSENT:
        return "absent"
    if v is None:
        return "null"
    if v is True or v is False:
        return "true" if v else "false"
    if type(v) is int:
        return str(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(show(i) for i in v) + "]"
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    if isinstance(v, dict) and "size" in v:
        return f"present ({v['size']} bytes)"
    return json.dumps(v, default=str, ensure_ascii=False)
