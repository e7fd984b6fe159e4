"""Dates and times given as options: a date (from its start), an ISO 8601 time (naive is UTC), or a
span back from now (`90d`, `12h`, `2w`; `--since`) or ahead of it (`10s` too; `--expires`)."""

from __future__ import annotations

import datetime as dt
import re

from .errors import EvidenceError, UsageError

_SPAN = re.compile(r"(\d{1,6})([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_when(text: str, option: str, now: dt.datetime | None = None) -> dt.datetime:
    """`--since 2026-11-01`, `--until 2026-11-01T08:00:00Z` or `--since 90d` (90 days before now)
    as an aware UTC time."""
    span = _span(text, units="mhdw")
    if span is not None:
        try:
            return (now or dt.datetime.now(dt.UTC)) - span
        except OverflowError:
            raise UsageError(f"{option} {text}: that is before the year 1", "give a shorter span, or a date") from None
    try:
        return aware(dt.datetime.fromisoformat(text))
    except ValueError:
        raise UsageError(
            f"{option} {text!r} is not a date, a time or a span back from now",
            "write 2026-11-01, 2026-11-01T08:00:00Z or 90d (m, h, d, w)",
        ) from None


def parse_ahead(text: str, option: str, now: dt.datetime | None = None) -> dt.datetime:
    """`--expires 90d` (a span ahead of now, to the second: `10s`, `12h`, `2w`) or an ISO 8601 time,
    as an aware UTC time."""
    span = _span(text, units="smhdw")
    if span is not None:
        try:
            return (now or dt.datetime.now(dt.UTC)).replace(microsecond=0) + span
        except OverflowError:
            raise UsageError(f"{option} {text}: that is past the year 9999", "give a shorter span") from None
    try:
        return aware(dt.datetime.fromisoformat(text.strip()))
    except ValueError:
        raise UsageError(
            f"{option} {text!r} is neither a span ahead nor a time",
            "write 90d (s, m, h, d, w) or 2027-03-01T00:00:00Z",
        ) from None


def aware(moment: dt.datetime) -> dt.datetime:
    """A time with its zone; a naive one is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _span(text: str, units: str) -> dt.timedelta | None:
    """`90d` as a duration when its unit is one of `units`; None for anything else."""
    found = _SPAN.fullmatch(text.strip())
    if found is None or found[2] not in units:
        return None
    return dt.timedelta(**{_UNITS[found[2]]: int(found[1])})


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
        return aware(moment).astimezone(dt.UTC)
    except (OverflowError, ValueError):
        raise EvidenceError(f"{what}: the time {moment.isoformat()} is out of range in UTC") from None
