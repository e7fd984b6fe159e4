"""Every subject at once: one evidence slot per path the policies read, as z3 variables.

A slot is absent, unusable (null, NaN, ±infinity) or holds a value of one of the kinds its path can
hold (`metrics.*` numbers, `params.*` and `tags.*` strings, `run.start_time` a timestamp;
`monitoring.*`, `card.*` and `data.*` anything). The metrics a quantifier ranges over are the ones
named anywhere, plus a few unnamed ones per glob: a bounded set, enough for each quantifier to find
a passing and a failing member. What a witness must also satisfy to be written as
files (no approvals given, `lower()` of a string already in lower case, …) is kept per rule
(encoding.RuleSym.realize): only a witness query adds it, never a proof.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import z3

from pml_policy.engine import ast
from pml_policy.engine.checker import walk

from .symbolic import ANY_KIND, BOOL, DUR, LIST, NUM, REC, STR, TIME, TRUE, Sym

ABSENT, UNUSABLE, VALUE = 0, 1, 2
_KINDS: dict[tuple[str, ...], tuple[str, ...]] = {
    ("model", "name"): (STR,),
    ("model", "version"): (NUM, STR),
    ("model", "source"): (STR,),
    ("model", "aliases"): (LIST,),
    ("model", "promoted_at"): (TIME,),
    ("run", "id"): (STR,),
    ("run", "user"): (STR,),
    ("run", "git_commit"): (STR,),
    ("run", "start_time"): (TIME,),
    ("run", "datasets"): (LIST,),
}
_ROOT_KINDS: dict[str, tuple[str, ...]] = {"metrics": (NUM,), "params": (STR,), "tags": (STR,)}
_NESTED = ("monitoring", "card", "data")  # a child present means the whole is present


@dataclass
class Slot:
    path: tuple[str, ...]
    kinds: tuple[str, ...]
    state: z3.ArithRef
    kind: z3.ArithRef | None
    vars: dict[str, z3.ExprRef] = field(default_factory=dict)

    def holds(self, k: str) -> z3.BoolRef:
        if k not in self.kinds:
            return z3.BoolVal(False)
        return TRUE if self.kind is None else self.kind == self.kinds.index(k)


class Universe:
    """The slots, atoms and uninterpreted values one analysis shares (both sides of a diff too)."""

    def __init__(self, trees: Iterable[ast.Policy]) -> None:
        self.axioms: list[z3.BoolRef] = []
        self.slots: dict[tuple[str, ...], Slot] = {}
        self.atoms: dict[str, z3.BoolRef] = {}
        self.opaque: dict[str, Sym] = {}
        self.now = z3.Real("now")
        self.champion = z3.Bool("champion exists")
        self.metrics = _metric_names(list(trees))

    # ---- slots -----------------------------------------------------------------------------

    def slot(self, path: tuple[str, ...]) -> Slot:
        found = self.slots.get(path)
        if found is None:
            found = self.slots[path] = self._new_slot(path)
            self._nest(found)
        return found

    def _new_slot(self, path: tuple[str, ...]) -> Slot:
        name = ".".join(path)
        bare = path[1:] if path[0] == "champion" else path
        kinds: tuple[str, ...] = _KINDS.get(bare) or (
            _ROOT_KINDS.get(bare[0], ANY_KIND) if len(bare) == 2 else ANY_KIND
        )
        if len(bare) == 1:
            kinds = (REC,)
        state = z3.Int(f"{name}#state")
        kind = z3.Int(f"{name}#kind") if len(kinds) > 1 else None
        s = Slot(path, kinds, state, kind)
        self.axioms.append(z3.And(state >= ABSENT, state <= VALUE))
        if kind is not None:
            self.axioms.append(z3.And(kind >= 0, kind < len(kinds)))
        sorts = {NUM: z3.Real, STR: z3.String, BOOL: z3.Bool, TIME: z3.Real, DUR: z3.Real}
        for k in kinds:
            if k in sorts:
                s.vars[k] = sorts[k](f"{name}#{k}")
        if LIST in kinds or REC in kinds:
            s.vars["length"] = z3.Int(f"{name}#length")
            self.axioms.append(s.vars["length"] >= 0)
        if STR in kinds:
            s.vars["time_ok"], s.vars["time"] = z3.Bool(f"{name}#iso"), z3.Real(f"{name}#iso_time")
            if bare[0] == "params":
                s.vars["number_ok"], s.vars["number"] = z3.Bool(f"{name}#numeric"), z3.Real(f"{name}#number")
        if bare == ("model", "version"):
            v = s.vars[NUM]
            self.axioms.append(z3.Implies(s.holds(NUM), z3.And(z3.IsInt(v), v >= 0)))  # digits: read as a number
        if path[0] == "champion":
            self.axioms.append(z3.Implies(z3.Not(self.champion), state == ABSENT))
        return s

    def _nest(self, s: Slot) -> None:
        at = 1 if s.path[0] == "champion" else 0
        if s.path[at] in _NESTED and len(s.path) > at + 1:
            whole = self.slot(s.path[: at + 1])
            self.axioms.append(z3.Implies(s.state != ABSENT, whole.state == VALUE))

    def read(self, path: tuple[str, ...]) -> Sym:
        """A path's value: Missing unless the slot holds a value (and, for champion.…, a champion)."""
        s = self.slot(path)
        missing = s.state != VALUE
        if path[0] == "champion":
            missing = z3.Or(z3.Not(self.champion), missing)
        sym = Sym(miss=missing, kinds={k: s.holds(k) for k in s.kinds})
        sym.num, sym.text, sym.flag = s.vars.get(NUM), s.vars.get(STR), s.vars.get(BOOL)
        sym.time, sym.dur, sym.length = s.vars.get(TIME), s.vars.get(DUR), s.vars.get("length")
        if "time_ok" in s.vars:
            sym.as_time = (s.vars["time_ok"], s.vars["time"])
        if "number_ok" in s.vars:
            sym.as_number = (s.vars["number_ok"], s.vars["number"])
        return sym

    # ---- atoms and unknowns ----------------------------------------------------------------

    def atom(self, name: str) -> z3.BoolRef:
        found = self.atoms.get(name)
        if found is None:
            found = self.atoms[name] = z3.Bool(name)
        return found

    def alias(self, name: str) -> z3.BoolRef:
        return self.atom(f"alias:{name}")

    def unknown(self, key: str) -> Sym:
        """A value the analysis does not model (drifted(), pick(), …): any kind, any error, the
        same for the same expression."""
        found = self.opaque.get(key)
        if found is None:
            path = ("?", key)
            s = self.slot(path)
            terr = z3.Bool(f"{key}#type_error")
            self.axioms.append(z3.Implies(terr, s.state == VALUE))
            sym = self.read(path)
            sym.miss, sym.terr = z3.And(sym.miss, z3.Not(terr)), terr
            found = self.opaque[key] = sym
        return found


