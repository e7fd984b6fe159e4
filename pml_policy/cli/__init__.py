"""The `pml-policy` command: options in, one use-case call out, rendering back.

Commands live in one module per group and are imported when dispatched (COMMANDS, as pip's
commands_dict): `pml-policy check` imports the check command, not the report templates. User
errors become a message and their documented exit code in one place, `_Cli.invoke`.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

from pml_policy import __version__
from pml_policy.base.errors import PmlError
from pml_policy.base.escaping import lines_of
from pml_policy.base.secrets import redact

# name -> (module, attribute): the one place where laziness lives.
COMMANDS: dict[str, tuple[str, str]] = {
    "analyze": ("pml_policy.cli.analyze", "analyze"),
    "approvals": ("pml_policy.cli.approvals", "approvals"),
    "approve": ("pml_policy.cli.approvals", "approve"),
    "attest": ("pml_policy.cli.attest", "attest"),
    "audit": ("pml_policy.cli.audit", "audit"),
    "check": ("pml_policy.cli.check", "check_command"),
    "config": ("pml_policy.cli.config", "config_command"),
    "diff": ("pml_policy.cli.analyze", "diff"),
    "explain": ("pml_policy.cli.audit", "explain"),
    "fmt": ("pml_policy.cli.policies", "fmt_command"),
    "govern": ("pml_policy.cli.govern", "govern_command"),
    "impact": ("pml_policy.cli.impact", "impact_command"),
    "inbox": ("pml_policy.cli.inbox", "inbox"),
    "init": ("pml_policy.cli.init", "init_command"),
    "packs": ("pml_policy.cli.init", "packs"),
    "recheck": ("pml_policy.cli.recheck", "recheck_command"),
    "report": ("pml_policy.cli.report", "report"),
    "revoke": ("pml_policy.cli.approvals", "revoke"),
    "schema": ("pml_policy.cli.policies", "schema"),
    "serve": ("pml_policy.cli.serve", "serve"),
    "status": ("pml_policy.cli.status", "status_command"),
    "test": ("pml_policy.cli.test", "test"),
    "token": ("pml_policy.cli.tokens", "token"),
    "validate": ("pml_policy.cli.policies", "validate"),
    "verify-attestation": ("pml_policy.cli.attest", "verify_attestation"),
}


class _Cli(click.Group):
    """Commands loaded on dispatch; the one place where a user error becomes a message on stderr
    and its documented exit code."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attribute = COMMANDS[name]
        command: click.Command = getattr(importlib.import_module(module), attribute)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PmlError as exc:
            # No secret a library repeated, no line forged by what a file said.
            click.echo(f"error: {lines_of(redact(exc.render()))}", err=True)
            ctx.exit(exc.exit_code)


# auto_envvar_prefix: every option without an environment variable of its own has one, click's way:
# PML_<COMMAND>_<OPTION> (PML_CHECK_FAIL_ON, PML_AUDIT_LIST_LIMIT).
@click.group(
    cls=_Cli,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100, "auto_envvar_prefix": "PML"},
)
@click.version_option(__version__, "--version", "-V", prog_name="pml-policy")
@click.option(
    "--config",
    "config_file",
    metavar="FILE",
    envvar="PML_CONFIG",
    help="Read option values from FILE (TOML). Default: ./pml-policy.toml, else [tool.pml-policy] in "
    "./pyproject.toml. A flag beats its environment variable, which beats the file. Env: PML_CONFIG.",
)
@click.pass_context
def cli(ctx: click.Context, config_file: str | None) -> None:
    """Decide which trained model may go to production, with policies as code.

    Policies are .pml files (the PML language) kept in git. `check` evaluates them against the
    evidence a training run left behind and explains the decision rule by rule.

    \b
    First steps:
      pml-policy init governance && cd governance   # a repository from the starter pack
      pml-policy validate                           # are the policies (./policies) well formed?
      pml-policy analyze                            # can every rule pass? can the policies pass together?
      pml-policy check examples/credit-pass -p policies/starter
      pml-policy check RUN_FOLDER --champion CHAMPION_FOLDER --format junit -o report.xml
      pml-policy audit list; pml-policy audit verify  # every decision is recorded, hash-chained
      pml-policy test features/ --coverage          # business users' Gherkin scenarios
      pml-policy config                             # the settings in force, and where each comes from
    """
    from .configfile import Settings

    settings = Settings.find(config_file, sorted(COMMANDS))
    ctx.obj = settings  # `pml-policy config` shows it
    name = ctx.invoked_subcommand
    group = ctx.command
    command = group.get_command(ctx, name) if settings.path and name and isinstance(group, click.Group) else None
    if name and command is not None:
        ctx.default_map = {name: settings.defaults(name, command)}


def main() -> None:
    """Entry point of the `pml-policy` script."""
    try:
        cli(prog_name="pml-policy")
    except BrokenPipeError:  # `pml-policy check … | head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
