"""Values and tables as a scenario writer types them: `0.86`, `5%`, `true`, `credit`, `[a, b]`."""

from __future__ import annotations

import math
import re
from typing import Any

from .errors import ScenarioMistake

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def number(text: str, what: str) -> float | int:
    """A metric value: 0.86, 86%, 1e-3, NaN (which every rule treats as missing)."""
    t = text.strip().replace("_", "")
    if t.lower() == "nan":
        return math.nan
    percent = t.endswith("%")
    core = t[:-1].strip() if percent else t
    if not _NUMBER.match(core):
        raise ScenarioMistake(
            f'{what}: "{text}" is not a number', "write a number such as 0.86, or a percentage such as 5%"
        )
    value: float | int = float(core) if re.search(r"[.eE]", core) else int(core)
    return value / 100 if percent else value


def scalar(text: str) -> Any:
    """A param or context value: a number, a percentage, true/false, a [flow, list], else the text."""
    t = text.strip()
    if t.lower() in ("true", "false"):
        return t.lower() == "true"
    if t.startswith("[") and t.endswith("]"):
        return [scalar(x) for x in t[1:-1].split(",") if x.strip()]
    try:
        return number(t, "")
    except ScenarioMistake:
        return t.strip('"')


def pairs(table: list[list[str]] | None, what: str, header: str) -> list[tuple[str, str]]:
    """Rows of a two-column table, `| name | value |`; a first row ending in `value` is its header."""
    if not table:
        raise ScenarioMistake(
            f"{what} needs a table under the step", f"for example:\n    | {header} | value |\n    | …      | …     |"
        )
    rows = table[1:] if table[0][-1].strip().lower() == "value" else table
    for row in rows:
        if len(row) != 2:
            raise ScenarioMistake(
                f"{what}: each row has two cells, | {header} | value |; found {len(row)} in | {' | '.join(row)} |"
            )
    return [(name.strip(), value.strip()) for name, value in rows]
