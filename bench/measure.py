"""What every bench shares: one timing discipline and figures recorded in one shape (running
`pml-policy` from an installed wheel is in pml_runs.py, audit logs filled in bulk in bulk_logs.py).

The discipline (`interleaved`): the contenders of a comparison run round by round, each once per
round in an order that rotates, so that a load spike hits all of them rather than one; each starts
on a collected heap with what the others keep frozen (not scanned by its garbage collections);
every figure is min / median / max over the rounds with the machine's load beside it, and a ratio
is taken within each round (both sides saw the same machine) before its median is reported.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import gc
import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"


# ---- timing -------------------------------------------------------------------------------------


def load_average() -> float:
    """The machine's 1-minute load average (this machine is shared: every figure shows it)."""
    return os.getloadavg()[0]


@dataclasses.dataclass
class Series:
    """One contender's rounds: wall and CPU seconds for `count` items each, and the load seen."""

    name: str
    count: int
    wall: list[float] = dataclasses.field(default_factory=list)
    cpu: list[float] = dataclasses.field(default_factory=list)
    load: list[float] = dataclasses.field(default_factory=list)

    @property
    def rates(self) -> list[float]:
        return [self.count / s for s in self.wall]

    @property
    def cpu_rates(self) -> list[float]:
        return [self.count / s for s in self.cpu]

    def rate(self) -> Spread:
        return Spread.of(self.rates)

    def seconds(self) -> Spread:
        return Spread.of(self.wall)

    def loads(self) -> Spread:
        return Spread.of(self.load)


@dataclasses.dataclass(frozen=True)
class Spread:
    """min / median / max of a figure over rounds."""

    low: float
    median: float
    high: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        if not values:
            raise ValueError("no rounds measured")
        return cls(min(values), statistics.median(values), max(values))

    def show(self, fmt: str = ",.0f", unit: str = "") -> str:
        """'11,636/s (10,902-11,801)' (unit="/s"): the median, then the range over rounds."""
        if self.low == self.high:
            return f"{self.median:{fmt}}{unit}"
        return f"{self.median:{fmt}}{unit} ({self.low:{fmt}}-{self.high:{fmt}})"


def interleaved(contenders: dict[str, tuple[int, Callable[[], object]]], rounds: int) -> dict[str, Series]:
    """Run every contender (name: (items per run, run)) once per round, the order rotating from
    round to round; returns each one's Series. What a contender must produce is kept by its run,
    inside its own timed work. Before each run the objects alive are collected and frozen, so that
    no contender's garbage collections scan what another one keeps: each pays for its own alone."""
    series = {name: Series(name, count) for name, (count, _) in contenders.items()}
    names = list(contenders)
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            run, s = contenders[name][1], series[name]
            s.load.append(load_average())
            gc.collect()
            gc.freeze()
            try:
                start, start_cpu = time.perf_counter(), time.process_time()
                run()
                s.wall.append(time.perf_counter() - start)
                s.cpu.append(time.process_time() - start_cpu)
            finally:
                gc.unfreeze()
    return series


def ratio(faster: Series, slower: Series) -> Spread:
    """How many times `faster`'s rate is `slower`'s, taken round by round (both saw the same machine)."""
    return Spread.of([a / b for a, b in zip(faster.rates, slower.rates)])


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


# ---- agreement ----------------------------------------------------------------------------------


class Disagreement(SystemExit):
    """Two engines decided a subject differently: the bench stops and names it."""


def agree(reference: str, answers: dict[str, Sequence[Any]], subjects: Sequence[Any], what: str = "rules") -> int:
    """Compare every engine's answers (one per subject, in order) with the reference engine's;
    raise Disagreement naming the first subject that differs and how. Returns how many answers
    were compared."""
    expected = answers[reference]
    compared = 0
    for engine, found in answers.items():
        if engine == reference:
            continue
        if len(found) > len(expected):
            raise Disagreement(f"{engine} answered {len(found)} subjects, {reference} only {len(expected)}")
        for i, (mine, theirs) in enumerate(zip(found, expected)):
            if mine != theirs:
                detail = _first_difference(mine, theirs)
                raise Disagreement(
                    f"{engine} and {reference} disagree on subject {i} ({what}{detail}), the subject: "
                    f"{json.dumps(subjects[i], default=str)[:400]}"
                )
            compared += 1
    return compared


