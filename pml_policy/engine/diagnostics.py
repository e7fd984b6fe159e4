"""Located errors in policy files: file, line, column, the line itself, a caret, and a hint."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass
class Diagnostic:
    path: str
    line: int
    column: int
    message: str
    source_line: str = ""
    hint: str | None = None
    width: int = 1
    severity: str = "error"
    related: list[str] = field(default_factory=list)

    def render(self) -> str:
        out = [f"{self.path}:{self.line}:{self.column}: {self.severity}: {self.message}"]
        if self.source_line:
            gutter = f"{self.line:>5} | "
            shown, column = _window(self.source_line.rstrip("\n"), self.column)
            out.append(gutter + shown)
            caret = " " * (column - 1) + "^" + "~" * max(0, min(self.width, 60) - 1)
            out.append(" " * (len(gutter) - 2) + "| " + caret)
        if self.hint:
            out.append(f"  hint: {self.hint}")
        out.extend(f"  note: {r}" for r in self.related)
        return "\n".join(out)


_WINDOW = 100  # characters of a long line shown around the column


def _window(line: str, column: int) -> tuple[str, int]:
    """A long line cut to the part around the column (a generated or hostile file may hold
    megabytes on one line), with the column within what is shown."""
    if len(line) <= _WINDOW:
        return line, column
    start = max(0, min(column - 1 - _WINDOW // 2, len(line) - _WINDOW))
    shown = ("…" if start else "") + line[start : start + _WINDOW] + ("…" if start + _WINDOW < len(line) else "")
    return shown, column - start + (1 if start else 0)


def did_you_mean(name: str, known: Iterable[str]) -> str | None:
    """The closest known name, phrased as a hint, or None when nothing is close."""
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    return f'did you mean "{close[0]}"?' if close else None


def line_of(text: str, line: int) -> str:
    lines = text.split("\n")
    return lines[line - 1] if 0 < line <= len(lines) else ""
