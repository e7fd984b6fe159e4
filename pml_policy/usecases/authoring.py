"""Tools for policy authors: validate every file, and rewrite files in canonical form."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pml_policy.base.errors import PolicyError
from pml_policy.base.files import write_atomic
from pml_policy.engine.diagnostics import Diagnostic
from pml_policy.engine.formatter import fmt
from pml_policy.engine.loader import parse_and_check, policy_files
from pml_policy.engine.parser import parse
from pml_policy.engine.reading import read_policy

from .bumping import Unbumped, unbumped


@dataclass
class Validation:
    files: list[Path]
    policies: int
    waivers: int
    errors: list[Diagnostic] = field(default_factory=list)
    roles: int = 0
    unbumped: list[Unbumped] = field(default_factory=list)  # with a base revision


def validate(paths: list[str], base: str | None = None) -> Validation:
    """Parse and check every policy file under the paths; every error of every file, located.
    With a base git revision, also each policy changed since then without a new version."""
    files = policy_files(list(paths))
    parsed, errors = parse_and_check(files)
    count = {kind: sum(len(getattr(f, kind)) for f, _ in parsed) for kind in ("policies", "waivers", "roles")}
    found = unbumped([f for f, _ in parsed], list(paths), base) if base is not None else []
    return Validation(files, count["policies"], count["waivers"], errors, count["roles"], found)


def format_files(paths: list[str], check_only: bool = False) -> list[Path]:
    """The files not in canonical form, rewritten unless check_only. Raises PolicyError, with every
    error of every file, when one does not parse (and then changes nothing in that file)."""
    errors, changed = [], []
    for f in policy_files(list(paths)):
        try:
            text = read_policy(f)
            formatted = fmt(parse(text, str(f)))
        except PolicyError as exc:
            errors.extend(exc.errors)
            continue
        if formatted != text:
            changed.append(f)
            if not check_only:
                write_atomic(f, formatted)
    if errors:
        raise PolicyError(errors)
    return changed
