"""`pml-policy token create|list|revoke`: bearer tokens for `pml-policy serve`."""

from __future__ import annotations

import datetime as dt
import json

import click

from pml_policy.base.dates import aware, parse_ahead
from pml_policy.base.escaping import one_line
from pml_policy.usecases.tokens import ROLES, TokenFile, last_recorded
from pml_policy.usecases.tokens import create as create_token
from pml_policy.usecases.tokens import revoke as revoke_token

from .options import audit_option

tokens_option = click.option(
    "--tokens",
    type=click.Path(dir_okay=False),
    required=True,
    envvar="PML_TOKENS",
    help="The tokens file (the one `serve --tokens` reads). Env: PML_TOKENS.",
)


@click.group()
def token() -> None:
    """Bearer tokens for `pml-policy serve`: a YAML file of names, roles and hashes.

    A running service reads the file again when it changes (and on SIGHUP): a revoked or expired
    token gets 401 at its next request.
    """


@token.command(name="create")
@click.argument("name")
@click.option("--role", "roles", type=click.Choice(ROLES), multiple=True, required=True, help="Repeatable.")
@click.option(
    "--expires",
    metavar="WHEN",
    help="When the token stops working: a span ahead (10s, 12h, 90d, 2w) or an ISO time "
    "(2027-03-01T00:00:00Z). Default: until revoked.",
)
@tokens_option
def token_create(name: str, roles: tuple[str, ...], expires: str | None, tokens: str) -> None:
    """Make a token for NAME (the actor the audit log records); print it once, keep only its hash.

    \b
    Roles: read (decisions, the log), decide (check, govern), approve, admin (everything).
      pml-policy token create ci-gate --role decide --tokens tokens.yaml
      pml-policy token create contractor --role read --expires 30d --tokens tokens.yaml
    """
    until = parse_ahead(expires, "--expires") if expires else None
    made = create_token(tokens, name, list(roles), until)
    click.echo(made)
    lasts = f"expires {_when(until)}" if until else "until revoked"
    click.echo(f"token {name!r} ({', '.join(roles)}, {lasts}) added to {tokens}; it is shown this once", err=True)


@token.command(name="list")
@tokens_option
@audit_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def token_list(tokens: str, audit_url: str, fmt: str) -> None:
    """Every token's name, roles, when it was created, when it expires, and when the audit log
    last recorded something it did (a decision, an approval; reads are not recorded). Never a hash.

    \b
      pml-policy token list --tokens tokens.yaml --audit postgresql://gov@db/governance
    """
    entries = TokenFile.load(tokens).tokens
    used = last_recorded(audit_url)
    now = dt.datetime.now(dt.UTC)
    if fmt == "json":
        rows = [
            {
                "name": t.name,
                "roles": list(t.roles),
                "created": _when(t.created),
                "expires": _when(t.expires),
                "expired": t.expired(now),
                "last_recorded": used.get(t.name),
            }
            for t in entries
        ]
        click.echo(json.dumps({"tokens": rows}, indent=2))
        return
    if not entries:
        click.echo(f"no tokens in {tokens}")
        return
    for t in entries:
        lasts = f"expires {_when(t.expires)}" if t.expires else "until revoked"
        line = f"{t.name:<24} {','.join(t.roles):<16} created {_when(t.created) or 'unknown':<20}  {lasts:<32}"
        line += f"  last recorded {used.get(t.name) or 'never'}"
        click.echo(one_line(line + ("  EXPIRED" if t.expired(now) else "")))


@token.command(name="revoke")
@click.argument("name")
@tokens_option
def token_revoke(name: str, tokens: str) -> None:
    """Remove NAME's token from the file; a service using the file refuses it at its next request.

    \b
      pml-policy token revoke contractor --tokens tokens.yaml
    """
    gone = revoke_token(tokens, name)
    click.echo(f"token {gone.name!r} ({', '.join(gone.roles)}) revoked: removed from {tokens}")


def _when(moment: dt.datetime | None) -> str | None:
    if moment is None:
        return None
    return aware(moment).astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
