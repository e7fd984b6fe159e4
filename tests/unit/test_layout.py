"""The layout the next person relies on: modules small enough to read in one sitting, every code
package in the wheel, a unit tier that starts no process."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from ..helpers import ROOT

MAX_LINES = 400
OURS = ("pml_policy", "tests", "bench", "scripts", "examples")  # the rest of the tree: .venv, build…
# What only a test of another tier does: start a process, or use a real server's fixture.
STARTS = re.compile(
    r"^\s*(?:import|from) subprocess\b|subprocess\.|Popen\("
    r"|\((?:.*, )?(?:mlflow_server|postgres_url|store_url|moto)\b"
)


def _modules() -> list[Path]:
    return sorted([ROOT / "conftest.py", *(p for top in OURS for p in (ROOT / top).rglob("*.py"))])


def test_no_module_is_over_400_lines_tests_included():
    long = {str(p.relative_to(ROOT)): n for p in _modules() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"split these by what they hold: {long}"


def test_every_code_package_goes_into_the_wheel():
    """A package folder missing from pyproject's list installs from a checkout and breaks in the wheel."""
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(init.relative_to(ROOT).parent.parts) for init in (ROOT / "pml_policy").rglob("__init__.py")}
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"


def test_the_unit_tier_starts_no_process_and_no_server():
    """tests/unit: no subprocess, no real server; those tests belong to tests/integration or tests/e2e."""
    offenders = {
        str(path.relative_to(ROOT)): [line.strip() for line in path.read_text().splitlines() if STARTS.search(line)]
        for path in (ROOT / "tests" / "unit").rglob("*.py")
        if path.name != "test_layout.py"
    }
    assert not {k: v for k, v in offenders.items() if v}