def _first_difference(mine: Any, theirs: Any, where: str = "") -> str:
    """Where two answers first differ, down through nested lists: ' at [0][9]: 'skip' against 'pass''."""
    if isinstance(mine, (list, tuple)) and isinstance(theirs, (list, tuple)) and len(mine) == len(theirs):
        for k, (a, b) in enumerate(zip(mine, theirs)):
            if a != b:
                return _first_difference(a, b, f"{where}[{k}]")
    return f" at {where or 'the answer'}: {mine!r} against {theirs!r}"


# ---- figures ------------------------------------------------------------------------------------


@dataclasses.dataclass
class Row:
    measure: str
    figure: str
    beside: str = ""  # its anchor or floor from the same run, with the ratio
    target: str = ""  # "20,000/s: met" / "missed"
    load: str = ""


@dataclasses.dataclass
class Figures:
    """One bench's figures as bench/README.md shows them: printed as they come, saved as JSON."""

    bench: str
    quick: bool
    started: str = dataclasses.field(default_factory=lambda: dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"))
    machine: str = dataclasses.field(default_factory=lambda: machine())
    tables: dict[str, list[Row]] = dataclasses.field(default_factory=dict)
    notes: list[str] = dataclasses.field(default_factory=list)

    def row(self, table: str, row: Row) -> None:
        if table not in self.tables:
            print(f"{table}:", flush=True)
        self.tables.setdefault(table, []).append(row)
        parts = [f"{row.measure:<46} {row.figure}"]
        parts += [f"   {text}" for text in (row.beside, row.target) if text]
        parts += [f"   load {row.load}"] if row.load else []
        print("  " + "".join(parts), flush=True)

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"  note: {text}", flush=True)

    def save(self, folder: Path | None) -> None:
        if folder is None:
            return
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{self.bench}.json").write_text(json.dumps(dataclasses.asdict(self), indent=1) + "\n")

    @classmethod
    def read(cls, path: Path) -> Figures:
        data = json.loads(path.read_text())
        tables = {name: [Row(**r) for r in rows] for name, rows in data.pop("tables").items()}
        return cls(**data, tables=tables)


def machine() -> str:
    """'2 cores, AMD EPYC 7B13 (x86_64)': what the figures were measured on."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        cpu = next(line.split(":", 1)[1].strip() for line in lines if line.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor() or "an unknown CPU"
    return f"{os.cpu_count()} cores, {cpu} ({platform.machine()})"


def verdict(value: float, target: float, quick: bool, higher_is_better: bool = True, unit: str = "") -> str:
    """'target >= 20,000/s: met' (or MISSED); a quick run's sizes say nothing about a target."""
    met = value >= target if higher_is_better else value <= target
    sign = ">=" if higher_is_better else "<="
    outcome = "not judged (quick run)" if quick else ("met" if met else "MISSED")
    return f"target {sign} {target:,g}{unit}: {outcome}"


def positive(text: str) -> int:
    """An argparse type: a whole number of at least 1 (a count, a size, rounds)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= 100_000_000:
        raise argparse.ArgumentTypeError(f"{value} is out of range: 1 to 100,000,000")
    return value


def sizes(text: str) -> list[int]:
    """An argparse type: comma-separated sizes, each a positive whole number."""
    return [positive(part.strip()) for part in text.split(",")]


def stores(text: str) -> list[str]:
    """An argparse type: comma-separated stores, each sqlite or postgresql (empty: none)."""
    found = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [name for name in found if name not in ("sqlite", "postgresql")]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown store {unknown[0]!r}: sqlite or postgresql")
    return found


def duration(text: str) -> float:
    """An argparse type: a duration in seconds, above 0 and at most an hour."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"{value:g} s is out of range: above 0, at most 3600")
    return value


def arguments(description: str | None) -> argparse.ArgumentParser:
    """The options every bench takes: --quick (tiny sizes, for the test suite) and --record."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, under a minute: the test suite runs this")
    parser.add_argument(
        "--record",
        type=Path,
        metavar="DIR",
        help=f"save the figures as JSON in DIR (make bench: {RESULTS.relative_to(ROOT)}), for bench/readme.py",
    )
    return parser
