"""Policy analysis under test: generated rules and evidence, and the solver's verdict on one subject.

`pinned` fixes every slot of a Universe to what a concrete subject holds, so that the formulas
the analysis builds can be compared with what the engine decides on that very subject.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import z3
from hypothesis import strategies as st

from pml_policy.analysis.universe import ABSENT, UNUSABLE, VALUE, Universe
from pml_policy.engine.subject import ModelInfo, RunInfo, Subject
from pml_policy.engine.values import EvalTypeError, is_missing, param_number

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

# Numbers whose sums, differences and products floats hold exactly: the analysis reads numbers as
# reals, and this compares its logic with the engine's, not rounding.
_NUMBERS = ["0", "0.5", "1", "2", "0.25", "0.75", "-1", "1.5"]
_STRINGS = ['"x"', '"y"', '""', '"0.5"']
_NUMERIC_PATHS = ["metrics.a", "metrics.b", "champion.metrics.a", "params.p"]
_TEXT_PATHS = ["tags.t", "params.p", "model.name"]


def _atoms() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(_NUMBERS + _NUMERIC_PATHS),
        st.sampled_from(_STRINGS + _TEXT_PATHS),
    )


def _grow(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-", "*", "/"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        inner.map(lambda a: f"abs({a})"),
        st.tuples(inner, inner).map(lambda t: f"max({t[0]}, {t[1]})"),
        inner.map(lambda a: f"len({a})"),
    )


values = st.recursive(_atoms(), _grow, max_leaves=4)


def _tests(v: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(v, st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), v).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
        st.tuples(v, st.sampled_from(["exists", "missing"])).map(lambda t: f"({t[0]}) {t[1]}"),
        st.tuples(
            v, st.sampled_from(["in", "not in"]), st.sampled_from(['["x", "y"]', "[0.5, 1]", "[]", "tags.t"])
        ).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
        st.tuples(st.sampled_from(_TEXT_PATHS), st.sampled_from(["^x", "y$", "[0-9]+", "^$", "x|y"])).map(
            lambda t: f'{t[0]} matches "{t[1]}"'
        ),
        st.tuples(st.sampled_from(["all", "any"]), st.sampled_from(["<", ">=", "=="]), v).map(
            lambda t: f'{t[0]} metrics matching "s_*" {t[1]} {t[2]}'
        ),
        st.sampled_from(
            [
                "champion exists",
                "true",
                "false",
                "age(run.start_time) <= 30d",
                "run.start_time > 2026-11-01",
                "run.start_time + 30d >= now",
                "(now - run.start_time) / 1d > 20",
                "tags.t < 2026-11-21",
                "age(tags.t) > 2w",
                'lower(tags.t) == "x"',
                "(tags.t - run.start_time) > 1d",
                "(tags.t - tags.t) >= 0s",
                "(tags.t + 1d) > now",
                "(1d + tags.t) > now",
                'model.name == "x" or [1] == [1]',
            ]
        ),
    )


conditions = st.recursive(
    _tests(values),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        inner.map(lambda c: f"not ({c})"),
    ),
    max_leaves=4,
)

_METRIC = st.one_of(st.none(), st.sampled_from([0.0, 0.5, 1.0, 2.0, -1.0, 0.75, math.nan]))


@st.composite
def subjects(draw: st.DrawFn, prefix: str = "") -> Subject:
    # s_w1, s_w2: the members the analysis gives the family "s_*" (its bounded set), so that the
    # subject's family is one the formulas can be pinned to.
    metrics = {k: v for k in ("a", "b", "s_w1", "s_w2") if (v := draw(_METRIC)) is not None or draw(st.booleans())}
    params = {"p": p} if (p := draw(st.sampled_from([None, "0.5", "abc", "1e3", "nan", "", "2"]))) is not None else {}
    tags = {"t": t} if (t := draw(st.sampled_from([None, "x", "y", "X", "0.5", "2026-11-20"]))) is not None else {}
    start = draw(st.sampled_from([None, NOW - dt.timedelta(days=10), NOW - dt.timedelta(days=40)]))
    return Subject(
        source="local",
        reference=f"{prefix}generated",
        model=ModelInfo(name=draw(st.sampled_from(["credit-x", "churn", "x1"])), aliases=[]),
        run=RunInfo(start_time=start),
        metrics=metrics,
        params=params,
        tags=tags,
    )


def write_policy(
    folder: Path, rules: list[tuple[str | None, str]], name: str = "generated", ids: list[str] | None = None
) -> Path:
    """A policy file of `(when, require)` rules, named by `ids` (default r0, r1, …)."""
    ids = ids or [f"r{i}" for i in range(len(rules))]
    body = "".join(
        f"  rule {rule_id} {{\n" + (f"    when {when}\n" if when else "") + f"    require {require}\n  }}\n"
        for rule_id, (when, require) in zip(ids, rules, strict=True)
    )
    path = folder / f"{name}.pml"
    path.write_text(f'policy "{name}" version "1.0.0" {{\n{body}}}\n')
    return path


# ---- the solver on one concrete subject ----------------------------------------------------


def pinned(u: Universe, subject: Subject, champion: Subject | None, now: dt.datetime = NOW) -> list[z3.BoolRef]:
    """Constraints that fix every slot and atom of `u` to what the subject (and champion) hold."""
    views = {"": subject.view(), "champion": champion.view() if champion else None}
    out: list[z3.BoolRef] = [u.now == int((now - EPOCH).total_seconds()), u.champion == (champion is not None)]
    for name, atom in u.atoms.items():
        if name.startswith("alias:"):
            out.append(atom == (name.removeprefix("alias:") in subject.model.aliases))
    for path, slot in u.slots.items():
        if path[0] == "?":
            continue
        view = views["champion"] if path[0] == "champion" else views[""]
        rest = path[1:] if path[0] == "champion" else path
        if view is None:
            continue  # no champion: the axioms make its slots absent
        value = view.get(rest[0], {}).get(rest[1], _ABSENT) if len(rest) == 2 else _ABSENT
        out += _pin(slot, value)
    return out


_ABSENT = object()


def _pin(slot, value) -> list[z3.BoolRef]:  # noqa: ANN001 (a Slot, and whatever evidence holds)
    if value is _ABSENT:
        return [slot.state == ABSENT]
    if is_missing(value):
        return [slot.state == UNUSABLE]
    pins = [slot.state == VALUE]
    kind = {float: "num", int: "num", str: "str", dt.datetime: "time"}[type(value)]
    if slot.kind is not None:
        pins.append(slot.kind == slot.kinds.index(kind))
    v = slot.vars
    if kind == "num":
        pins.append(v["num"] == z3.RealVal(repr(float(value))))
    elif kind == "time":
        pins.append(v["time"] == z3.RealVal(str(int((value - EPOCH).total_seconds()))))
    else:
        pins.append(v["str"] == z3.StringVal(value))
        if "number_ok" in v:
            try:
                number = param_number(value, "p")
                pins += [v["number_ok"], v["number"] == z3.RealVal(repr(float(number)))]
            except EvalTypeError:
                pins.append(z3.Not(v["number_ok"]))
        try:
            parsed = dt.datetime.fromisoformat(value)
            parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
            pins += [v["time_ok"], v["time"] == z3.RealVal(str(int((parsed - EPOCH).total_seconds())))]
        except ValueError:
            pins.append(z3.Not(v["time_ok"]))
    return pins


def solver_outcomes(u: Universe, rule, pins: list[z3.BoolRef]) -> list[str]:  # noqa: ANN001 (a RuleSym)
    """Every outcome the formulas allow for the rule on the pinned subject (one, if they agree)."""
    s = z3.Solver()
    s.add(*u.axioms, *pins)
    return [o for o in ("pass", "fail", "skip", "error") if s.check(rule.outcome(o)) == z3.sat]
