"""The `pml-policy` command: options in, library calls out. Errors map to exit codes in main()."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from . import __version__
from .errors import EXIT_EVIDENCE, EXIT_POLICY_FAILED, EXIT_USAGE, PmlError, UsageError
from .options import audit_option, policies_option, policy_paths_or_default, registry_options
from .outputs import FORMATS

EXIT_CODES = """\b
Exit codes:
  0  pass (a warning too, unless --fail-on warn)
  1  a policy failed
  2  bad usage, an invalid policy or waiver file, no policy applies, or a
     policy version already recorded with other text
  3  evidence could not be read, the audit log could not be written, or a
     registry change (--apply) failed"""


def _write(path: str, text: str) -> None:
    from .files import write_atomic

    write_atomic(Path(path), text)


class _Cli(click.Group):
    """The one place where a user error becomes a message on stderr and its documented exit code."""

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except PmlError as exc:
            click.echo(f"error: {exc.render()}", err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", "-V", prog_name="pml-policy")
def cli() -> None:
    """Decide which trained model may go to production, with policies as code.

    Policies are .pml files (the PML language) kept in git. `check` evaluates them against the
    evidence a training run left behind and explains the decision rule by rule.

    \b
    First steps:
      pml-policy validate policies/                 # are the policies well formed?
      pml-policy check examples/credit-pass -p policies/starter
      pml-policy check RUN_FOLDER --champion CHAMPION_FOLDER --format junit -o report.xml
      pml-policy audit list; pml-policy audit verify  # every decision is recorded, hash-chained
      pml-policy test features/ --coverage          # business users' Gherkin scenarios
    """


@cli.command(epilog=EXIT_CODES)
@click.argument("refs", nargs=-1, required=True, metavar="REF...")
@policies_option
@click.option("--champion", metavar="REF", help="The current champion's evidence, for rules that compare against it (`champion.…`).")
@click.option("--data", "data_file", type=click.Path(dir_okay=False), envvar="PML_DATA", help="YAML or JSON context data, read as `data.…` (thresholds per use case, lists). Env: PML_DATA.")
@click.option("--format", "-f", "fmt", type=click.Choice(list(FORMATS)), default="text", show_default=True, envvar="PML_FORMAT", help="Output format (text for people; json, junit, sarif, github, markdown for CI). Env: PML_FORMAT.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), help="Write the output to FILE (atomically); a text summary still goes to stdout.")
@click.option("--fail-on", type=click.Choice(["fail", "warn"]), default="fail", show_default=True, help="Lowest outcome that exits 1.")
@click.option("--engine", type=click.Choice(["python", "durable"]), default="python", show_default=True, envvar="PML_ENGINE", help="Evaluator backend; durable needs pml-policy[durable]. Env: PML_ENGINE.")
@click.option("--color/--no-color", default=None, help="Colour the text output (default: when stdout is a terminal).")
@audit_option
@click.option("--no-audit", is_flag=True, help="Do not record the decisions (the output then says so).")
@click.option("--apply", "do_apply", is_flag=True, help="Make each subject's planned registry changes (models:/… references); recorded in the audit log.")
@registry_options
def check(refs: tuple[str, ...], policy_paths: tuple[str, ...], champion: str | None, data_file: str | None, fmt: str, output: str | None, fail_on: str, engine: str, color: bool | None, audit_url: str, no_audit: bool, do_apply: bool) -> None:
    """Evaluate the policies against each REF and explain the decision rule by rule.

    REF is the evidence of one training run: a folder with metrics.json (or DVC's
    dvclive/metrics.json), params.json or params.yaml, tags.json, any artifacts, and an
    optional pml.yaml naming the model, version, aliases and run. With pml-policy[mlflow]:
    models:/NAME/N, models:/NAME@ALIAS, models:/m-ID or runs:/RUN_ID on an MLflow server,
    whose champion is the version holding the production alias. With pml-policy[wandb]: a W&B
    run folder (wandb/latest-run) or wandb:ENTITY/PROJECT/RUN_ID. Adapters installed as
    plugins (entry-point group pml_policy.adapters) add other kinds of reference.

    \b
    Examples:
      pml-policy check examples/credit-pass --champion examples/credit-champion
      pml-policy check runs/* -p policies/ --format sarif -o pml.sarif
      pml-policy check run/ --fail-on warn        # warnings block the gate too
      pml-policy check models:/credit-scorer@challenger --tracking-uri http://mlflow:5000
    """
    from .check import Recorded, record, run_check
    from .outputs import Options, get

    if do_apply:
        from .govern_cli import require_registry

        if no_audit:
            raise UsageError("--apply and --no-audit cannot go together: every registry change is recorded in the audit log")
        require_registry(list(refs))
    run = run_check(list(refs), policy_paths_or_default(policy_paths), champion, data_file, engine)
    decisions = run.decisions
    # Recorded before anything is reported: a decision that could not be recorded is not shown.
    recorded = record(run, audit_url) if not no_audit else None
    note, audit = Recorded.report(recorded)
    is_tty = sys.stdout.isatty() if color is None else color
    if output:
        _write(output, get(fmt)(decisions, Options(audit=audit)))
        click.echo(get("text")(decisions, Options(color=is_tty, audit_note=note)), nl=False, color=is_tty)
        click.echo(f"{fmt} written to {output}")
    else:
        coloured = is_tty and fmt == "text"
        click.echo(get(fmt)(decisions, Options(color=coloured, audit_note=note, audit=audit)), nl=False, color=coloured)
    if do_apply:
        from .govern_cli import check_apply

        report, ok = check_apply(run, audit_url)
        click.echo(report, nl=False, err=fmt != "text" and not output)  # machine formats keep stdout to themselves
        if not ok:
            click.echo("error: a registry change failed; the audit log records what was made. Run again to finish.", err=True)
            sys.exit(EXIT_EVIDENCE)
    outcomes = {d.outcome for d in decisions}
    if "fail" in outcomes or (fail_on == "warn" and "warn" in outcomes):
        sys.exit(EXIT_POLICY_FAILED)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(), metavar="PATH...")
def validate(paths: tuple[str, ...]) -> None:
    """Parse and check policy files; report every error of every file.

    Each error names the file, line and column, shows the line with a caret, and says what
    was expected (with "did you mean" where a name is close). Exits 2 when anything is wrong.

    \b
      pml-policy validate policies/
    """
    from .engine.loader import parse_and_check, policy_files

    files = policy_files(list(paths))
    parsed, errors = parse_and_check(files)
    for e in errors:
        click.echo(e.render() + "\n", err=True)
    if errors:
        click.echo(f"{len(errors)} error{'s' if len(errors) != 1 else ''} in {len({e.path for e in errors})} of {len(files)} files", err=True)
        sys.exit(EXIT_USAGE)
    policies = sum(len(f.policies) for f, _ in parsed)
    waivers = sum(len(f.waivers) for f, _ in parsed)
    click.echo(f"{len(files)} files OK: {policies} policies, {waivers} waivers")


@cli.command(name="fmt")
@click.argument("paths", nargs=-1, required=True, type=click.Path(), metavar="PATH...")
@click.option("--check", "check_only", is_flag=True, help="Change nothing; exit 1 if a file is not in canonical form.")
def fmt_command(paths: tuple[str, ...], check_only: bool) -> None:
    """Rewrite policy files in canonical form (comments kept).

    Layout carries no meaning in PML, so fmt only changes spacing, line breaks and the order of
    a policy's sections; running it twice changes nothing more.

    \b
      pml-policy fmt policies/          # rewrite in place
      pml-policy fmt --check policies/  # for CI: exit 1 if anything would change
    """
    from .engine.formatter import fmt
    from .engine.loader import policy_files
    from .engine.parser import parse
    from .errors import PolicyError
    from .files import write_atomic

    errors, changed = [], []
    for f in policy_files(list(paths)):
        text = f.read_text(encoding="utf-8")
        try:
            formatted = fmt(parse(text, str(f)))
        except PolicyError as exc:
            errors.extend(exc.errors)
            continue
        if formatted != text:
            changed.append(f)
            if not check_only:
                write_atomic(f, formatted)
    if errors:
        raise PolicyError(errors)
    for f in changed:
        click.echo(f"{'would reformat' if check_only else 'reformatted'} {f}")
    click.echo(f"{len(changed)} file{'s' if len(changed) != 1 else ''} {'would be ' if check_only else ''}reformatted")
    if check_only and changed:
        sys.exit(EXIT_POLICY_FAILED)


@cli.command()
def schema() -> None:
    """Print the JSON Schema of `check --format json` (docs/check-output.schema.json)."""
    import json

    from .schema import check_schema

    click.echo(json.dumps(check_schema(), indent=2))


def _register() -> None:
    from .audit_cli import audit, explain
    from .govern_cli import govern
    from .report_cli import report
    from .scenarios_cli import test

    cli.add_command(audit)
    cli.add_command(explain)
    cli.add_command(govern)
    cli.add_command(report)
    cli.add_command(test)


_register()


def main() -> None:
    """Entry point of the `pml-policy` script."""
    try:
        cli(prog_name="pml-policy")
    except BrokenPipeError:  # `pml-policy check … | head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)


if __name__ == "__main__":  # python -m pml_policy.cli
    main()
