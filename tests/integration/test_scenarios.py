"""Scenarios that read their evidence from a real MLflow server."""

from __future__ import annotations

import shutil

from ..helpers import ROOT
from ..mlflow_data import log_version
from ..support.scenarios import feature, pml_test


def test_scenarios_read_real_evidence_from_an_mlflow_server(repo, uri):
    model = "credit-bdd"
    log_version(uri, model, {"val_auc": 0.84})
    log_version(uri, model, {"val_auc": 0.86}, artifacts={"model_card.md": "# credit-bdd"})
    shutil.copy(ROOT / "policies" / "mlflow" / "champion-gate.pml", repo / "policies" / "promotion.pml")
    feature(
        repo,
        f'''Feature: MLflow
  Scenario: The new version beats the one in production
    Given the MLflow model "{model}" version 2
    And the champion is the MLflow model "{model}" version 1
    When the policy "mlflow-champion-gate" is evaluated
    Then the decision is pass
    And the rule "no_regression" passes
    And the message mentions "champion.metrics.val_auc - 0.005 = 0.835"

  Scenario: What if it had dropped below the champion
    Given the MLflow model "{model}" version 2
    And the candidate has metrics
      | metric  | value |
      | val_auc | 0.82  |
    And the champion is the MLflow model "{model}" version 1
    When the policy "mlflow-champion-gate" is evaluated
    Then the rule "no_regression" fails
''',
    )
    out = pml_test("--tracking-uri", uri, cwd=repo)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "2 scenarios: 2 passed" in out.stdout
    missing = pml_test("--tracking-uri", "http://127.0.0.1:9", cwd=repo)
    assert missing.returncode == 3, missing.stdout
