"""What the parse_cache tests of several tiers share."""

from __future__ import annotations

from ..helpers import ROOT

STARTER = ROOT / "policies" / "starter"


def _entries(cache) -> list:
    return sorted(p for p in (cache / "policies").rglob("*") if p.is_file())
