"""`pml-policy check`: the CI gate."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Literal

import click

from pml_policy.adapters.base import AdapterConfig
from pml_policy.base.errors import UsageError
from pml_policy.base.files import write_atomic
from pml_policy.outputs import FORMATS, Options, get
from pml_policy.usecases.checking import Checked, check
from pml_policy.usecases.recording import Recorded

from .attest import attest_decisions, attest_dir_option
from .changes import render_changes
from .options import (
    FormatChoice,
    audit_option,
    data_option,
    engine_option,
    open_workspace,
    origin_option,
    policies_option,
    registry_options,
    signing_option,
)

EXIT_CODES = """\b
Exit codes:
  0  pass (a warning too, unless --fail-on warn)
  1  a policy failed, or awaits an approval (pending)
  2  bad usage, an invalid policy or waiver file, no policy applies, or a
     policy version already recorded with other text
  3  evidence could not be read, the audit log could not be written, or a
     registry change (--apply) failed"""


@click.command(name="check", epilog=EXIT_CODES)
@click.argument("refs", nargs=-1, required=True, metavar="REF...")
@policies_option
@click.option(
    "--champion",
    metavar="REF",
    help="The current champion's evidence, for rules that compare against it (`champion.…`).",
)
@data_option
@click.option(
    "--format",
    "-f",
    "fmt",
    type=FormatChoice(list(FORMATS)),
    default="text",
    show_default=True,
    envvar="PML_FORMAT",
    help="Output format (text for people; json, junit, sarif, github, markdown for CI). Env: PML_FORMAT.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the output to FILE (atomically); a text summary still goes to stdout.",
)
@click.option(
    "--fail-on",
    type=click.Choice(["fail", "warn"]),
    default="fail",
    show_default=True,
    help="Lowest outcome that exits 1.",
)
@engine_option
@click.option(
    "--monitoring",
    "monitoring_file",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="A monitoring report on the model in production, read as `monitoring.…`: Evidently's (snapshot.dumps() "
    "or .json()) or a JSON mapping. Default: the newest one the registry has (MLflow: a run tagged pml.monitors).",
)
@click.option("--color/--no-color", default=None, help="Colour the text output (default: when stdout is a terminal).")
@audit_option
@signing_option
@click.option("--no-audit", is_flag=True, help="Do not record the decisions (the output then says so).")
@click.option(
    "--apply",
    "do_apply",
    is_flag=True,
    help="Make each subject's planned registry changes (models:/… and sagemaker:… references); recorded in the "
    "audit log.",
)
@attest_dir_option
@origin_option
@registry_options
def check_command(
    refs: tuple[str, ...],
    policy_paths: tuple[str, ...],
    champion: str | None,
    data_file: str | None,
    fmt: str,
    output: str | None,
    fail_on: Literal["fail", "warn"],
    engine: str,
    monitoring_file: str | None,
    color: bool | None,
    audit_url: str,
    signing_key: str | None,
    no_audit: bool,
    do_apply: bool,
    attest_dir: str | None,
    origin: str | None,
    adapters: AdapterConfig,
) -> None:
    """Evaluate the policies against each REF and explain the decision rule by rule.

    REF is the evidence of one training run: a folder with metrics.json (or DVC's
    dvclive/metrics.json), params.json or params.yaml, tags.json, any artifacts, and an
    optional pml.yaml naming the model, version, aliases and run. With pml-policy[mlflow]:
    models:/NAME/N, models:/NAME@ALIAS, models:/m-ID or runs:/RUN_ID on an MLflow server,
    whose champion is the version holding the production alias. With pml-policy[wandb]: a W&B
    run folder (wandb/latest-run) or wandb:ENTITY/PROJECT/RUN_ID. With pml-policy[sagemaker]:
    sagemaker:GROUP/VERSION, sagemaker:GROUP@champion (the newest Approved version) or a model
    package ARN, read through boto3 (--endpoint-url for an emulator). Adapters installed as
    plugins (entry-point group pml_policy.adapters) add other kinds of reference.

    \b
    Examples:
      pml-policy check examples/credit-pass --champion examples/credit-champion
      pml-policy check runs/* -p policies/ --format sarif -o pml.sarif
      pml-policy check run/ --fail-on warn        # warnings block the gate too
      pml-policy check models:/credit-scorer@challenger --tracking-uri http://mlflow:5000
    """
    if attest_dir and not signing_key:
        raise UsageError("--attest-dir signs attestations: give --signing-key FILE or set PML_AUDIT_SIGNING_KEY")
    with open_workspace(
        policy_paths, audit_url, signing_key=signing_key, adapters=adapters, data_file=data_file, engine=engine
    ) as ws:
        checked = check(
            ws,
            list(refs),
            champion=champion,
            monitoring=monitoring_file,
            record=not no_audit,
            apply=do_apply,
            fail_on=fail_on,
        )
        if attest_dir and checked.recorded is not None:
            attested = attest_decisions(ws, checked.recorded.seqs, attest_dir, origin)
        titles = ws.policies.titles
    _render(checked, fmt, output, color, titles)
    if attest_dir:
        click.echo(attested if checked.recorded else "no attestation: --no-audit records nothing to attest", err=True)
    sys.exit(checked.exit_code)


def _render(checked: Checked, fmt: str, output: str | None, color: bool | None, titles: dict[str, str]) -> None:
    """The decisions in the format asked for (to -o FILE, with a text summary on stdout); then,
    with --apply, what was made in each registry."""
    decisions, recorded = checked.decisions, checked.recorded
    note, audit = Recorded.report(recorded)
    is_tty = sys.stdout.isatty() if color is None else color
    if output:
        try:
            write_atomic(
                Path(output), get(fmt)(decisions, Options(audit=audit, titles=titles, seconds=checked.seconds))
            )
        except UsageError as exc:  # the decisions are in the log already: say so
            where = recorded.note() if recorded else "not recorded (--no-audit)"
            raise UsageError(f"{exc.message}; the decisions were {where}", exc.hint) from None
        click.echo(get("text")(decisions, Options(color=is_tty, audit_note=note)), nl=False, color=is_tty)
        click.echo(f"{fmt} written to {output}")
    else:
        coloured = is_tty and fmt == "text"
        click.echo(
            get(fmt)(
                decisions, Options(color=coloured, audit_note=note, audit=audit, titles=titles, seconds=checked.seconds)
            ),
            nl=False,
            color=coloured,
        )
    if checked.applied is not None:
        report = "".join(
            f"{subject.reference}: " + render_changes(changes, applying=True) for subject, changes in checked.applied
        )
        click.echo(report, nl=False, err=fmt != "text" and not output)  # machine formats keep stdout to themselves
        if not checked.applied_ok:
            click.echo(
                "error: a registry change failed; the audit log records what was made. Run again to finish.", err=True
            )
