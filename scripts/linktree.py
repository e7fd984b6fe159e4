"""Lay out the package as it installs: a tree of symlinks built from pyproject's package-dir table,
for static tools (mypy, import-linter) that cannot follow an editable install's import hook.

    python scripts/linktree.py build/lint     # then: MYPYPATH=build/lint mypy -p pml_policy

setuptools' strict editable mode builds such a tree too, but its .pth puts the tree after the
working directory, where the repository's own pml_policy/ folder (the use cases alone) shadows
it for pytest and `python -m`; so `make` installs the ordinary editable mode for running, and
this tree for reading.
"""

from __future__ import annotations

import shutil
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def build(target: Path) -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    if target.exists():
        shutil.rmtree(target)
    for package in config["packages"]:
        source = _source(package, config["package-dir"])
        folder = target.joinpath(*package.split("."))
        folder.mkdir(parents=True, exist_ok=True)
        for path in source.iterdir():
            if path.is_file() and path.suffix in (".py", ".pyi", ".typed"):
                (folder / path.name).symlink_to(path)


def _source(package: str, mapping: dict[str, str]) -> Path:
    """A package's folder as setuptools finds it: its own entry, else its nearest parent's plus the rest."""
    parts = package.split(".")
    for cut in range(len(parts), 0, -1):
        if ".".join(parts[:cut]) in mapping:
            return ROOT / mapping[".".join(parts[:cut])] / Path(*parts[cut:])
    return ROOT / Path(*parts)


if __name__ == "__main__":
    build(Path(sys.argv[1]).resolve())
