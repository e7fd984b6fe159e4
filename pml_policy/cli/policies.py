"""`pml-policy validate`, `fmt` and `schema`: tools for policy authors."""

from __future__ import annotations

import json
import sys

import click

from pml_policy.base import config
from pml_policy.base.errors import EXIT_POLICY_FAILED, EXIT_USAGE
from pml_policy.base.escaping import lines_of
from pml_policy.usecases.authoring import format_files
from pml_policy.usecases.authoring import validate as validate_files
from pml_policy.usecases.schema import check_schema


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(), metavar="[PATH]...")
@click.option(
    "--base",
    metavar="REF",
    envvar="PML_VALIDATE_BASE",
    help="A git revision (e.g. origin/main): also fail for each policy whose text changed since then without a "
    "new version, or whose version went backwards. Env: PML_VALIDATE_BASE.",
)
@click.option(
    "--analyze",
    "with_analysis",
    is_flag=True,
    help="Then analyze the policies (pml-policy analyze, needs pml-policy[analyze]): exit 1 on an error "
    "finding, e.g. a rule no model can pass or two policies that cannot pass together.",
)
def validate(paths: tuple[str, ...], base: str | None, with_analysis: bool) -> None:
    """Parse and check policy files (default: ./policies); report every error of every file.

    Each error names the file, line and column, shows the line with a caret, and says what
    was expected (with "did you mean" where a name is close). With --base, a policy whose
    text changed since that git revision must carry a new version (a decision binds name,
    version and text): one line per policy that does not. Exits 2 when anything is wrong.

    \b
      pml-policy validate                 # ./policies, searched recursively
      pml-policy validate policies/credit extra.pml
      pml-policy validate --base origin/main   # in a pull request's CI (fetch-depth: 0)
      pml-policy validate --analyze       # and what no evidence can change (pml-policy analyze)
    """
    result = validate_files(config.policy_paths(paths), base)
    for e in result.errors:
        click.echo(lines_of(e.render()) + "\n", err=True)
    for u in result.unbumped:
        click.echo(lines_of(u.render()), err=True)
    if result.errors or result.unbumped:
        count, files = len(result.errors), len({e.path for e in result.errors})
        if result.errors:
            click.echo(f"{count} error{'s' if count != 1 else ''} in {files} of {len(result.files)} files", err=True)
        if result.unbumped:
            n = len(result.unbumped)
            click.echo(f"{n} polic{'ies' if n != 1 else 'y'} changed since {base} without a new version", err=True)
        sys.exit(EXIT_USAGE)
    roles = f", {result.roles} roles" if result.roles else ""
    since = f"; every changed policy has a new version since {base}" if base else ""
    click.echo(f"{len(result.files)} files OK: {result.policies} policies, {result.waivers} waivers{roles}{since}")
    if with_analysis:
        from pml_policy.analysis.output import text
        from pml_policy.usecases.analyzing import analyze

        analysis = analyze(config.policy_paths(paths), 2.0, 300.0)
        click.echo(text(analysis), nl=False)
        sys.exit(analysis.exit_code())


@click.command(name="fmt")
@click.argument("paths", nargs=-1, type=click.Path(), metavar="[PATH]...")
@click.option("--check", "check_only", is_flag=True, help="Change nothing; exit 1 if a file is not in canonical form.")
def fmt_command(paths: tuple[str, ...], check_only: bool) -> None:
    """Rewrite policy files (default: ./policies) in canonical form (comments kept).

    Layout carries no meaning in PML, so fmt only changes spacing, line breaks and the order of
    a policy's sections; running it twice changes nothing more.

    \b
      pml-policy fmt policies/          # rewrite in place
      pml-policy fmt --check policies/  # for CI: exit 1 if anything would change
    """
    changed = format_files(config.policy_paths(paths), check_only)
    for f in changed:
        click.echo(f"{'would reformat' if check_only else 'reformatted'} {f}")
    click.echo(f"{len(changed)} file{'s' if len(changed) != 1 else ''} {'would be ' if check_only else ''}reformatted")
    if check_only and changed:
        sys.exit(EXIT_POLICY_FAILED)


@click.command()
def schema() -> None:
    """Print the JSON Schema of `check --format json` (the docs show it too: reference/check-output)."""
    click.echo(json.dumps(check_schema(), indent=2))
