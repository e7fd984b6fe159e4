"""`pml-policy test`: run business users' Gherkin scenarios against the policies."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from pml_policy.adapters.base import AdapterConfig
from pml_policy.base import config
from pml_policy.base.errors import EXIT_POLICY_FAILED, UsageError
from pml_policy.base.files import write_atomic
from pml_policy.scenarios import coverage, report
from pml_policy.scenarios.runner import run
from pml_policy.scenarios.vocabulary import glossary

from .options import policies_option, registry_options

EXIT_CODES = """\b
Exit codes:
  0  every scenario passed (and coverage is at least --min-coverage)
  1  a scenario failed: a policy did not decide what it says, or coverage is too low
  2  a scenario cannot run as written (an undefined step, an unknown policy or
     rule, a malformed table), a feature file is not valid Gherkin, or a policy is invalid
  3  evidence a scenario names could not be read (a folder, an MLflow server)"""


@click.command(epilog=EXIT_CODES)
@click.argument("features", nargs=-1, type=click.Path(), metavar="[FEATURES]...")
@policies_option
@click.option("--list-steps", is_flag=True, help="Print every step a scenario may use, with an example, and exit.")
@click.option(
    "--coverage",
    "show_coverage",
    is_flag=True,
    help="Show, per policy and rule, whether some scenario saw it pass and saw it fail.",
)
@click.option(
    "--min-coverage",
    type=click.FloatRange(0, 100),
    metavar="PERCENT",
    help="Exit 1 when fewer than PERCENT of the rules' pass and fail outcomes were seen (implies --coverage).",
)
@click.option(
    "--coverage-json", type=click.Path(dir_okay=False), metavar="FILE", help="Write the coverage as JSON to FILE."
)
@click.option(
    "--junit-xml",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Write the results as JUnit XML to FILE (a test case per scenario), for CI.",
)
@click.option(
    "--tags",
    metavar="EXPR",
    help='Run only the scenarios whose tags match, e.g. "credit and not slow" (Gherkin tags, without @).',
)
@click.option("--color/--no-color", default=None, help="Colour the output (default: when stdout is a terminal).")
@registry_options
def test(
    features: tuple[str, ...],
    policy_paths: tuple[str, ...],
    list_steps: bool,
    show_coverage: bool,
    min_coverage: float | None,
    coverage_json: str | None,
    junit_xml: str | None,
    tags: str | None,
    color: bool | None,
    adapters: AdapterConfig,
) -> None:
    """Run Gherkin scenarios that say what the policies must decide.

    FEATURES are .feature files or folders of them (default: ./features). Each scenario describes
    a candidate model (its metrics, params, tags, artifacts, a champion, waivers) in plain
    sentences, evaluates the policies, and states the decision and the rules' results. No Python
    is needed: `--list-steps` prints every sentence there is, and
    https://pml-policy.github.io/pml-policy/writing-scenarios/ is a five-minute guide. The same
    files run under a project's own pytest (-p pml_policy.scenarios.plugin -p
    pml_policy.scenarios.steps).

    \b
    Examples:
      pml-policy test                                   # ./features against ./policies
      pml-policy test features/credit.feature -p policies/credit
      pml-policy test --coverage --min-coverage 90      # which rules no scenario exercises
      pml-policy test --junit-xml scenarios.xml         # for the CI server's test tab
      pml-policy test --list-steps                      # the glossary
    """
    if list_steps:
        click.echo(glossary())
        return
    paths = list(features) or _default_features()
    result = run(paths, config.policy_paths(policy_paths), tags, adapters)
    is_tty = sys.stdout.isatty() if color is None else color
    click.echo(report.text(result, is_tty), nl=False, color=is_tty)
    if junit_xml:
        write_atomic(Path(junit_xml), report.junit(result))
        click.echo(f"JUnit XML written to {junit_xml}")
    cov = result.coverage
    if coverage_json:
        write_atomic(Path(coverage_json), cov.model_dump_json(indent=2) + "\n")
        click.echo(f"coverage JSON written to {coverage_json}")
    if show_coverage or min_coverage is not None:
        click.echo("\n" + coverage.render(cov), nl=False)
    code = result.exit_code
    if min_coverage is not None and cov.percent < min_coverage:
        click.echo(f"error: rule coverage {cov.percent:g}% is below --min-coverage {min_coverage:g}%", err=True)
        code = max(code, EXIT_POLICY_FAILED)
    if not result.scenarios:
        click.echo("error: no scenario ran" + (f" (--tags {tags} matched none)" if tags else ""), err=True)
        code = max(code, EXIT_POLICY_FAILED)
    sys.exit(code)


def _default_features() -> list[str]:
    if Path("features").is_dir():
        return ["features"]
    raise UsageError(
        "no feature files given and no ./features folder here",
        "pass .feature files or folders, e.g. pml-policy test scenarios/",
    )
