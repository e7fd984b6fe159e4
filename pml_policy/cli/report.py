"""`pml-policy report`: compliance reports from the audit log, once or on a schedule."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from pml_policy.base.errors import EXIT_POLICY_FAILED, UsageError
from pml_policy.base.escaping import one_line
from pml_policy.base.files import write_atomic
from pml_policy.reports.period import Period, parse
from pml_policy.reports.render import Cover
from pml_policy.usecases.reporting import ChainCheck, format_of, make_report, read_cover, run_schedule

from .options import FormatChoice, audit_option, open_workspace, policies_option

REPORT_EXIT_CODES = """\b
Exit codes:
  0  the report was written
  1  the audit chain is broken (the report opens with it; with --strict no report)
  2  bad usage (period, dates, template folder, cron expression)
  3  the audit log could not be read"""


@click.command(epilog=REPORT_EXIT_CODES)
@click.option("--period", metavar="P", help="last-7d (any number of days), last-month, 2026-Q4 or 2026-11.")
@click.option("--since", metavar="DATE", help="Start of the period (inclusive), e.g. 2026-11-01.")
@click.option("--until", metavar="DATE", help="End of the period (exclusive); default: now.")
@click.option("--model", metavar="NAME", help="Only this model's decisions.")
@click.option(
    "--format",
    "fmt",
    type=FormatChoice(["html", "md", "json", "pdf"]),
    help="Default: from the -o file's extension (.html, .md, .json, .pdf), else md on stdout.",
)
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write to FILE (atomically) instead of stdout.")
@click.option(
    "--organisation",
    envvar="PML_ORGANISATION",
    metavar="NAME",
    help="The organisation the report is for, on its cover and header. Env: PML_ORGANISATION.",
)
@click.option("--title", metavar="TEXT", help='The report\'s title [default: "Model governance report"].')
@click.option(
    "--sign-off",
    "sign_off",
    multiple=True,
    metavar="ROLE",
    help="A role that signs the PDF report (a line in its sign-off block); repeatable.",
)
@click.option(
    "--report-config",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="YAML with organisation, title and sign_off (a list of roles) [default: ./pml-report.yaml when present].",
)
@click.option(
    "--template-dir",
    type=click.Path(exists=True, file_okay=False),
    help="Your own report.html.j2 / report.md.j2 (ours fill in what is missing).",
)
@click.option("--no-verify", is_flag=True, help="Leave out the audit chain's verification (it reads every record).")
@click.option(
    "--strict",
    is_flag=True,
    help="Write no report at all when the audit chain fails verification (default: the report opens with the "
    "failure and says its figures cannot be trusted). Exit 1 either way.",
)
@click.option(
    "--from",
    "trusted",
    metavar="CHECKPOINT",
    type=click.Path(dir_okay=False),
    help="Verify the log from a trusted checkpoint (`audit checkpoint`, signed by --public-key): only what came "
    "after it in full. The report says what was verified how.",
)
@click.option(
    "--public-key",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="The log's public key: with --from, the checkpoint's signature and every later record's.",
)
@click.option(
    "--schedule",
    metavar="CRON",
    help="Run as a scheduler: at each cron time, write the report of the period since the previous one to --out-dir "
    '(e.g. "0 6 * * MON").',
)
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False),
    help="With --schedule: where the reports go, one file per period, named by it.",
)
@click.option(
    "--once",
    is_flag=True,
    help="With --schedule: write the last completed period's report if missing, then exit (for cron or a CI schedule).",
)
@policies_option
@audit_option
def report(
    period: str | None,
    since: str | None,
    until: str | None,
    model: str | None,
    fmt: str | None,
    output: str | None,
    organisation: str | None,
    title: str | None,
    sign_off: tuple[str, ...],
    report_config: str | None,
    template_dir: str | None,
    no_verify: bool,
    strict: bool,
    trusted: str | None,
    public_key: str | None,
    schedule: str | None,
    out_dir: str | None,
    once: bool,
    policy_paths: tuple[str, ...],
    audit_url: str,
) -> None:
    """Render a compliance report from the audit log: a summary, outcomes over time, failures by
    rule, each model's history, waivers used, expiring and expired, the policy versions in
    effect, and the audit chain's verification with its head hash.

    HTML is one self-contained file (inline SVG charts, no JavaScript) that prints well; PDF is
    the same report in pages, with a cover (organisation, period) and a sign-off block, for a risk
    officer to sign (the extra pml-policy[pdf]); Markdown fits a pull-request comment or a CI job
    summary; JSON has the same numbers. The waivers' expiry dates come from the policies (-p,
    default ./policies).

    \b
    Examples:
      pml-policy report --period last-7d -o report.html
      pml-policy report --period last-month -o report.pdf --organisation "Example Bank"
      pml-policy report --period 2026-Q4 --model credit-scorer --format md >> $GITHUB_STEP_SUMMARY
      pml-policy report --schedule "0 6 * * MON" --out-dir compliance/      # long-lived; safe to restart
      pml-policy report --period last-90d --from published.checkpoint --public-key audit.pub -o q.html
    """
    if strict and no_verify:
        raise UsageError("--strict refuses a report on a log that fails verification: it cannot go with --no-verify")
    cover = read_cover(report_config, organisation, title, sign_off)
    chain_check = ChainCheck.of(no_verify, trusted, public_key)
    if schedule:
        if not out_dir:
            raise UsageError("--schedule needs --out-dir, where the reports go")
        if period or since or until or output:
            raise UsageError("--schedule decides the periods itself: leave out --period, --since, --until and -o")
        chosen_fmt = fmt or "html"
        run_schedule(
            schedule,
            Path(out_dir),
            chosen_fmt,
            lambda p, path: _write_report(
                p, model, chosen_fmt, str(path), template_dir, chain_check, policy_paths, audit_url, cover, strict
            ),
            once=once,
            skipped=lambda path: click.echo(f"{path} exists: skipped", err=True),
        )
        return
    if once or out_dir:
        raise UsageError("--out-dir and --once go with --schedule")
    chosen_fmt = format_of(output, fmt)
    if chosen_fmt == "pdf" and not output and sys.stdout.isatty():
        raise UsageError("a PDF is not for a terminal", "write it to a file: -o report.pdf")
    chosen = parse(period, since, until, dt.datetime.now(dt.UTC))
    if not _write_report(
        chosen, model, chosen_fmt, output, template_dir, chain_check, policy_paths, audit_url, cover, strict
    ):
        sys.exit(EXIT_POLICY_FAILED)


def _write_report(
    period: Period,
    model: str | None,
    fmt: str,
    output: str | None,
    template_dir: str | None,
    chain_check: ChainCheck,
    policy_paths: tuple[str, ...],
    audit_url: str,
    cover: Cover,
    strict: bool = False,
) -> bool:
    """Render and write one report; returns whether the chain is intact (or unverified). A broken
    chain is said first, on the terminal, before anything else is written; with strict, only that."""
    with open_workspace(policy_paths, audit_url, required=False) as ws:
        rendered = make_report(ws, period, model, fmt, template_dir, verify=chain_check, cover=cover)
    if not rendered.chain_ok:
        chain = rendered.report.chain
        click.echo(
            f"TAMPERED: the audit log failed verification: {one_line(chain.problem or 'unknown problem')}; "
            + (
                "--strict: no report written"
                if strict
                else "the report opens with it: none of its figures can be trusted"
            ),
            err=True,
        )
        if strict:
            return False
    if output:
        write_atomic(Path(output), rendered.text)
        click.echo(
            f"{fmt} report for {period.label} written to {output}: {rendered.report.totals.decisions} decisions",
            err=True,
        )
    elif isinstance(rendered.text, bytes):
        sys.stdout.buffer.write(rendered.text)
        sys.stdout.flush()
    else:
        click.echo(rendered.text, nl=False)
    return rendered.chain_ok
