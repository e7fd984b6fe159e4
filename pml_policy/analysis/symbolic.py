"""The language's values as z3 terms, with its fail-closed errors.

A value the engine computes is one of a few kinds (number, string, boolean, timestamp, duration,
list, record), or evaluation stopped with Missing (absent, null, NaN, ±infinity) or a type error.
A `Sym` holds, for one expression over every subject at once: when it raises each error, when it
is each kind, and the value of each kind. Operators follow engine/values.py and
engine/compiler.py case by case, left operand first, so `a and b` and `b and a` differ exactly
where the engine's do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import z3

NUM, STR, BOOL, TIME, DUR, LIST, REC = "num", "str", "bool", "time", "dur", "list", "rec"
ANY_KIND = (NUM, STR, BOOL, TIME, DUR, LIST, REC)
TRUE, FALSE = z3.BoolVal(True), z3.BoolVal(False)
DAY = 86400


@dataclass
class Sym:
    """One expression's value over every subject: errors, kinds and the value of each kind."""

    miss: z3.BoolRef = FALSE  # evaluation raised Missing
    terr: z3.BoolRef = FALSE  # evaluation raised a type error
    kinds: dict[str, z3.BoolRef] = field(default_factory=dict)  # kind -> it is that kind (absent: never)
    num: z3.ArithRef | None = None
    text: z3.SeqRef | None = None
    flag: z3.BoolRef | None = None
    time: z3.ArithRef | None = None  # seconds since the epoch (dates at midnight UTC)
    dur: z3.ArithRef | None = None  # seconds
    length: z3.ArithRef | None = None  # a list's or record's length
    items: list[Sym] | None = None  # a list literal's items
    as_number: tuple[z3.BoolRef, z3.ArithRef] | None = None  # a param read as a number: (parses, value)
    as_time: tuple[z3.BoolRef, z3.ArithRef] | None = None  # a string read as an ISO 8601 timestamp
    is_date: bool = False  # a date (compared with a timestamp by its day)
    aliases: Callable[[str], z3.BoolRef] | None = None  # model.aliases: whether it holds an alias

    @property
    def err(self) -> z3.BoolRef:
        return z3.Or(self.miss, self.terr)

    @property
    def ok(self) -> z3.BoolRef:
        return z3.Not(self.err)

    def kind(self, k: str) -> z3.BoolRef:
        return self.kinds.get(k, FALSE)


def number(v: float | z3.ArithRef) -> Sym:
    return Sym(kinds={NUM: TRUE}, num=v if isinstance(v, z3.ExprRef) else z3.RealVal(_exact(v)))


def string(v: str | z3.SeqRef) -> Sym:
    return Sym(kinds={STR: TRUE}, text=v if isinstance(v, z3.ExprRef) else z3.StringVal(v))


def boolean(v: bool | z3.BoolRef) -> Sym:
    return Sym(kinds={BOOL: TRUE}, flag=v if isinstance(v, z3.ExprRef) else z3.BoolVal(v))


def timestamp(seconds: float | z3.ArithRef, is_date: bool = False) -> Sym:
    t = seconds if isinstance(seconds, z3.ExprRef) else z3.RealVal(_exact(seconds))
    return Sym(kinds={TIME: TRUE}, time=t, is_date=is_date)


def duration(seconds: float | z3.ArithRef) -> Sym:
    return Sym(kinds={DUR: TRUE}, dur=seconds if isinstance(seconds, z3.ExprRef) else z3.RealVal(_exact(seconds)))


def _exact(v: float) -> str:
    """A float as the exact decimal the solver reads (repr round-trips)."""
    return repr(float(v)) if not float(v).is_integer() else str(int(v))


def then(first: Sym, second: Sym) -> tuple[z3.BoolRef, z3.BoolRef]:
    """The errors of evaluating `first`, then `second`: the first one raised is the one seen."""
    return z3.Or(first.miss, z3.And(first.ok, second.miss)), z3.Or(first.terr, z3.And(first.ok, second.terr))


