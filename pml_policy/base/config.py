"""Configuration the use cases share: where the audit log and the policies are by default."""

from __future__ import annotations

from pathlib import Path

from .errors import UsageError

DEFAULT_AUDIT_URL = "sqlite:///.pml/audit.db"
DEFAULT_POLICIES = "policies"


def policy_paths(paths: tuple[str, ...] | list[str], required: bool = True) -> list[str]:
    """The policy paths given, else ./policies when it exists; else a UsageError, or none at all
    when not `required` (reports read waivers from policies only where there are some)."""
    if paths:
        return list(paths)
    if Path(DEFAULT_POLICIES).is_dir():
        return [DEFAULT_POLICIES]
    if not required:
        return []
    raise UsageError(
        "no policies given and no ./policies folder here", "pass -p PATH (a .pml file or a folder), or set PML_POLICIES"
    )
