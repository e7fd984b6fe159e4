"""Compliance reports as library calls: one report of a period, and the scheduler that writes one
per cron period, restart-safe."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from croniter import croniter

from . import config
from .audit import AuditStore
from .engine import PolicySet, load
from .engine.signoffs import REGISTRY_TAGS
from .errors import UsageError
from .reports.data import Report, gather
from .reports.period import Period, ending_at
from .reports.render import render

REPORT_SUFFIXES = {".html": "html", ".htm": "html", ".json": "json"}


@dataclass
class Rendered:
    text: str
    report: Report

    @property
    def chain_ok(self) -> bool:
        """Whether the audit chain is intact (or was not verified)."""
        return self.report.chain.ok is not False


def format_of(output: str | None) -> str:
    """The format an output file's extension names; md otherwise."""
    return REPORT_SUFFIXES.get(Path(output).suffix.lower() if output else "", "md")


def make_report(
    period: Period,
    model: str | None,
    fmt: str,
    audit_url: str,
    policy_paths: list[str],
    template_dir: str | None = None,
    verify: bool = True,
) -> Rendered:
    """Gather the period's numbers from the audit log and render them."""
    store = AuditStore(audit_url, create=False)
    try:
        policies = policy_set(policy_paths)
        waivers = list(policies.waivers.all) if policies else []
        managed = policies.managed_tags if policies else REGISTRY_TAGS
        data = gather(store, period, model, waivers, dt.datetime.now(dt.UTC), verify=verify, managed=managed)
    finally:
        store.close()
    return Rendered(render(data, fmt, template_dir), data)


def policy_set(policy_paths: list[str]) -> PolicySet | None:
    """The policies, for their waivers' expiry dates and the tags they set; None when there are
    no policies here."""
    paths = config.policy_paths(policy_paths, required=False)
    return load(paths) if paths else None


def run_schedule(
    cron: str,
    out_dir: Path,
    fmt: str,
    write: Callable[[Period, Path], object],
    once: bool = False,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    sleep: Callable[[float], None] = time.sleep,
    skipped: Callable[[Path], None] = lambda _path: None,
) -> None:
    """At each fire time, the report of the period since the previous fire time, unless its file
    exists (a restart writes no duplicate). Starts by catching up the last completed period."""
    if not croniter.is_valid(cron):
        raise UsageError(f"--schedule {cron!r} is not a cron expression", 'e.g. "0 6 * * MON" (Mondays at 06:00 UTC)')
    out_dir.mkdir(parents=True, exist_ok=True)
    handled: dt.datetime | None = None
    while True:
        latest = croniter(cron, now()).get_prev(dt.datetime)
        # Every period that ended since the last one handled (a slow report must not skip one);
        # on start, the last completed period only.
        fires = _fires_between(cron, handled, latest) if handled else [latest]
        for fire in fires:
            period = ending_at(fire, croniter(cron, fire).get_prev(dt.datetime))
            path = out_dir / f"report-{period.slug}.{fmt}"
            if path.exists():
                skipped(path)
            else:
                write(period, path)
        handled = latest
        if once:
            return
        wake = croniter(cron, now()).get_next(dt.datetime)
        sleep(max((wake - now()).total_seconds(), 0) + 0.05)


def _fires_between(cron: str, after: dt.datetime, until: dt.datetime) -> list[dt.datetime]:
    """The cron's fire times in (after, until]."""
    step, fires = croniter(cron, after), []
    while (fire := step.get_next(dt.datetime)) <= until:
        fires.append(fire)
    return fires
