"""Dates and times given as options: a date (from its start) or an ISO 8601 time; naive is UTC."""

from __future__ import annotations

import datetime as dt

from .errors import UsageError


def parse_when(text: str, option: str) -> dt.datetime:
    """`--since 2026-11-01` or `--until 2026-11-01T08:00:00Z` as an aware UTC time."""
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"{option} {text!r} is not a date or time", "write 2026-11-01 or 2026-11-01T08:00:00Z"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)
