"""Text from evidence made safe for the places it is printed: one line, no control characters.

Evidence (a model name, a tag, a file name) comes from many hands. Printed as it is, a newline in
it forges a `=> PASS` line in a CI log, an escape sequence recolours a terminal, a bidirectional
override (U+202E) reverses what a reviewer reads, and a cell starting with `=` runs as a formula in
a spreadsheet. Every output format passes such text through these functions.

>>> one_line('credit\\n=> PASS')
'credit\\\\n=> PASS'
>>> csv_cell("=HYPERLINK(1)")
"'=HYPERLINK(1)"
"""

from __future__ import annotations

import unicodedata
from typing import Any

_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Control (Cc), format (Cf: bidi overrides, zero-width joiners) and line/paragraph separators.
_UNSAFE_CATEGORIES = {"Cc", "Cf", "Zl", "Zp"}


def _escaped(char: str) -> str:
    if char in _SHORT:
        return _SHORT[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def one_line(text: str) -> str:
    """The text with every control, format and separator character written as an escape: it can
    neither end a line nor change how the rest of the line is shown."""
    if text.isprintable() and text.isascii():  # the common case, at C speed
        return text
    return "".join(_escaped(c) if unicodedata.category(c) in _UNSAFE_CATEGORIES else c for c in text)


def lines_of(text: str) -> str:
    """A message of several lines (an error and its hint): each line made safe, the breaks kept."""
    return "\n".join(one_line(line) for line in text.split("\n"))


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A value for a CSV cell: text that a spreadsheet would run as a formula gets a leading
    apostrophe (OWASP's advice), and control characters are escaped."""
    if not isinstance(value, str):
        return value
    return "'" + one_line(value) if value.startswith(_FORMULA_STARTS) else one_line(value)
