"""Regular expressions for `matches`, run in linear time by RE2 (google-re2): a pattern such as
`^(a+)+$` that takes Python's `re` minutes on a hostile string takes RE2 a millisecond. RE2 has no
backreferences or lookaround; a pattern that uses them is a located policy error, found by the
checker before anything is evaluated.

>>> compile_pattern("^[0-9a-f]{7,40}$").search("3e1d0c9") is not None
True
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import re2

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # RE2 would print its own copy of every error on stderr


class PatternError(ValueError):
    """A pattern RE2 cannot run; the message says why."""


@lru_cache(maxsize=512)
def compile_pattern(pattern: str) -> Any:
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        text = reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)
        raise PatternError(f"{text} (patterns run on RE2, in linear time: no backreferences or lookaround)") from None
