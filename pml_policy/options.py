"""Options shared by several commands."""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from .errors import UsageError

DEFAULT_AUDIT_URL = "sqlite:///.pml/audit.db"

audit_option = click.option(
    "--audit", "audit_url", envvar="PML_AUDIT_URL", default=DEFAULT_AUDIT_URL, show_default=True, metavar="URL",
    help="The audit log: a SQLAlchemy URL (sqlite:///path, postgresql://user@host/db). Env: PML_AUDIT_URL.",
)


policies_option = click.option(
    "-p", "--policies", "policy_paths", multiple=True, type=click.Path(), envvar="PML_POLICIES",
    help="Policy file or folder (searched recursively); repeatable. Default: ./policies. Env: PML_POLICIES (os.pathsep-separated).",
)


def _export(variable: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """An option whose value the adapters read from the environment, as they do when it is set there."""

    def callback(_ctx: click.Context, _param: click.Parameter, value: Any) -> Any:
        if value not in (None, False):
            os.environ[variable] = "1" if value is True else str(value)
        return value

    return callback


def registry_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options of commands that read a model registry (MLflow)."""
    for option in reversed((
        click.option("--tracking-uri", metavar="URI", envvar="MLFLOW_TRACKING_URI", expose_value=False, callback=_export("MLFLOW_TRACKING_URI"),
                     help="The MLflow tracking server, for models:/… and runs:/… references. Env: MLFLOW_TRACKING_URI."),
        click.option("--champion-alias", metavar="ALIAS", envvar="PML_CHAMPION_ALIAS", expose_value=False, callback=_export("PML_CHAMPION_ALIAS"),
                     help='The registry alias of the production model, read as `champion.…` [default: champion]. Env: PML_CHAMPION_ALIAS.'),
        click.option("--hash-artifacts", is_flag=True, envvar="PML_HASH_ARTIFACTS", expose_value=False, callback=_export("PML_HASH_ARTIFACTS"),
                     help="Download a run's artifacts to take their sha256 (otherwise: path and size). Env: PML_HASH_ARTIFACTS=1."),
    )):
        command = option(command)
    return command


def policy_paths_or_default(paths: tuple[str, ...]) -> list[str]:
    """The -p paths, else ./policies when it exists."""
    if paths:
        return list(paths)
    if Path("policies").is_dir():
        return ["policies"]
    raise UsageError("no policies given and no ./policies folder here", "pass -p PATH (a .pml file or a folder), or set PML_POLICIES")
