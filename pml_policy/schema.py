"""The JSON Schema of `check --format json`, generated from the pydantic models it serialises."""
from __future__ import annotations

from typing import Any

from .engine.decision import Decision
from .outputs.json_out import CHECK_SCHEMA_VERSION


def check_schema() -> dict[str, Any]:
    decision = Decision.model_json_schema(by_alias=True, mode="serialization", ref_template="#/$defs/{model}")
    defs = decision.pop("$defs", {})
    defs["Decision"] = decision
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://pml-policy.dev/schemas/check-output-v{CHECK_SCHEMA_VERSION}.json",
        "title": "pml-policy check --format json",
        "type": "object",
        "required": ["schema", "schema_version", "outcome", "decisions"],
        "properties": {
            "schema": {"const": "pml-policy/check"},
            "schema_version": {"const": CHECK_SCHEMA_VERSION},
            "outcome": {"enum": ["pass", "warn", "fail"], "description": "The worst outcome of all decisions."},
            "decisions": {"type": "array", "items": {"$ref": "#/$defs/Decision"}},
        },
        "$defs": defs,
    }
