"""MLflow references: parsed, or refused with what the adapter takes (no server needed)."""

from __future__ import annotations

import pytest

from ..helpers import run_cli
from ..support.mlflow import GATE


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("models:/credit/3", {"kind": "version", "name": "credit", "version": "3"}),
        ("models:/team/credit/12", {"kind": "version", "name": "team/credit", "version": "12"}),
        ("models:/credit@challenger", {"kind": "alias", "name": "credit", "alias": "challenger"}),
        ("runs:/0a1b2c/model", {"kind": "run", "run_id": "0a1b2c"}),
        ("models:/m-4f9e0c2d1a", {"kind": "logged_model", "model_id": "m-4f9e0c2d1a"}),
    ],
)
def test_references_are_parsed(ref, expected):
    from pml_policy.adapters.mlflow import Ref

    parsed = Ref.parse(ref)
    assert {k: getattr(parsed, k) for k in expected} == expected


@pytest.mark.parametrize("ref", ["models:/credit", "models:/credit/latest", "runs:/"])
def test_a_reference_the_adapter_cannot_read_says_what_it_takes(ref):
    result = run_cli("check", ref, "-p", GATE, "--tracking-uri", "http://127.0.0.1:9")
    assert result.exit_code == 2
    assert "use models:/NAME/VERSION, models:/NAME@ALIAS" in result.stderr
