"""One configuration every command and `serve` read: `pml-policy.toml` in the working folder (or
`[tool.pml-policy]` in its `pyproject.toml`, or the file `--config` / PML_CONFIG names).

    audit = "postgresql://gov@db/governance"      # top level: options several commands share
    policies = ["policies"]
    tracking-uri = "http://mlflow:5000"

    [serve]                                       # a table per command: that command's options
    host = "0.0.0.0"
    tokens = "/etc/pml/tokens.yaml"
    recheck = "0 6 * * *"

A key is an option's long name without its dashes. The values become click's `default_map`, so a
flag beats its environment variable, which beats the file, which beats the built-in default; and a
value is checked by the option's own type, as if it were typed. A key no option has is an error
(one line naming the keys there are), never ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from pml_policy.base.errors import UsageError
from pml_policy.base.links import page

FILE = "pml-policy.toml"
# The options of cli/options.py, which many commands share: the only keys at the top level.
SHARED = (
    "audit",
    "policies",
    "data",
    "engine",
    "signing-key",
    "tracking-uri",
    "endpoint-url",
    "champion-alias",
    "registry-timeout",
    "allow-local-artifacts",
    "hash-artifacts",
    "origin",
)


@dataclass(frozen=True)
class Settings:
    """What the file says: shared keys, a table per command, and where it was read."""

    path: Path | None = None
    shared: dict[str, Any] = field(default_factory=dict)
    commands: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def find(cls, given: str | None, commands: list[str]) -> Settings:
        """The file `given`, else ./pml-policy.toml, else ./pyproject.toml's [tool.pml-policy];
        none of them: no settings. A file that is not TOML, or has a key no option has, is an error."""
        if given:
            return cls._read(Path(given), _toml(Path(given)), commands)
        if Path(FILE).is_file():
            return cls._read(Path(FILE), _toml(Path(FILE)), commands)
        if Path("pyproject.toml").is_file():
            table = _toml(Path("pyproject.toml")).get("tool", {}).get("pml-policy")
            if isinstance(table, dict):
                return cls._read(Path("pyproject.toml"), table, commands)
        return cls()

    @classmethod
    def _read(cls, path: Path, table: dict[str, Any], commands: list[str]) -> Settings:
        shared = {k: v for k, v in table.items() if not isinstance(v, dict)}
        sections = {k: v for k, v in table.items() if isinstance(v, dict)}
        unknown = sorted(set(shared) - set(SHARED))
        if unknown:
            raise UsageError(
                f"{path}: {', '.join(unknown)}: not an option several commands share",
                f"the top level takes {', '.join(SHARED)}; put a command's own options in its table ([serve] …)",
            )
        stray = sorted(set(sections) - set(commands))
        if stray:
            raise UsageError(f"{path}: [{stray[0]}] is not a command", f"the commands: {', '.join(commands)}")
        return cls(path, shared, sections)

    def defaults(self, name: str, command: click.Command) -> dict[str, Any]:
        """click's default_map for `command` (a group: for each of its commands too): the shared
        keys it has, then its own table. A key in its table that none of its options has is an error."""
        table = self.commands.get(name, {})
        known = _long_names(command)
        unknown = sorted(set(table) - set(known))
        if unknown:
            raise UsageError(
                f"{self.path}: [{name}] {', '.join(unknown)}: `pml-policy {name}` has no such option",
                f"its options: {', '.join(sorted(known)) or 'none'}",
            )
        return _default_map(command, {**self.shared, **table})


def _default_map(command: click.Command, values: dict[str, Any]) -> dict[str, Any]:
    mapped = {param.name: values[long] for param in command.params if (long := long_name(param)) in values}
    if isinstance(command, click.Group):
        for sub_name, sub in command.commands.items():
            mapped[sub_name] = _default_map(sub, values)
    return mapped


def _long_names(command: click.Command) -> set[str]:
    names = {long for param in command.params if (long := long_name(param))}
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            names |= _long_names(sub)
    return names


def long_name(param: click.Parameter) -> str | None:
    """An option's long name without dashes (`--tracking-uri`: tracking-uri); None for an argument."""
    if not isinstance(param, click.Option):
        return None
    longs = [o for o in param.opts if o.startswith("--")]
    return longs[0][2:] if longs else None


def _toml(path: Path) -> dict[str, Any]:
    import tomllib  # only where there is a file

    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}", "check the path given to --config") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not TOML: {exc}", f"see {page('configuration')}") from None
