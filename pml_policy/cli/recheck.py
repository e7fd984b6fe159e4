"""`pml-policy recheck [MODEL...]`: re-evaluate the models in production on their monitoring evidence,
and with --apply revert a champion that no longer holds."""

from __future__ import annotations

import sys

import click

from pml_policy.adapters.base import AdapterConfig
from pml_policy.base.errors import EXIT_EVIDENCE
from pml_policy.base.escaping import one_line
from pml_policy.outputs import Options, get
from pml_policy.usecases.rechecking import Rechecked, recheck

from .changes import render_changes
from .options import (
    audit_option,
    data_option,
    engine_option,
    open_workspace,
    policies_option,
    registry_options,
    signing_option,
)

EXIT_CODES = """\b
Exit codes:
  0  every champion still holds (and with --apply, every planned change made)
  1  a champion failed its re-check, or awaits a sign-off
  2  bad usage, an invalid policy, no policy applies to a champion
  3  the registry, a monitoring report or the audit log could not be read or written; a change failed"""


@click.command(epilog=EXIT_CODES)
@click.argument("models", nargs=-1, metavar="[MODEL]...")
@policies_option
@data_option
@engine_option
@click.option(
    "--monitoring",
    "monitoring_file",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Use this monitoring report for every champion instead of the newest one the registry has.",
)
@click.option(
    "--apply",
    "do_apply",
    is_flag=True,
    help="Make the planned changes (`revert alias`, tags); default: plan them, recorded.",
)
@registry_options
@audit_option
@signing_option
def recheck_command(
    models: tuple[str, ...],
    policy_paths: tuple[str, ...],
    data_file: str | None,
    engine: str,
    monitoring_file: str | None,
    do_apply: bool,
    adapters: AdapterConfig,
    audit_url: str,
    signing_key: str | None,
) -> None:
    """Re-check each MODEL's champion (every MLflow model that has one, when none is named) with its
    newest monitoring report, under the policies that apply to it: production policies
    (`applies to alias "champion"`) and the rest. Each re-check is recorded (kind recheck); the
    `on fail` changes are planned, or made with --apply: `revert alias "champion"` moves the
    alias back to the most recent earlier champion whose latest decision passed (withheld, saying
    why, when there is none).

    The newest monitoring report of a model version, on MLflow: the `monitoring.json` artifact of
    the latest run tagged pml.monitors = NAME/VERSION (an Evidently snapshot, or a JSON mapping).

    \b
    Examples:
      pml-policy recheck credit-scorer -p policies --tracking-uri http://mlflow:5000
      pml-policy recheck --apply --data context.yaml            # every champion, reverts made
      pml-policy recheck sagemaker:credit-scorer --monitoring drift.json
    """
    with open_workspace(
        policy_paths, audit_url, signing_key=signing_key, adapters=adapters, data_file=data_file, engine=engine
    ) as ws:
        run = recheck(ws, list(models), apply=do_apply, monitoring=monitoring_file)
    click.echo(_report(run.models, do_apply), nl=False)
    if run.exit_code == EXIT_EVIDENCE:
        click.echo("error: a registry change failed; the audit log records what was made. Run recheck again.", err=True)
    sys.exit(run.exit_code)


def _report(done: list[Rechecked], applied: bool) -> str:
    if not done:
        return "no model has a champion to re-check\n"
    out = []
    for r in done:
        if r.decision is None or r.subject is None or r.recorded is None:
            out.append(one_line(f'model "{r.model}": no champion to re-check') + "\n")
            continue
        monitoring = r.subject.monitoring or {}
        seen = (
            f"monitoring computed {monitoring.get('computed_at', 'at an unknown time')}"
            if monitoring
            else "no monitoring report: awaiting monitoring (promoted within the grace period)"
            if r.decision is not None and r.decision.outcome in ("pass", "warn")
            else "no monitoring report"
        )
        (_, seq, _), *_ = r.recorded.records
        out.append(
            one_line(
                f'model "{r.model}": champion version {r.champion} re-checked: {r.decision.outcome.upper()}, '
                f"record #{seq} ({seen})"
            )
            + "\n"
        )
        out.append(get("text")([r.decision], Options()))
        out.append(render_changes(r.changes, applied))
    return "".join(out)
