"""Model cards archived with an MLflow run: read with one download, and only when a policy reads them."""

from __future__ import annotations

import uuid

import pytest

from ..helpers import run_cli
from ..mlflow_data import log_version
from ..support.cards import FRONT, _rules


@pytest.mark.slow
def test_an_mlflow_runs_card_is_read_with_one_download(uri):
    model = f"credit-{uuid.uuid4().hex[:8]}"
    version = log_version(uri, model, {"val_auc": 0.86}, artifacts={"model_card.md": FRONT, "data/x.csv": "a\n"})
    out = run_cli("check", f"models:/{model}/{version}", "-p", "policies/eu-ai-act", "--format", "json")
    risk = next(r for r in _rules(out.stdout) if r["rule"] == "risk_classified")
    assert risk["outcome"] == "pass" and risk["observed"] == {"card.risk_category": "high"}
    broken = log_version(uri, model, {"val_auc": 0.86}, artifacts={"bom.json": '{"modelCard": '})
    refused = run_cli("check", f"models:/{model}/{broken}", "-p", "policies/eu-ai-act")
    assert refused.exit_code == 3 and "bom.json" in refused.stderr and "malformed JSON" in refused.stderr
    huge = log_version(uri, model, {"val_auc": 0.86}, artifacts={"model_card.md": "---\n" + "a: 1\n" * 4_000_000})
    too_big = run_cli("check", f"models:/{model}/{huge}", "-p", "policies/eu-ai-act")
    assert too_big.exit_code == 3 and "a model card of 20,000,004 bytes; the limit is 16,777,216" in too_big.stderr


@pytest.mark.slow
def test_govern_downloads_cards_only_when_a_policy_reads_them(uri, mlflow_server):
    """Fast by design: a policy that lists artifacts (`artifact "…" exists`) costs a listing per run;
    only one that reads `card.…` costs a download more per version."""
    from pml_policy.adapters.base import AdapterConfig
    from pml_policy.adapters.mlflow import MlflowAdapter

    model = f"credit-{uuid.uuid4().hex[:8]}"
    for _ in range(3):
        log_version(uri, model, {"val_auc": 0.86}, artifacts={"model_card.md": FRONT})
    adapter = MlflowAdapter(AdapterConfig(tracking_uri=uri))
    costs = {}
    for card in (False, True):
        before = mlflow_server.requests_logged()
        subjects, _ = adapter.versions(model, artifacts=True, card=card)
        costs[card] = mlflow_server.requests_logged() - before
        assert [s.card is not None for s in subjects] == [card] * 3
    assert costs[True] - costs[False] == 3
