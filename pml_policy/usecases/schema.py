"""The JSON Schema of `check --format json`, generated from the pydantic models it serialises."""

from __future__ import annotations

from typing import Any

from pml_policy.outputs.json_out import CheckDocument


def check_schema() -> dict[str, Any]:
    schema = CheckDocument.model_json_schema(by_alias=True, mode="serialization")
    # No $id: the schema has no home on the web yet; it ships as docs/check-output.schema.json and
    # `pml-policy schema`, and an $id that resolves nowhere would mislead validators.
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
