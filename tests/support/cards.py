"""What the cards tests of several tiers share."""

from __future__ import annotations

import json

FRONT = """---
risk_category: high
intended_purpose: Pre-screening
last_reviewed: 2026-11-02
datasets: [applications-2026-11]
training_data:
  source: s3://bucket/applications
  rows: 120000
---
# Model card

Prose, not evidence: risk_category: low
"""


def _rules(check_json: str) -> list[dict]:
    (decision,) = json.loads(check_json)["decisions"]
    return [r for p in decision["policies"] for r in p["rules"]]
