"""`pml-policy approve`, `revoke` and `approvals`: human sign-offs (DSL 1.1, "Approvals"), recorded
in the audit log and bound to the evidence the approver saw."""

from __future__ import annotations

import datetime as dt
import json

import click

from pml_policy.adapters.base import AdapterConfig
from pml_policy.base.errors import UsageError
from pml_policy.base.escaping import one_line
from pml_policy.outputs.documents import listed_approval
from pml_policy.usecases import approving

from .options import audit_option, open_workspace, policies_option, registry_options, signing_option

EXIT_CODES = """\b
Exit codes:
  0  recorded
  2  refused: an undeclared role, an actor who is not a member or who trained the model,
     an expiry in the past, an empty reason; or bad usage
  3  the evidence or the audit log could not be read or written"""


def _day(_ctx: click.Context, _param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date: write YYYY-MM-DD") from None


@click.command(epilog=EXIT_CODES)
@click.argument("ref", metavar="REF")
@click.option(
    "--role", required=True, metavar="ROLE", help="The role you sign off for, as the policy files declare it."
)
@click.option("--reason", required=True, metavar="TEXT", help="What you reviewed; recorded with the approval.")
@click.option(
    "--expires", callback=_day, metavar="YYYY-MM-DD", help="The last day it counts (UTC). Default: no expiry."
)
@click.option(
    "--key",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    envvar="PML_APPROVER_KEY",
    help="Your private key (`audit keygen`'s .key): the approval carries your own signature. Needed when the role "
    "lists you with a key. Env: PML_APPROVER_KEY.",
)
@policies_option
@audit_option
@signing_option
@registry_options
def approve(
    ref: str,
    role: str,
    reason: str,
    expires: dt.date | None,
    key: str | None,
    policy_paths: tuple[str, ...],
    audit_url: str,
    signing_key: str | None,
    adapters: AdapterConfig,
) -> None:
    """Sign off the evidence behind REF as a member of ROLE.

    The approval binds the model name and version and the digest of the evidence as it is now:
    new or changed evidence voids it, and so does its expiry. You are the actor the audit log
    records (PML_ACTOR, else your git user.email); you must be a member of the role in the policy
    files and must not be the person who trained the model (run.user), compared trimmed and
    case-folded. A role may list a member with a key (`"cro@bank.example" key "ed25519:…"`): that
    member approves with --key, and an approval without their signature does not count. A rule
    `require approved by "ROLE"` then passes for this evidence. Withdraw it with `pml-policy revoke`.

    \b
    Examples:
      pml-policy approve models:/credit-scorer/8 --role model-risk --reason "Validation pack reviewed"
      pml-policy approve runs/2026-11-20 --role model-risk --reason "…" --expires 2027-01-31
    """
    with open_workspace(policy_paths, audit_url, signing_key=signing_key, adapters=adapters) as ws:
        approved = approving.approve(ws, ref, role, reason, expires, key=key)
    subject = approved.subject
    until = f", until {expires.isoformat()}" if expires else ""
    click.echo(
        one_line(
            f'approved {subject.model.name} version {subject.model.version} as "{role}" by {approved.approver}{until}: '
            f"record #{approved.record}; it binds the evidence {approved.digest} (new or changed evidence voids it)"
        )
    )


@click.command(epilog=EXIT_CODES)
@click.argument("record", metavar="#SEQ")
@click.option("--reason", required=True, metavar="TEXT", help="Why it is withdrawn; recorded.")
@policies_option
@audit_option
@signing_option
def revoke(record: str, reason: str, policy_paths: tuple[str, ...], audit_url: str, signing_key: str | None) -> None:
    """Withdraw approval #SEQ with a record of its own (the approval itself is never edited).

    Its approver, or another member of its role, may withdraw it.
    """
    text = record.lstrip("#")
    if not text.isdigit():
        raise UsageError(f"{record!r} is not a record number", "give the approval's #SEQ from `pml-policy approvals`")
    with open_workspace(policy_paths, audit_url, signing_key=signing_key) as ws:
        seq = approving.revoke(ws, int(text), reason)
    click.echo(f"approval #{text} revoked: record #{seq}")


@click.command()
@click.argument("model", required=False)
@click.option("--version", "version", metavar="N", help="Only this version of MODEL.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option(
    "--live/--as-recorded",
    default=True,
    show_default=True,
    help="Compare each approval with the evidence as `check` reads it now (its registry or folder), or only with "
    "the latest decision recorded on the version.",
)
@policies_option
@registry_options
@audit_option
def approvals(
    model: str | None,
    version: str | None,
    fmt: str,
    live: bool,
    policy_paths: tuple[str, ...],
    adapters: AdapterConfig,
    audit_url: str,
) -> None:
    """List the approvals recorded (for MODEL), with their state: valid; void: evidence changed
    (the version's evidence is not what was approved: read now, as `check` would count it, or with
    --as-recorded as the latest decision on it saw it); expired; revoked. The policies (-p, default
    ./policies) say which tags governance sets and which are operational (`operational tags`):
    those never void an approval."""
    if version is not None and model is None:
        raise UsageError("--version needs a MODEL")
    with open_workspace(policy_paths, audit_url, required=False, adapters=adapters) as ws:
        rows = approving.listed(ws, model, version, live=live)
    if fmt == "json":
        click.echo(json.dumps([listed_approval(a, state) for a, state in rows], indent=2))
        return
    if not rows:
        click.echo("no approvals recorded" + (f" for {model}" if model else ""))
        return
    header = f"{'SEQ':<6}{'TIME':<21}{'MODEL':<20}{'VERSION':<9}{'ROLE':<16}{'APPROVER':<28}{'EXPIRES':<12}STATE"
    click.echo(header)
    for a, state in rows:
        click.echo(
            one_line(
                f"{a['seq']:<6}{a['time'][:19]:<21}{a['model']:<20}{a['version']:<9}{a['role']:<16}"
                f"{a['approver']:<28}{a['expires'] or '-':<12}{state}"
            )
        )