def sequence(syms: list[Sym]) -> tuple[z3.BoolRef, z3.BoolRef]:
    """The errors of evaluating each of `syms` in order."""
    miss, terr, ok = FALSE, FALSE, TRUE
    for s in syms:
        miss, terr = z3.Or(miss, z3.And(ok, s.miss)), z3.Or(terr, z3.And(ok, s.terr))
        ok = z3.And(ok, s.ok)
    return miss, terr


def result(miss: z3.BoolRef, terr: z3.BoolRef, fine: z3.BoolRef, cases: list[tuple[z3.BoolRef, Sym]]) -> Sym:
    """A value built case by case once its operands evaluated (`fine`): a type error where no case
    holds. Every case's Sym has exactly one kind."""
    covered = z3.Or([c for c, _ in cases]) if cases else FALSE
    out = Sym(miss=miss, terr=z3.Or(terr, z3.And(fine, z3.Not(covered))))
    for kind, attr in ((NUM, "num"), (STR, "text"), (BOOL, "flag"), (TIME, "time"), (DUR, "dur")):
        mine = [(c, getattr(s, attr)) for c, s in cases if kind in s.kinds]
        if mine:
            out.kinds[kind] = z3.Or([c for c, _ in mine])
            setattr(out, attr, _select(mine))
    return out


def _select(cases: list[tuple[z3.BoolRef, z3.ExprRef]]) -> z3.ExprRef:
    value = cases[-1][1]
    for cond, v in reversed(cases[:-1]):
        value = z3.If(cond, v, value)
    return value


def as_flag(s: Sym) -> Sym:
    """`as_bool`: a boolean, else a type error (the operand's own errors first)."""
    return Sym(miss=s.miss, terr=z3.Or(s.terr, z3.And(s.ok, z3.Not(s.kind(BOOL)))), kinds={BOOL: TRUE}, flag=_flag(s))


def _flag(s: Sym) -> z3.BoolRef:
    return s.flag if s.flag is not None else FALSE


def logic(op: str, left: Sym, right: Sym) -> Sym:
    """`and` / `or`, left to right, stopping at the first operand that decides."""
    l, r = as_flag(left), as_flag(right)
    goes_on = z3.And(l.ok, l.flag) if op == "and" else z3.And(l.ok, z3.Not(l.flag))
    value = z3.And(l.flag, r.flag) if op == "and" else z3.Or(l.flag, r.flag)
    miss, terr = z3.Or(l.miss, z3.And(goes_on, r.miss)), z3.Or(l.terr, z3.And(goes_on, r.terr))
    return Sym(miss=miss, terr=terr, kinds={BOOL: TRUE}, flag=value)


def negation(operand: Sym) -> Sym:
    s = as_flag(operand)
    return replace(s, flag=z3.Not(s.flag))


_CMP = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _day(s: Sym) -> z3.ArithRef:
    assert s.time is not None
    return z3.ToInt(s.time / DAY)