def _metric_names(trees: list[ast.Policy]) -> dict[str, list[str]]:
    """glob -> the metric names it ranges over: those named anywhere that it matches, and one more
    unnamed per quantifier over it (so each can find its own passing and failing member)."""
    named: set[str] = set()
    quantified: dict[str, int] = {}
    for tree in trees:
        for node in _expressions(tree):
            for n in walk(node):
                if isinstance(n, ast.Path) and len(n.parts) == 2 and n.parts[0] == "metrics":
                    named.add(n.parts[1])
                elif isinstance(n, ast.Quantifier):
                    quantified[n.glob] = quantified.get(n.glob, 0) + 1
    unnamed = {name for g, count in quantified.items() for name in _fresh_names(g, count + 1)}
    everything = sorted(named | unnamed)
    return {g: [m for m in everything if fnmatch.fnmatchcase(m, g)] for g in quantified}


def _fresh_names(glob: str, count: int) -> list[str]:
    names = []
    for i in range(1, count + 1):
        name = re.sub(r"\[!?[^\]]*\]", "_", glob).replace("*", f"w{i}").replace("?", "q")
        if fnmatch.fnmatchcase(name, glob):
            names.append(name)
        else:
            for ch in "azAZ09_.-":
                candidate = re.sub(r"\[!?[^\]]*\]", ch, glob).replace("*", f"w{i}").replace("?", "q")
                if fnmatch.fnmatchcase(candidate, glob):
                    names.append(candidate)
                    break
    return names


def _expressions(tree: ast.Policy) -> list[ast.Expr]:
    found: list[ast.Expr] = [f.expr for f in tree.facts]
    for r in tree.rules:
        found += [c.expr for c in (r.when, r.require) if c is not None]
    return found
