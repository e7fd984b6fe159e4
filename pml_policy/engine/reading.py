"""A policy file's text, read within limits: without the parser, so that a policy set found in the
parse cache (parse_cache.py) is loaded without importing lark."""

from __future__ import annotations

from pathlib import Path

from pml_policy.base.errors import PolicyError, Unreadable
from pml_policy.base.files import read_limited

from .diagnostics import Diagnostic

MAX_POLICY_BYTES = 128 << 10  # one policy file (the starter ones are 1-3 KB): at ~40 us a token, parsed in seconds


def read_policy(path: Path) -> str:
    """A policy file's text; PolicyError, located at the file, when it cannot be read, is too
    large, or is not UTF-8."""
    try:
        return read_limited(path, MAX_POLICY_BYTES, "policy file")
    except Unreadable as exc:
        raise PolicyError([Diagnostic(str(path), exc.line or 1, 1, exc.reason, "", exc.hint)]) from None
