"""What the impact tests of several tiers share."""

from __future__ import annotations

import shutil
from pathlib import Path

EXAMPLES = ("credit-pass", "credit-warn", "credit-fail")  # v8 pass, v9 warn, v10 fail


def _proposed(tmp_path: Path, current: Path, floor: str) -> Path:
    """A pull request that moves the AUC floor (same version: as a branch does before its bump)."""
    proposed = tmp_path / "proposed"
    shutil.copytree(current, proposed)
    gate = proposed / "promotion.pml"
    gate.write_text(gate.read_text().replace(">= 0.80", f">= {floor}"))
    return proposed
