"""Asking the solver: proofs (over every subject) and witnesses (one subject, checked by the engine)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

import z3

from pml_policy.base.errors import EvidenceError, UsageError
from pml_policy.engine.loader import PolicySet
from pml_policy.engine.waivers import WaiverIndex

from .universe import Universe
from .witnesses import Outcomes, Witness, confirm, realizable, variables, witness

Answer = Literal["sat", "unsat", "unknown"]
DEFAULT_TIMEOUT = 2.0  # seconds per query
DEFAULT_BUDGET = 300.0  # seconds for a whole analysis: what is left undecided past it is reported so
MEMORY_MB = 2048  # the solver's own ceiling
ROBUST_SECONDS = 86400  # a witness that reads the time decides the same for a day after it was found


class Solver:
    """One solver over a universe's axioms; each query pushes its own formulas and pops them."""

    def __init__(self, universe: Universe, timeout: float = DEFAULT_TIMEOUT, budget: float = DEFAULT_BUDGET) -> None:
        self.u = universe
        self.z3 = z3.Solver()
        self.timeout = timeout
        self.deadline = time.monotonic() + budget
        z3.set_param("memory_max_size", MEMORY_MB)
        self.z3.add(*universe.axioms)
        self.added = len(universe.axioms)
        self.timeouts = 0

    def _limit(self) -> bool:
        """Set this query's time limit: the per-query time-out, within what is left of the budget
        (False: nothing is left, the question goes undecided)."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            return False
        self.z3.set("timeout", max(1, int(min(self.timeout, left) * 1000)))
        return True

    def _sync(self) -> None:
        """Axioms of slots made after the solver was (a witness query may read new ones)."""
        if self.added < len(self.u.axioms):
            self.z3.add(self.u.axioms[self.added :])
            self.added = len(self.u.axioms)

    def ask(self, *formulas: z3.BoolRef) -> Answer:
        self._sync()
        if not self._limit():
            self.timeouts += 1
            return "unknown"
        self.z3.push()
        try:
            self.z3.add(*formulas)
            answer = str(self.z3.check())
        except z3.Z3Exception:  # out of the solver's memory: undecided, never a proof
            answer = "unknown"
        finally:
            self.z3.pop()
        if answer == "unknown":
            self.timeouts += 1
        return answer  # type: ignore[return-value]

    def core(self, base: Sequence[z3.BoolRef], tracked: dict[str, z3.BoolRef]) -> list[str] | None:
        """A smallest set of the tracked formulas that cannot hold together with `base`: a minimal
        unsat core, then smaller sets tried while there are few enough."""
        self._sync()
        if not self._limit():
            return None
        self.z3.push()
        try:
            self.z3.add(*base)
            literals = {name: z3.Bool(f"track:{name}") for name in tracked}
            for name, formula in tracked.items():
                self.z3.add(z3.Implies(literals[name], formula))
            if self.z3.check(*literals.values()) != z3.unsat:
                return None
            cored = {str(c).removeprefix("track:") for c in self.z3.unsat_core()}
            core = [name for name in tracked if name in cored]  # in the order written, not the solver's
            for name in list(core):  # deletion: what is left is minimal
                trial = [n for n in core if n != name]
                if self.z3.check(*[literals[n] for n in trial]) == z3.unsat:
                    core = trial
            return _smallest(
                core, list(tracked), lambda names: self.z3.check(*[literals[n] for n in names]) == z3.unsat
            )
        finally:
            self.z3.pop()

    def witness(
        self,
        formulas: Sequence[z3.BoolRef],
        realize: Sequence[z3.BoolRef],
        policy_sets: Sequence[PolicySet],
        expect: Callable[[list[Outcomes]], bool],
        folder: Path | None = None,
        readme: Callable[[Witness], str] | None = None,
    ) -> tuple[Witness | None, list[Outcomes] | None]:
        """A subject that satisfies `formulas`, written as files (into `folder`, else a temporary
        one), on which the engine's outcomes under each policy set satisfy `expect`; else (None,
        what the engine decided on the nearest one found) and nothing left written."""
        self._sync()
        found = self._model(formulas, realize)
        if found is None:
            return None, None
        sets = [without_waivers(p) for p in policy_sets]
        try:
            if folder is None:
                with tempfile.TemporaryDirectory(prefix="pml-witness-") as tmp:
                    decided = confirm(found, sets, Path(tmp))
            else:
                decided = confirm(found, sets, folder, readme(found) if readme else None)
        except OSError as exc:  # the folder given cannot be written: nothing is left half-written
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
            raise UsageError(f"cannot write the example {folder}: {exc.strerror or exc}") from None
        except EvidenceError:
            decided = None  # files the engine refuses: not evidence, so not a witness
        if decided is None or not expect(decided):
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
            return None, decided
        return found, decided

    def _model(self, formulas: Sequence[z3.BoolRef], realize: Sequence[z3.BoolRef]) -> Witness | None:
        """A witness at the current time that still holds a day later where it reads the time
        (`check` of the files runs after it was found: its timestamps must not sit on a boundary),
        else one that holds now."""
        now = int(dt.datetime.now(dt.UTC).timestamp())
        later = [z3.substitute(f, (self.u.now, z3.RealVal(now + ROBUST_SECONDS))) for f in formulas]
        used = variables(formulas)
        strings = realizable(self.u, used)
        for extra in ([*later, *strings], strings, later, []):  # the most faithful first
            if not self._limit():
                return None
            self.z3.push()
            try:
                self.z3.add(*formulas, *extra, *realize, self.u.now == now)
                if self.z3.check() == z3.sat:
                    return witness(self.u, self.z3.model(), used)
            except z3.Z3Exception:
                return None
            finally:
                self.z3.pop()
        return None


def without_waivers(policies: PolicySet) -> PolicySet:
    """Findings are about the rules: a waiver would turn the outcomes they are about into `waived`."""
    return dataclasses.replace(policies, waivers=WaiverIndex([]))


_COMBINATIONS = 400  # subsets tried in search of a smaller core


def _smallest(core: list[str], names: list[str], unsat: Callable[[list[str]], bool]) -> list[str]:
    """A set of `names` smaller than `core` that is also unsatisfiable, the smallest first; `core`
    when there is none among the first _COMBINATIONS tried."""
    tried = 0
    for size in range(1, len(core)):
        for subset in itertools.combinations(names, size):
            tried += 1
            if tried > _COMBINATIONS:
                return core
            if unsat(list(subset)):
                return list(subset)
    return core
