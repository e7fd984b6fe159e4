"""Report periods: `last-7d`, `last-30d`, `last-month`, `2026-Q4`, `2026-11`, or --since/--until;
and, for the scheduler, the period that ends at a cron fire time."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from pml_policy.base.dates import parse_when
from pml_policy.base.errors import UsageError

UTC = dt.UTC


@dataclass(frozen=True)
class Period:
    since: dt.datetime  # inclusive
    until: dt.datetime  # exclusive
    label: str

    @property
    def slug(self) -> str:
        """A file-name part that names the period (the scheduler's files are named by it)."""
        if re.fullmatch(r"\d{4}-(Q[1-4]|\d{2})", self.label):  # a calendar month or quarter
            return self.label
        whole_days = (self.until - self.since) % dt.timedelta(days=1) == dt.timedelta(0)
        form = "%Y-%m-%d" if whole_days else "%Y-%m-%dT%H%M%S"  # periods shorter than a day get distinct names
        return f"{self.since.strftime(form)}_{self.until.strftime(form)}"


def parse(period: str | None, since: str | None, until: str | None, now: dt.datetime) -> Period:
    if period and (since or until):
        raise UsageError("give --period, or --since/--until, not both")
    if period:
        return named(period, now)
    start = parse_when(since, "--since") if since else dt.datetime(1970, 1, 1, tzinfo=UTC)
    end = parse_when(until, "--until") if until else now
    if end <= start:
        raise UsageError(f"--until ({end:%Y-%m-%d}) must come after --since ({start:%Y-%m-%d})")
    label = f"{start:%Y-%m-%d} to {end:%Y-%m-%d}" if since else f"until {end:%Y-%m-%d}"
    return Period(start, end, label)


def named(name: str, now: dt.datetime) -> Period:
    try:
        return _named(name, now)
    except (ValueError, OverflowError):  # year 0, 99999999 days: outside the calendar Python keeps
        raise UsageError(
            f"--period {name!r}: outside the calendar (years 1 to 9999)", "e.g. last-90d, 2026-Q4 or 2026-11"
        ) from None


def _named(name: str, now: dt.datetime) -> Period:
    today = dt.datetime(now.year, now.month, now.day, tzinfo=UTC)
    if m := re.fullmatch(r"last-(\d+)d", name):
        days = int(m.group(1))
        return Period(now - dt.timedelta(days=days), now, name)
    if name == "last-month":
        first = today.replace(day=1)
        previous = (first - dt.timedelta(days=1)).replace(day=1)
        return Period(previous, first, f"{previous:%Y-%m}")
    if m := re.fullmatch(r"(\d{4})-Q([1-4])", name):
        year, quarter = int(m.group(1)), int(m.group(2))
        start = dt.datetime(year, 3 * quarter - 2, 1, tzinfo=UTC)
        end = dt.datetime(year + (quarter == 4), 1 if quarter == 4 else 3 * quarter + 1, 1, tzinfo=UTC)
        return Period(start, end, name)
    if m := re.fullmatch(r"(\d{4})-(\d{2})", name):
        year, month = int(m.group(1)), int(m.group(2))
        if 1 <= month <= 12:
            start = dt.datetime(year, month, 1, tzinfo=UTC)
            return Period(
                start, dt.datetime(year + (month == 12), 1 if month == 12 else month + 1, 1, tzinfo=UTC), name
            )
    raise UsageError(
        f"--period {name!r}: not a period I know", "use last-7d (any number of days), last-month, 2026-Q4 or 2026-11"
    )


def ending_at(fire: dt.datetime, previous_fire: dt.datetime) -> Period:
    """The period a scheduled report covers: from the previous fire time to this one."""
    return Period(previous_fire, fire, f"from {previous_fire:%Y-%m-%d}")
