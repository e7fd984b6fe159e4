"""Options shared by several commands."""
from __future__ import annotations

from pathlib import Path

import click

from .errors import UsageError

DEFAULT_AUDIT_URL = "sqlite:///.pml/audit.db"

audit_option = click.option(
    "--audit", "audit_url", envvar="PML_AUDIT_URL", default=DEFAULT_AUDIT_URL, show_default=True, metavar="URL",
    help="The audit log: a SQLAlchemy URL (sqlite:///path, postgresql://user@host/db). Env: PML_AUDIT_URL.",
)


def policy_paths_or_default(paths: tuple[str, ...]) -> list[str]:
    """The -p paths, else ./policies when it exists."""
    if paths:
        return list(paths)
    if Path("policies").is_dir():
        return ["policies"]
    raise UsageError("no policies given and no ./policies folder here", "pass -p PATH (a .pml file or a folder), or set PML_POLICIES")
