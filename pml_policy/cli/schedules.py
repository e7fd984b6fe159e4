"""`serve`'s schedules as options give them: a duration (`--reconcile-every 10m`) and a cron
schedule (`--recheck '0 6 * * *'`), checked before the service starts."""

from __future__ import annotations

import datetime as dt
import re

from pml_policy.base.errors import UsageError


def seconds_of(text: str, option: str) -> float:
    """`10m`, `90s`, `1h` or `0` (never) as seconds."""
    found = re.fullmatch(r"(\d{1,6})([smh]?)", text.strip())
    if not found:
        raise UsageError(f"{option} {text!r}: give a duration such as 90s, 10m or 1h (0: never)")
    return int(found.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[found.group(2)]


def cron_of(text: str | None) -> str | None:
    """A cron schedule croniter reads (five fields, or six with the seconds last) that fires, or
    UsageError."""
    if not text:
        return None
    if next_fire(text) is None:
        raise UsageError(f"--recheck {text!r} never fires (no such date)", "e.g. '0 6 * * *' (every day at 06:00 UTC)")
    return text


def next_fire(cron: str) -> dt.datetime | None:
    """When `cron` fires next (UTC); None for a schedule that never does (Feb 30); UsageError for
    one that is not a schedule."""
    from croniter import CroniterBadDateError, croniter

    if not croniter.is_valid(cron):
        raise UsageError(
            f"--recheck {cron!r}: not a cron schedule",
            "five fields (minute hour day month weekday), or six with the seconds last: '0 6 * * *', '0 6 * * * 30'",
        )
    try:
        fire: dt.datetime = croniter(cron, dt.datetime.now(dt.UTC)).get_next(dt.datetime)
    except CroniterBadDateError:
        return None
    return fire
