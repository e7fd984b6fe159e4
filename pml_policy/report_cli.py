"""`pml-policy report`: compliance reports from the audit log, once or on a schedule."""
from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from .errors import EXIT_POLICY_FAILED, UsageError
from .options import audit_option, policies_option

REPORT_EXIT_CODES = """\b
Exit codes:
  0  the report was written
  1  the audit chain is broken (the report says where)
  2  bad usage (period, dates, template folder, cron expression)
  3  the audit log could not be read"""


@click.command(epilog=REPORT_EXIT_CODES)
@click.option("--period", metavar="P", help="last-7d (any number of days), last-month, 2026-Q4 or 2026-11.")
@click.option("--since", metavar="DATE", help="Start of the period (inclusive), e.g. 2026-11-01.")
@click.option("--until", metavar="DATE", help="End of the period (exclusive); default: now.")
@click.option("--model", metavar="NAME", help="Only this model's decisions.")
@click.option("--format", "fmt", type=click.Choice(["html", "md", "json"]), help="Default: from the -o file's extension, else md.")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write to FILE (atomically) instead of stdout.")
@click.option("--template-dir", type=click.Path(exists=True, file_okay=False), help="Your own report.html.j2 / report.md.j2 (ours fill in what is missing).")
@click.option("--no-verify", is_flag=True, help="Leave out the audit chain's verification (it reads every record).")
@click.option("--schedule", metavar="CRON", help='Run as a scheduler: at each cron time, write the report of the period since the previous one to --out-dir (e.g. "0 6 * * MON").')
@click.option("--out-dir", type=click.Path(file_okay=False), help="With --schedule: where the reports go, one file per period, named by it.")
@click.option("--once", is_flag=True, help="With --schedule: write the last completed period's report if missing, then exit (for cron or a CI schedule).")
@policies_option
@audit_option
def report(period: str | None, since: str | None, until: str | None, model: str | None, fmt: str | None, output: str | None,
           template_dir: str | None, no_verify: bool, schedule: str | None, out_dir: str | None, once: bool,
           policy_paths: tuple[str, ...], audit_url: str) -> None:
    """Render a compliance report from the audit log: a summary, outcomes over time, failures by
    rule, each model's history, waivers used, expiring and expired, the policy versions in
    effect, and the audit chain's verification with its head hash.

    HTML is one self-contained file (inline SVG charts, no JavaScript) that prints well; Markdown
    fits a pull-request comment or a CI job summary; JSON has the same numbers. The waivers'
    expiry dates come from the policies (-p, default ./policies).

    \b
    Examples:
      pml-policy report --period last-7d -o report.html
      pml-policy report --period 2026-Q4 --model credit-scorer --format md >> $GITHUB_STEP_SUMMARY
      pml-policy report --schedule "0 6 * * MON" --out-dir compliance/      # long-lived; safe to restart
    """
    if schedule:
        if not out_dir:
            raise UsageError("--schedule needs --out-dir, where the reports go")
        if period or since or until or output:
            raise UsageError("--schedule decides the periods itself: leave out --period, --since, --until and -o")
        fmt = fmt or "html"
        run_schedule(schedule, Path(out_dir), fmt, lambda p, path: _write_report(p, model, fmt, str(path), template_dir, no_verify, policy_paths, audit_url), once=once)
        return
    if once or out_dir:
        raise UsageError("--out-dir and --once go with --schedule")
    from .reports.period import parse

    chosen = parse(period, since, until, dt.datetime.now(dt.timezone.utc))
    if not _write_report(chosen, model, fmt or _format_of(output), output, template_dir, no_verify, policy_paths, audit_url):
        sys.exit(EXIT_POLICY_FAILED)


def _format_of(output: str | None) -> str:
    suffix = Path(output).suffix.lower() if output else ""
    return {".html": "html", ".htm": "html", ".json": "json"}.get(suffix, "md")


def _write_report(period: Any, model: str | None, fmt: str, output: str | None, template_dir: str | None, no_verify: bool,
                  policy_paths: tuple[str, ...], audit_url: str) -> bool:
    """Gather, render and write one report; returns whether the chain is intact (or unverified)."""
    from .audit import AuditStore
    from .files import write_atomic
    from .reports.data import gather
    from .reports.render import render

    store = AuditStore(audit_url)
    try:
        data = gather(store, period, model, _waivers(policy_paths), dt.datetime.now(dt.timezone.utc), verify=not no_verify)
    finally:
        store.close()
    text = render(data, fmt, template_dir)
    if output:
        write_atomic(Path(output), text)
        click.echo(f"{fmt} report for {period.label} written to {output}: {data.totals.decisions} decisions", err=True)
    else:
        click.echo(text, nl=False)
    return data.chain.ok is not False


def _waivers(policy_paths: tuple[str, ...]) -> list[Any]:
    """The waivers in the policies, for their expiry dates; none when there are no policies here."""
    paths = list(policy_paths) or (["policies"] if Path("policies").is_dir() else [])
    if not paths:
        return []
    from .engine import load

    return list(load(paths).waivers.all)


def run_schedule(cron: str, out_dir: Path, fmt: str, write: Callable[[Any, Path], bool], once: bool = False,
                 now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc), sleep: Callable[[float], None] = time.sleep) -> None:
    """At each fire time, the report of the period since the previous fire time, unless its file
    exists (a restart writes no duplicate). Starts by catching up the last completed period."""
    from croniter import croniter

    from .reports.period import ending_at

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
                click.echo(f"{path} exists: skipped", err=True)
            else:
                write(period, path)
        handled = latest
        if once:
            return
        wake = croniter(cron, now()).get_next(dt.datetime)
        sleep(max((wake - now()).total_seconds(), 0) + 0.05)


def _fires_between(cron: str, after: dt.datetime, until: dt.datetime) -> list[dt.datetime]:
    """The cron's fire times in (after, until]."""
    from croniter import croniter

    step, fires = croniter(cron, after), []
    while (fire := step.get_next(dt.datetime)) <= until:
        fires.append(fire)
    return fires
