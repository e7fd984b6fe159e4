"""mypy and the layer contracts (import-linter) over the package as it installs.

Both read a tree of symlinks laid out from pyproject's package-dir table (linktree.py), never the
repository root, whose pml_policy/ folder holds the use cases alone. import-linter finds packages
by importing their spec, so it runs without site's .pth files (python -S): the editable install's
import hook would otherwise hand it that same partial folder.

    python scripts/static_checks.py        # exit 0 when both pass
"""

from __future__ import annotations

import os
import site
import subprocess
import sys

from linktree import ROOT, build

TREE = ROOT / "build" / "lint"
CONFIG = str(ROOT / "pyproject.toml")
LINT_IMPORTS = (
    "import sys; from importlinter.cli import lint_imports_command; "
    "sys.argv = ['lint-imports', sys.argv[1]]; lint_imports_command()"
)


def main() -> int:
    build(TREE)
    env = dict(os.environ, MYPYPATH=str(TREE))
    mypy = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", CONFIG, "-p", "pml_policy"], cwd=TREE, env=env
    )
    path = os.pathsep.join([str(TREE), *site.getsitepackages()])
    layers = subprocess.run(
        [sys.executable, "-S", "-c", LINT_IMPORTS, CONFIG], cwd=TREE, env=dict(os.environ, PYTHONPATH=path)
    )
    return mypy.returncode or layers.returncode


if __name__ == "__main__":
    sys.exit(main())
