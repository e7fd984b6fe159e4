"""What the approvals tests of several tiers share."""

from __future__ import annotations


def _as(monkeypatch, who: str) -> None:
    monkeypatch.setenv("PML_ACTOR", who)
