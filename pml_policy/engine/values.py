"""Runtime values: the fail-closed exceptions, type tests, how a value is shown to a person, and the
value semantics every backend shares (comparisons, params read as numbers, booleans)."""

from __future__ import annotations

import datetime as dt
import json
import math
import operator
import re
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
        state = "absent" if value is ABSENT else "null" if value is None else "NaN" if value != value else "infinite"
        super().__init__(f"{path} is {state}")


class EvalTypeError(EvalError):
    """Values of the wrong type met (a string against a number, a param that is not numeric)."""


def is_number(v: Any) -> bool:
    return type(v) is float or type(v) is int  # bool is not a number here


def is_missing(v: Any) -> bool:
    """Absent, null, NaN or ±infinity: evidence a rule cannot decide on (fail closed)."""
    return v is ABSENT or v is None or (type(v) is float and not -INF < v < INF)  # NaN compares false too


INF = math.inf
# A param (a string) read as a number: plain decimal notation in ASCII digits, nothing Python's
# float() also takes ("nan", "inf", "1_000", "١٢").
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


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
    if isinstance(v, dt.timedelta):
        return f"the duration {show(v)}"
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
        return "%.6g" % v  # noqa: UP031 (a third faster than format(v, ".6g"), the same text)
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
    if isinstance(v, dt.timedelta):
        return show_duration(v)
    if isinstance(v, dict) and "size" in v:
        return f"present ({v['size']} bytes)"
    return json.dumps(v, default=str, ensure_ascii=False)


# ---- value semantics: how the language compares, and reads params as numbers ----------------

ORDER = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
EQUAL = {"==": operator.eq, "!=": operator.ne}


def param_number(v: Any, text: str) -> Any:
    """A param is a string; beside a number it is read as one if it parses, else a type error."""
    if isinstance(v, str):
        number = float(v) if _DECIMAL.fullmatch(v.strip()) else math.nan
        if not math.isfinite(number):  # "nan", "inf", "1_000", or past the largest float ("1e400")
            raise EvalTypeError(f"{text} = {show(v)} is not a number")
        return number
    return v


def show_duration(d: dt.timedelta) -> str:
    """A duration as the language writes one: `30d`, `2d 4h`, `-3h`, `90s`."""
    seconds = d.total_seconds()
    sign, left = ("-" if seconds < 0 else ""), abs(seconds)
    if left >= 1:
        left = float(round(left))  # past a second, its fractions only clutter a message
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if left >= size:
            count, left = divmod(left, size)
            parts.append(f"{int(count)}{unit}")
    if left or not parts:
        parts.append(f"{left:g}s")
    return sign + " ".join(parts[:2])  # the two largest units: what a message needs


def timestamp(v: Any, text: str) -> dt.datetime:
    """A date, a timestamp, or a string in ISO 8601 form read as one (UTC when it names no zone):
    what `age()`, dates and durations take."""
    if isinstance(v, dt.datetime):
        return v if v.tzinfo else v.replace(tzinfo=dt.UTC)
    if isinstance(v, dt.date):
        return dt.datetime.combine(v, dt.time(), dt.UTC)
    if isinstance(v, str) and len(v) <= 64:
        try:
            parsed = dt.datetime.fromisoformat(v)
        except ValueError:
            pass
        else:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    if is_missing(v):
        raise Missing(text, v)
    raise EvalTypeError(f"{text} is {describe(v)}, not a date or an ISO 8601 timestamp")


def comparable(l: Any, r: Any) -> tuple[Any, Any]:
    """Both sides in one kind where the language relates them: a timestamp beside a date is
    compared by its day; an ISO 8601 string beside a date or timestamp is read as a timestamp."""
    if isinstance(l, str) and isinstance(r, dt.date):
        l = timestamp(l, show(l))
    elif isinstance(r, str) and isinstance(l, dt.date):
        r = timestamp(r, show(r))
    if isinstance(l, dt.datetime) and type(r) is dt.date:
        return l.date(), r
    if type(l) is dt.date and isinstance(r, dt.datetime):
        return l, r.date()
    if isinstance(l, dt.datetime) and isinstance(r, dt.datetime):
        return timestamp(l, ""), timestamp(r, "")  # a timestamp without a zone is UTC
    return l, r


_TIME = (dt.date, dt.timedelta)


def time_arith(op: str, l: Any, r: Any, ltext: str, rtext: str) -> Any:
    """`+ - * /` where a date, a timestamp or a duration takes part: a timestamp minus a timestamp
    is a duration; a timestamp plus or minus a duration a timestamp; durations add, subtract, scale
    by numbers and divide into a number. An ISO 8601 string beside them is read as a timestamp."""
    if isinstance(l, str) and isinstance(r, _TIME):
        l = timestamp(l, ltext)
    if isinstance(r, str) and isinstance(l, dt.date):
        r = timestamp(r, rtext)
    if isinstance(l, dt.date) and not isinstance(l, dt.datetime):
        l = timestamp(l, ltext)
    if isinstance(r, dt.date) and not isinstance(r, dt.datetime):
        r = timestamp(r, rtext)
    try:
        if op == "-" and isinstance(l, dt.datetime) and isinstance(r, (dt.datetime, dt.timedelta)):
            return timestamp(l, ltext) - (timestamp(r, rtext) if isinstance(r, dt.datetime) else r)
        if op == "+" and isinstance(l, dt.datetime) and isinstance(r, dt.timedelta):
            return timestamp(l, ltext) + r
        if op == "+" and isinstance(l, dt.timedelta) and isinstance(r, dt.datetime):
            return timestamp(r, rtext) + l
        if isinstance(l, dt.timedelta) and isinstance(r, dt.timedelta) and op in "+-/":
            if op == "/" and not r:
                raise EvalTypeError(f"division by zero: {rtext} is 0s")
            return l + r if op == "+" else l - r if op == "-" else l / r
        if op in "*/" and isinstance(l, dt.timedelta) and is_number(r) and math.isfinite(r):
            if op == "/" and r == 0:
                raise EvalTypeError(f"division by zero: {rtext} is 0")
            return l * r if op == "*" else l / r
        if op == "*" and is_number(l) and math.isfinite(l) and isinstance(r, dt.timedelta):
            return r * l
    except OverflowError:
        raise EvalTypeError(f"'{op}' goes past the dates and durations the language holds") from None
    bad, bad_text = (l, ltext) if not isinstance(l, (*_TIME, int, float)) else (r, rtext)
    raise EvalTypeError(f"'{op}' cannot take {describe(l)} and {describe(r)} ({bad_text} is {describe(bad)})")


def compare(op: str, l: Any, r: Any) -> bool:
    if is_number(l) and is_number(r):
        return (ORDER.get(op) or EQUAL[op])(l, r)
    l, r = comparable(l, r)
    same = type(l) is type(r) or (isinstance(l, dt.date) and isinstance(r, dt.date))
    if op in EQUAL:
        if same and not isinstance(l, dict):
            return EQUAL[op](l, r)
    elif same and isinstance(l, (str, dt.date, dt.timedelta)):
        return ORDER[op](l, r)
    raise EvalTypeError(f"cannot compare {describe(l)} {op} {describe(r)}")


def as_bool(v: Any, where: str) -> bool:
    if v is True or v is False:
        return v
    raise EvalTypeError(f"'{where}' needs true or false, got {describe(v)}")
