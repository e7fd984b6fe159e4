"""What the scenarios tests of several tiers share."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ..helpers import ROOT

GUIDE = ROOT / "docs" / "writing-scenarios.md"


def pml_test(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pml_policy.cli", "test", "--no-color", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def feature(repo: Path, text: str, name: str = "f.feature") -> Path:
    path = repo / "features" / name
    path.write_text(text)
    return path
