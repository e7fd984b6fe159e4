"""`analyze` and `diff`: policy analysis with an SMT solver (pml_policy.analysis), over policy
paths or, for `diff --base`, over the policies at a git revision."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pml_policy.base.errors import UsageError

if TYPE_CHECKING:  # z3 is an extra: imported when a command runs, after require_solver()
    from pml_policy.analysis.findings import Analysis
    from pml_policy.analysis.semantic import SemanticDiff


def require_solver() -> None:
    """UsageError (exit 2) when z3 is not installed: the analysis is an extra."""
    try:
        import z3  # noqa: F401
    except ImportError:
        raise UsageError(
            "policy analysis needs the z3 solver, which is not installed", "pip install 'pml-policy[analyze]'"
        ) from None


def analyze(paths: Sequence[str], timeout: float, budget: float) -> Analysis:
    """Every finding for the policies under `paths` (analysis.findings.Analysis)."""
    require_solver()
    from pml_policy.analysis.analyzing import analyze as run

    return run(paths, timeout, budget)


def semantic_diff(
    old: Sequence[str] | None,
    new: Sequence[str],
    base: str | None,
    write_to: Path | None,
    timeout: float,
    budget: float,
) -> SemanticDiff:
    """OLD against NEW, or with `base` the policies under `new` at that git revision against the
    working tree's (analysis.semantic.SemanticDiff)."""
    require_solver()
    from pml_policy.analysis.semantic import diff

    if write_to is not None:
        _empty_folder(write_to)
    if base is None:
        assert old is not None
        return diff(old, new, write_to, timeout, budget=budget)
    with _checked_out(base, new, write_to) as folder:
        label = folder if write_to is not None else f"{' '.join(new)}@{base}"  # the examples' README reads it
        return diff([folder], new, write_to, timeout, (label, " ".join(new)), budget)


@contextlib.contextmanager
def _checked_out(base: str, paths: Sequence[str], keep_in: Path | None) -> Iterator[str]:
    """The policies under `paths` at `base`, written to a folder: kept beside the examples (their
    README commands read it), else a temporary one."""
    from .bumping import files_at

    _, files = files_at(base, list(paths), who="diff")
    if not files:
        raise UsageError(f"diff --base: no .pml files under {', '.join(paths)} at {base}")
    with tempfile.TemporaryDirectory(prefix="pml-base-") as tmp:
        folder = Path(tmp) / f"policies@{base}"
        if keep_in is not None:
            folder = keep_in / "base-policies"
        for name, text in files:
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        yield str(folder)


def _empty_folder(folder: Path) -> None:
    """--write-example: a new or empty folder, made now (UsageError if it cannot be)."""
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise UsageError(f"--write-example {folder}: not an empty folder", "name a new folder; nothing was written")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--write-example {folder}: cannot make it ({exc.strerror or exc})") from None
