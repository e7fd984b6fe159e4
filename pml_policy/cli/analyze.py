"""`pml-policy analyze` and `pml-policy diff`: what policies can decide, proved with an SMT solver."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from pml_policy.base import config
from pml_policy.base.errors import UsageError
from pml_policy.base.files import write_atomic
from pml_policy.usecases.analyzing import analyze as run_analysis
from pml_policy.usecases.analyzing import semantic_diff

FORMATS = ("text", "json", "sarif")
EXIT_CODES = """\b
Exit codes:
  0  nothing found (analyze), or the two sets decide alike for every subject (diff)
  1  errors found (and warnings, with --fail-on warn), or the sets decide differently (diff)
  2  bad input: a policy file that does not parse or check, a bad path or revision, z3 missing
"""


def solver_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--timeout (per question) and --budget (the whole run): what is not decided in time is
    reported as undecided, never as proved."""
    command = click.option(
        "--budget",
        type=click.FloatRange(1, 86400),
        default=300.0,
        show_default=True,
        metavar="SECONDS",
        help="The time limit of the whole run; questions left when it runs out are reported as undecided.",
    )(command)
    return click.option(
        "--timeout",
        type=click.FloatRange(0.01, 600),
        default=2.0,
        show_default=True,
        metavar="SECONDS",
        help="The solver's time limit per question; a question not decided in time is reported as undecided, "
        "never as proved.",
    )(command)


@click.command(name="analyze", epilog=EXIT_CODES)
@click.argument("paths", nargs=-1, type=click.Path(), metavar="[PATH]...")
@click.option(
    "--format", "-f", "fmt", type=click.Choice(FORMATS), default="text", show_default=True, help="Output format."
)
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), help="Write the output to FILE.")
@click.option(
    "--fail-on",
    type=click.Choice(["error", "warn"]),
    default="error",
    show_default=True,
    help="Lowest severity that exits 1.",
)
@solver_options
def analyze(paths: tuple[str, ...], fmt: str, output: str | None, fail_on: str, timeout: float, budget: float) -> None:
    """Find what no evidence can change: rules no model can pass, rules that can never fail,
    `when`s that are never (or always) true, rules implied by others, policies that cannot pass
    together, `on pass` actions that can never run, waivers that can never apply.

    Each finding is proved over every possible subject (z3), with a witness: YAML evidence on
    which `pml-policy check` decides the way the finding says. What the analysis does not
    model (drifted(), pick(), …) is listed as an assumption. Default PATH: ./policies.

    \b
      pml-policy analyze                      # ./policies
      pml-policy analyze policies/ -f sarif -o analysis.sarif
      pml-policy analyze --fail-on warn       # in CI: warnings block too
    """
    analysis = run_analysis(config.policy_paths(paths), timeout, budget)
    from pml_policy.analysis import output as render

    text = {"text": render.text, "json": render.as_json, "sarif": render.sarif}[fmt](analysis)
    if output:
        write_atomic(Path(output), text)
        click.echo(render.text(analysis).splitlines()[-1] + f"; {fmt} written to {output}")
    else:
        click.echo(text, nl=False)
    sys.exit(analysis.exit_code("warn" if fail_on == "warn" else "error"))


@click.command(name="diff", epilog=EXIT_CODES)
@click.argument("paths", nargs=-1, type=click.Path(), metavar="OLD NEW")
@click.option(
    "--base",
    metavar="REF",
    help="Compare the policies at this git revision (OLD) with the working tree's (NEW, default ./policies).",
)
@click.option(
    "--write-example",
    "write_to",
    type=click.Path(file_okay=False),
    metavar="DIR",
    help="Write a counterexample per difference: DIR/POLICY.RULE/ (pml.yaml, metrics.json, champion/ where a "
    "champion matters, a README with the two `check` commands). DIR must be new or empty.",
)
@click.option("--format", "-f", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True)
@solver_options
def diff(
    paths: tuple[str, ...], base: str | None, write_to: str | None, fmt: str, timeout: float, budget: float
) -> None:
    """Prove two policy sets decide alike, or show a subject on which they do not.

    Policies are matched by name, rules by id. "equivalent" (exit 0) means the solver proved
    that every subject gets the same outcome and the same per-rule verdicts under both, `and`
    and `or` evaluated left to right as the engine does. Otherwise (exit 1) each rule whose
    verdict can differ is listed with a counterexample: evidence on which `pml-policy check`
    gives it another verdict under OLD than under NEW (checked by running the engine on it),
    ready for a Gherkin scenario.

    \b
      pml-policy diff old-policies/ policies/
      pml-policy diff --base origin/main                  # ./policies against main's
      pml-policy diff --base origin/main --write-example counterexamples/
    """
    if base is None and len(paths) != 2:
        raise UsageError("diff needs OLD and NEW policy paths, or --base REF [PATH]", "pml-policy diff --help")
    if base is not None and len(paths) > 1:
        raise UsageError("with --base, give at most one path: the policies to compare with their state at REF")
    target = Path(write_to) if write_to else None
    if base is None:
        result = semantic_diff([paths[0]], [paths[1]], None, target, timeout, budget)
    else:
        result = semantic_diff(None, config.policy_paths(paths), base, target, timeout, budget)
    from pml_policy.analysis import output as render

    click.echo(render.diff_text(result) if fmt == "text" else render.diff_json(result), nl=False)
    sys.exit(result.exit_code)