def compare(
    op: str, l: Sym, r: Sym, lparam: bool = False, rparam: bool = False, lists_equal: z3.BoolRef | None = None
) -> Sym:
    """`== != < <= > >=` as values.compare (params read as numbers beside a number); two lists
    compared with `==`/`!=` are `lists_equal` (unmodelled) unless one is `[]`."""
    miss, terr = then(l, r)
    fine = z3.And(l.ok, r.ok)
    cmp = _CMP[op]
    cases: list[tuple[z3.BoolRef, z3.BoolRef]] = []
    extra_terr = FALSE
    if l.num is not None and r.num is not None:
        cases.append((z3.And(l.kind(NUM), r.kind(NUM)), cmp(l.num, r.num)))
    for param, other, param_left in ((l, r, True), (r, l, False)):
        if (lparam if param_left else rparam) and param.as_number is not None and other.num is not None:
            parses, value = param.as_number
            both = z3.And(param.kind(STR), other.kind(NUM))
            extra_terr = z3.Or(extra_terr, z3.And(both, z3.Not(parses)))
            cases.append((z3.And(both, parses), cmp(value, other.num) if param_left else cmp(other.num, value)))
    if l.text is not None and r.text is not None:
        cases.append((z3.And(l.kind(STR), r.kind(STR)), _text_cmp(op, l.text, r.text)))
    if l.time is not None and r.time is not None:
        by_day = l.is_date or r.is_date
        a, b = (_day(l), _day(r)) if by_day else (l.time, r.time)
        cases.append((z3.And(l.kind(TIME), r.kind(TIME)), cmp(a, b)))
    for text_side, time_side, text_left in ((l, r, True), (r, l, False)):
        if text_side.as_time is not None and time_side.time is not None:
            parses, t = text_side.as_time
            both = z3.And(text_side.kind(STR), time_side.kind(TIME))
            extra_terr = z3.Or(extra_terr, z3.And(both, z3.Not(parses)))
            a, b = (t, time_side.time) if not time_side.is_date else (z3.ToInt(t / DAY), _day(time_side))
            cases.append((z3.And(both, parses), cmp(a, b) if text_left else cmp(b, a)))
    if l.dur is not None and r.dur is not None:
        cases.append((z3.And(l.kind(DUR), r.kind(DUR)), cmp(l.dur, r.dur)))
    if op in ("==", "!=") and l.flag is not None and r.flag is not None:
        cases.append((z3.And(l.kind(BOOL), r.kind(BOOL)), cmp(l.flag, r.flag)))
    if op in ("==", "!="):
        cases += _list_equality(op, l, r, lists_equal)
    value = _select(cases) if cases else FALSE
    covered = z3.Or([c for c, _ in cases]) if cases else FALSE
    terr = z3.Or(terr, z3.And(fine, z3.Or(extra_terr, z3.Not(covered))))
    return Sym(miss=miss, terr=terr, kinds={BOOL: TRUE}, flag=z3.And(covered, value) if cases else FALSE)


def _text_cmp(op: str, a: z3.SeqRef, b: z3.SeqRef) -> z3.BoolRef:
    if op in ("==", "!="):
        return _CMP[op](a, b)
    if op == "<":
        return a < b
    if op == "<=":
        return z3.Or(a < b, a == b)
    if op == ">":
        return b < a
    return z3.Or(b < a, a == b)


def _list_equality(op: str, l: Sym, r: Sym, lists_equal: z3.BoolRef | None) -> list[tuple[z3.BoolRef, z3.BoolRef]]:
    """A list compared with `[]` is its length; other lists are equal as `lists_equal` says."""
    for a, b in ((l, r), (r, l)):
        if b.items is not None and not b.items and a.length is not None:
            empty = a.length == 0
            return [(a.kind(LIST), empty if op == "==" else z3.Not(empty))]
    if lists_equal is None:
        return []
    return [(z3.And(l.kind(LIST), r.kind(LIST)), lists_equal if op == "==" else z3.Not(lists_equal))]


def equal_in(item: Sym, member: Sym) -> z3.BoolRef:
    """Python's `==` as `in` uses it: values of different kinds are unequal, but for a boolean
    beside a number (True == 1)."""
    parts = []
    for kind, attr in ((NUM, "num"), (STR, "text"), (BOOL, "flag"), (TIME, "time"), (DUR, "dur")):
        a, b = getattr(item, attr), getattr(member, attr)
        if a is not None and b is not None:
            parts.append(z3.And(item.kind(kind), member.kind(kind), a == b))
    for x, y in ((item, member), (member, item)):
        if x.flag is not None and y.num is not None:
            parts.append(z3.And(x.kind(BOOL), y.kind(NUM), z3.If(x.flag, 1, 0) == y.num))
    return z3.Or(parts) if parts else FALSE


