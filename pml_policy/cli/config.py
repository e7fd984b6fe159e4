"""`pml-policy config [COMMAND]`: the configuration in force and where each value comes from."""

from __future__ import annotations

import json
import os
from typing import Any

import click
from click.core import ParameterSource

from pml_policy.base.escaping import one_line
from pml_policy.base.secrets import redact

from .configfile import SHARED, Settings, long_name


@click.command(name="config")
@click.argument("words", nargs=-1, metavar="[COMMAND]")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def config_command(ctx: click.Context, words: tuple[str, ...], fmt: str) -> None:
    """The options in force, each with its value and where it came from: the environment, the
    configuration file (pml-policy.toml, [tool.pml-policy] in pyproject.toml, or --config), or the
    default. Secrets are masked. Without COMMAND: the options commands share; with one (`serve`,
    `audit verify`): that command's. Every table of the file is checked (a command checks its own
    table when it runs).

    \b
      pml-policy config
      pml-policy config serve --format json
      PML_CONFIG=prod.toml pml-policy config govern
    """
    root = ctx.find_root()
    settings: Settings = root.obj
    group = root.command
    assert isinstance(group, click.Group)
    for table in settings.commands:  # every table of the file checked here; a command checks its own as it runs
        command = group.get_command(root, table)
        assert command is not None  # Settings.find refused tables that name no command
        settings.defaults(table, command)
    name, *rest = words or ("check",)
    command = group.get_command(root, name)
    if command is None:
        raise click.UsageError(f"no such command: {name}")
    defaults = settings.defaults(name, command) if settings.path else {}
    # The command's context as a run would build it (under the root: its PML_… variable names).
    context = command.make_context(name, [], parent=root, resilient_parsing=True, default_map=defaults)
    for word in rest:  # a group's command: `audit verify`
        if not isinstance(command, click.Group) or word not in command.commands:
            raise click.UsageError(f"no such command: {' '.join(words)}")
        command, defaults = command.commands[word], defaults.get(word, {})
        context = command.make_context(word, [], parent=context, resilient_parsing=True, default_map=defaults)
    shown = _shown(command, context, settings, only=None if words else set(SHARED))
    if fmt == "json":
        click.echo(json.dumps({"file": str(settings.path) if settings.path else None, "options": shown}, indent=2))
        return
    click.echo(f"configuration file: {settings.path or 'none (pml-policy.toml, pyproject.toml [tool.pml-policy])'}")
    for row in shown:
        click.echo(one_line(f"  {row['option']:<24} {_text(row['value']):<44} {row['from']}"))


def _shown(
    command: click.Command, sub: click.Context, settings: Settings, only: set[str] | None
) -> list[dict[str, Any]]:
    """Each option's value as the command would see it without flags, and its source."""
    rows = []
    for param in command.params:
        option = long_name(param)
        if option is None or (only is not None and option not in only) or param.name is None:
            continue
        source = sub.get_parameter_source(param.name)
        if source == ParameterSource.ENVIRONMENT:
            origin = f"environment ({_envvar(param, sub)})"
        elif source == ParameterSource.DEFAULT_MAP:
            origin = f"file ({settings.path})"
        else:
            origin = "default"
        rows.append({"option": f"--{option}", "value": _masked(sub.params.get(param.name)), "from": origin})
    return rows


def _envvar(param: click.Parameter, ctx: click.Context) -> str:
    """The variable the value came from: the option's own, else click's PML_<COMMAND>_<OPTION>."""
    names = param.envvar if isinstance(param.envvar, list | tuple) else [param.envvar]
    for name in names:
        if name and name in os.environ:
            return str(name)
    return f"{ctx.auto_envvar_prefix}_{(param.name or '').upper()}"


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list | tuple):
        return [_masked(v) for v in value]
    return value


def _text(value: Any) -> str:
    if value is None or value == () or value == []:
        return "-"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)
