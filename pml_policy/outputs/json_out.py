"""JSON: {"schema": "pml-policy/check", "schema_version": 1, "outcome", "decisions": [Decision…]}."""
from __future__ import annotations

import json

from pml_policy.engine.decision import Decision, combine

from . import Options

CHECK_SCHEMA_VERSION = 1


def document(decisions: list[Decision]) -> dict:
    return {
        "schema": "pml-policy/check",
        "schema_version": CHECK_SCHEMA_VERSION,
        "outcome": combine([d.outcome for d in decisions]),
        "decisions": [d.model_dump(mode="json", by_alias=True) for d in decisions],
    }


def render(decisions: list[Decision], options: Options) -> str:
    return json.dumps(document(decisions), indent=2, ensure_ascii=False) + "\n"