def numeric(s: Sym, param: bool) -> Sym:
    """An operand in a numeric slot (arithmetic, `-`, functions): a param is read as a number."""
    if not param or s.as_number is None:
        return s
    parses, value = s.as_number
    return Sym(
        miss=s.miss, terr=z3.Or(s.terr, z3.And(s.ok, s.kind(STR), z3.Not(parses))), kinds={NUM: s.kind(STR)}, num=value
    )


def arith(op: str, l: Sym, r: Sym) -> Sym:
    """`+ - * /` over numbers, and over timestamps and durations as values.time_arith."""
    miss, terr = then(l, r)
    fine = z3.And(l.ok, r.ok)
    cases: list[tuple[z3.BoolRef, Sym]] = []
    zero = FALSE
    if l.num is not None and r.num is not None:
        both = z3.And(l.kind(NUM), r.kind(NUM))
        if op == "/":
            zero = z3.And(both, r.num == 0)
        cases.append((both, number(_apply(op, l.num, r.num))))
    # values.time_arith: a string is read as a timestamp beside one (the left one beside a duration too)
    lt, rt = _as_time(l, z3.Or(r.kind(TIME), r.kind(DUR))), _as_time(r, l.kind(TIME))
    unreadable = z3.Or([t[2] for t in (lt, rt) if t] or [FALSE])
    if op == "-" and lt and rt:
        cases.append((z3.And(lt[0], rt[0]), duration(lt[1] - rt[1])))
    if op in "+-" and lt and r.dur is not None:
        cases.append((z3.And(lt[0], r.kind(DUR)), timestamp(lt[1] + r.dur if op == "+" else lt[1] - r.dur)))
    if op == "+" and l.dur is not None and rt:
        cases.append((z3.And(l.kind(DUR), rt[0]), timestamp(rt[1] + l.dur)))
    if l.dur is not None and r.dur is not None and op in "+-/":
        both = z3.And(l.kind(DUR), r.kind(DUR))
        if op == "/":
            zero = z3.Or(zero, z3.And(both, r.dur == 0))
            cases.append((both, number(l.dur / r.dur)))
        else:
            cases.append((both, duration(_apply(op, l.dur, r.dur))))
    if op in "*/" and l.dur is not None and r.num is not None:
        both = z3.And(l.kind(DUR), r.kind(NUM))
        if op == "/":
            zero = z3.Or(zero, z3.And(both, r.num == 0))
        cases.append((both, duration(_apply(op, l.dur, r.num))))
    if op == "*" and l.num is not None and r.dur is not None:
        cases.append((z3.And(l.kind(NUM), r.kind(DUR)), duration(l.num * r.dur)))
    bad = z3.Or(zero, unreadable)
    out = result(miss, terr, fine, [(z3.And(c, z3.Not(bad)), s) for c, s in cases])
    out.terr = z3.Or(out.terr, z3.And(fine, bad))
    return out


def _as_time(s: Sym, read: z3.BoolRef = TRUE) -> tuple[z3.BoolRef, z3.ArithRef, z3.BoolRef] | None:
    """A timestamp, or where `read` holds an ISO 8601 string read as one: (it is one, its seconds,
    it is a string that does not read as one: a type error)."""
    if s.as_time is None:
        return (s.kind(TIME), s.time, FALSE) if s.time is not None else None
    parses, t = s.as_time
    text = z3.And(s.kind(STR), read)
    if s.time is None:
        return z3.And(text, parses), t, z3.And(text, z3.Not(parses))
    return z3.Or(s.kind(TIME), z3.And(text, parses)), z3.If(s.kind(TIME), s.time, t), z3.And(text, z3.Not(parses))


def as_time(s: Sym) -> tuple[z3.BoolRef, z3.ArithRef, z3.BoolRef] | None:
    """What `age()` reads: a timestamp, or any string as one."""
    return _as_time(s)


def _apply(op: str, a: z3.ArithRef, b: z3.ArithRef) -> z3.ArithRef:
    return a + b if op == "+" else a - b if op == "-" else a * b if op == "*" else a / b
