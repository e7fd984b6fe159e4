"""What the mlflow tests of several tiers share."""

from __future__ import annotations

from ..helpers import ROOT

GATE = str(ROOT / "policies" / "mlflow")
