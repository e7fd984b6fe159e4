"""`pml-policy inbox list|retry|discard`: the service's inbox of registry events."""

from __future__ import annotations

import click

from pml_policy.base.errors import UsageError
from pml_policy.base.escaping import lines_of, one_line

from .options import audit_option, open_workspace

JOB_ID = click.IntRange(1, 2**62)  # an id the database can hold: a larger one is click's one line, exit 2


@click.group()
def inbox() -> None:
    """The service's inbox of registry events: what is waiting, what failed."""


@inbox.command(name="list")
@audit_option
@click.option(
    "--state", type=click.Choice(["pending", "running", "done", "dead", "discarded"]), help="Only jobs in this state."
)
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
def inbox_list(audit_url: str, state: str | None, limit: int) -> None:
    """List inbox jobs, newest first."""
    from pml_policy.audit.inbox import jobs

    with open_workspace(None, audit_url) as ws:
        for j in jobs(ws.log.store(create=False).db, state, limit):
            error = f"  {lines_of(j.last_error)}" if j.last_error else ""
            model = one_line(j.model or "-")
            click.echo(f"{j.id:>6}  {j.state:<8} {j.received}  {j.event:<28} {model}  tries {j.attempts}{error}")


@inbox.command(name="retry")
@click.argument("job_id", required=False, type=JOB_ID)
@audit_option
def inbox_retry(job_id: int | None, audit_url: str) -> None:
    """Send dead jobs (JOB_ID, or all) back to the workers."""
    from pml_policy.audit.inbox import retry

    with open_workspace(None, audit_url) as ws:
        count = retry(ws.log.store(create=False).db, job_id)
    click.echo(f"{count} dead job{'s' if count != 1 else ''} sent back to the workers")


@inbox.command(name="discard")
@click.argument("job_id", type=JOB_ID)
@audit_option
def inbox_discard(job_id: int, audit_url: str) -> None:
    """Set a pending or dead job aside for good: it never runs again (the row stays, marked
    discarded). For an event that cannot succeed, such as MLflow's test webhook."""
    from pml_policy.audit.inbox import discard

    with open_workspace(None, audit_url) as ws:
        try:
            job = discard(ws.log.store(create=False).db, job_id)
        except ValueError as exc:
            raise UsageError(str(exc), "wait for its worker to finish it") from None
    if job is None:
        raise UsageError(f"no inbox job {job_id}", "`pml-policy inbox list` shows the jobs")
    click.echo(f"job {job_id} ({job.event} {one_line(job.model or '-')}) discarded")
