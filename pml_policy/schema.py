"""The JSON Schema of `check --format json`, generated from the pydantic models it serialises."""

from __future__ import annotations

from typing import Any

from .outputs.json_out import CHECK_SCHEMA_VERSION, CheckDocument


def check_schema() -> dict[str, Any]:
    schema = CheckDocument.model_json_schema(by_alias=True, mode="serialization")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://pml-policy.dev/schemas/check-output-v{CHECK_SCHEMA_VERSION}.json",
        **schema,
    }
