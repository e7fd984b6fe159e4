"""Dates and times given as options: a date (from its start), an ISO 8601 time (naive is UTC), or a
span back from now (`90d`, `12h`, `2w`)."""

from __future__ import annotations

import datetime as dt
import re

from .errors import EvidenceError, UsageError

_AGO = re.compile(r"(\d{1,6})([mhdw])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_when(text: str, option: str, now: dt.datetime | None = None) -> dt.datetime:
    """`--since 2026-11-01`, `--until 2026-11-01T08:00:00Z` or `--since 90d` (90 days before now)
    as an aware UTC time."""
    ago = _AGO.fullmatch(text.strip())
    if ago:
        span = dt.timedelta(**{_UNITS[ago[2]]: int(ago[1])})
        try:
            return (now or dt.datetime.now(dt.UTC)) - span
        except OverflowError:
            raise UsageError(f"{option} {text}: that is before the year 1", "give a shorter span, or a date") from None
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"{option} {text!r} is not a date, a time or a span back from now",
            "write 2026-11-01, 2026-11-01T08:00:00Z or 90d (m, h, d, w)",
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def from_epoch_ms(milliseconds: float, what: str) -> dt.datetime:
    """A registry's time in milliseconds since the epoch, as an aware UTC time; EvidenceError (exit 3)
    for one no calendar holds (past year 9999, before year 1)."""
    try:
        return dt.datetime.fromtimestamp(milliseconds / 1000, dt.UTC)
    except (OverflowError, ValueError, OSError):
        raise EvidenceError(f"{what}: the time {milliseconds!r} ms since 1970 is out of range") from None


def in_utc(moment: dt.datetime, what: str) -> dt.datetime:
    """An evidence time in UTC (naive: UTC already); EvidenceError for one that leaves the calendar
    on the way (year 1 at +14:00, year 9999 at -12:00)."""
    try:
        return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
    except (OverflowError, ValueError):
        raise EvidenceError(f"{what}: the time {moment.isoformat()} is out of range in UTC") from None
