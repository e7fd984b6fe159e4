"""`pml-policy status [MODEL...]`: does the registry say what the policies say? Per model, the
desired and live champion and governance tags, `synced` or `out-of-sync` with the differences, the
service's last reconcile, the champion's monitoring health and the versions awaiting a sign-off."""

from __future__ import annotations

import json
import sys

import click

from pml_policy.adapters.base import AdapterConfig
from pml_policy.base.errors import EXIT_PASS, EXIT_POLICY_FAILED
from pml_policy.base.escaping import one_line
from pml_policy.usecases.status import ModelStatus, status

from .options import audit_option, data_option, engine_option, open_workspace, policies_option, registry_options

EXIT_CODES = """\b
Exit codes:
  0  every model is synced: the registry says what the policies say
  1  a model is out of sync (the differences are listed)
  2  bad usage, an invalid policy, a named model no policy applies to
  3  the registry or the audit log could not be read (a model that does not exist included)"""


@click.command(name="status", epilog=EXIT_CODES)
@click.argument("models", nargs=-1, metavar="[MODEL]...")
@policies_option
@data_option
@engine_option
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@registry_options
@audit_option
def status_command(
    models: tuple[str, ...],
    policy_paths: tuple[str, ...],
    data_file: str | None,
    engine: str,
    fmt: str,
    adapters: AdapterConfig,
    audit_url: str,
) -> None:
    """Show whether each MODEL (every registered model a policy applies to, when none is named)
    is synced: its versions are decided now under the policies (nothing is recorded, nothing
    changed), and what a govern pass would change is listed as the differences between the
    desired and the live champion and governance tags. Before `serve --apply` adopts a registry,
    this is what it will do. Also shown: the service's last reconcile of the model (from the
    inbox in the audit log), the champion's latest re-check, the versions awaiting a sign-off.

    \b
    Examples:
      pml-policy status credit-scorer --tracking-uri http://mlflow:5000
      pml-policy status --format json | jq '.[] | select(.sync != "synced")'
    """
    with open_workspace(policy_paths, audit_url, adapters=adapters, data_file=data_file, engine=engine) as ws:
        found = status(ws, list(models))
    if fmt == "json":
        click.echo(json.dumps([s.model_dump(mode="json") for s in found], indent=2))
    else:
        for s in found:
            click.echo(_text(s), nl=False)
        if not found:
            click.echo("no registered model that a policy applies to")
    sys.exit(EXIT_POLICY_FAILED if any(s.sync != "synced" for s in found) else EXIT_PASS)


def _text(s: ModelStatus) -> str:
    lines = [one_line(f"{s.model}: {s.sync}")]
    lines.append(f"  champion: {s.champion.live or 'none'} (desired: {s.champion.desired or 'none'})")
    lines += [one_line(f"  - {d}") for d in s.differences]
    if s.pending:
        lines.append(f"  awaiting a sign-off: version {', '.join(s.pending)}")
    if s.monitoring is not None:
        m = s.monitoring
        lines.append(f"  monitoring: version {m.version} re-checked {m.outcome} at {m.time}")
    if s.last_reconcile is not None:
        r = s.last_reconcile
        lines.append(one_line(f"  last reconcile: {r.time} {r.event} {r.state}: {r.result or ''}").rstrip(": "))
    return "\n".join(lines) + "\n"
