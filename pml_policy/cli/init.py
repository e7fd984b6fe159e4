"""`pml-policy init` and `pml-policy packs`: start a governance repository from the shipped packs."""

from __future__ import annotations

import json
from pathlib import Path

import click

from pml_policy.usecases.scaffolding import CI_SYSTEMS, PACKS, init


@click.command(name="init")
@click.argument("directory", default=".", type=click.Path(file_okay=False, path_type=Path), metavar="[DIR]")
@click.option(
    "--pack",
    "packs",
    multiple=True,
    type=click.Choice(list(PACKS)),
    help="A policy pack to start from, with its scenarios; repeatable [default: starter]. See `pml-policy packs`.",
)
@click.option(
    "--ci",
    type=click.Choice(list(CI_SYSTEMS)),
    default="github",
    show_default=True,
    help="The CI workflow to write: every pull request validated, formatted, tested, and its impact shown.",
)
def init_command(directory: Path, packs: tuple[str, ...], ci: str) -> None:
    """Write a governance repository into DIR (default: here): policies/ from the chosen packs,
    features/ with their scenarios (and the example runs they read), a CI workflow, a pre-commit
    config, a .gitignore, pml-report.yaml (the report's cover) and a README of next steps. Nothing
    is overwritten: if any of these files exists, nothing is written.

    \b
    Examples:
      pml-policy init governance                                  # the starter pack, GitHub Actions
      pml-policy init gov --pack starter --pack production --ci gitlab
      cd gov && git init && pml-policy validate && pml-policy test --coverage
    """
    written = init(directory, list(packs) or ["starter"], ci)
    folders: dict[str, int] = {}
    for name in written.files:
        top = name.split("/", 1)[0] + "/" if "/" in name else name
        folders[top] = folders.get(top, 0) + 1
    click.echo(f"wrote {len(written.files)} files into {directory}:")
    for top, count in folders.items():
        click.echo(f"  {top}" + (f"  ({count} files)" if count > 1 else ""))
    cd = "" if directory == Path(".") else f"cd {directory} && "
    click.echo(f"next: {cd}git init && pml-policy validate && pml-policy test --coverage   (README.md says more)")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the packs as JSON.")
def packs(as_json: bool) -> None:
    """List the policy packs shipped with pml-policy, for `pml-policy init --pack NAME`."""
    rows = [
        {
            "name": pack.name,
            "description": pack.description,
            "policies": [f.name for f in pack.policy_files],
            "scenarios": [f"{f}.feature" for f in pack.features],
        }
        for pack in PACKS.values()
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        click.echo(f"{row['name']:<11} {row['description']}")
        click.echo(f"{'':<11} policies: {', '.join(row['policies'])}")
        if row["scenarios"]:
            click.echo(f"{'':<11} scenarios: {', '.join(row['scenarios'])}")
