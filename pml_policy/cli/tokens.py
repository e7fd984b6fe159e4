"""`pml-policy token create`: bearer tokens for `pml-policy serve`."""

from __future__ import annotations

import click

from pml_policy.usecases.tokens import ROLES
from pml_policy.usecases.tokens import create as create_token


@click.group()
def token() -> None:
    """Bearer tokens for `pml-policy serve`: a YAML file of names, roles and hashes."""


@token.command(name="create")
@click.argument("name")
@click.option("--role", "roles", type=click.Choice(ROLES), multiple=True, required=True, help="Repeatable.")
@click.option("--tokens", type=click.Path(dir_okay=False), required=True, envvar="PML_TOKENS", help="The tokens file.")
def token_create(name: str, roles: tuple[str, ...], tokens: str) -> None:
    """Make a token for NAME (the actor the audit log records); print it once, keep only its hash.

    \b
    Roles: read (decisions, the log), decide (check, govern), approve, admin (everything).
      pml-policy token create ci-gate --role decide --tokens tokens.yaml
    """
    made = create_token(tokens, name, list(roles))
    click.echo(made)
    click.echo(f"token {name!r} ({', '.join(roles)}) added to {tokens}; it is shown this once", err=True)
