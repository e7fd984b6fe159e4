"""What the wandb tests of several tiers share."""

from __future__ import annotations

from ..helpers import ROOT

PROMOTION = str(ROOT / "policies" / "starter" / "promotion.pml")
