"""On a real MLflow registry: a deployment tool's tag on the version it shipped voids a sign-off
(the version's evidence changed) until the policies call such tags operational; `approvals` says
an approval is void as soon as `check` would not count it, before any decision records it."""

from __future__ import annotations

import shutil
import uuid

from ..helpers import ROOT, run_cli
from ..mlflow_data import log_version
from ..support.approvals import _as

GOOD = {"val_auc": 0.86, "val_auc_slice_young": 0.8, "val_ece": 0.02}


def test_a_deployment_tag_voids_a_sign_off_until_it_is_declared_operational(uri, tmp_path, monkeypatch):
    from mlflow import MlflowClient

    model = f"ops-{uuid.uuid4().hex[:8]}"
    (tmp_path / "policies").mkdir()
    shutil.copy(ROOT / "policies" / "starter" / "promotion.pml", tmp_path / "policies")
    signoff = tmp_path / "policies" / "model-risk-signoff.pml"
    shutil.copy(ROOT / "policies" / "signoff" / "model-risk-signoff.pml", signoff)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PML_AUDIT_URL", f"sqlite:///{tmp_path}/audit.db")
    log_version(uri, model, GOOD, {"lr": "0.1"}, {"use_case": "credit"}, {"model_card.md": "#"})
    ref = f"models:/{model}/1"
    _as(monkeypatch, "cro@bank.example")
    assert run_cli("approve", ref, "--role", "model-risk", "--reason", "reviewed").exit_code == 0
    assert run_cli("check", ref).exit_code == 0
    MlflowClient(uri).set_model_version_tag(model, "1", "deploy.region", "prod-eu")  # the deployment tool's
    assert "void: evidence changed" in run_cli("approvals", model).stdout  # now, before any decision
    assert "valid" in run_cli("approvals", model, "--as-recorded").stdout  # the last decision did not see it
    assert run_cli("check", ref).exit_code == 1  # pending: check does not count it either
    signoff.write_text(
        signoff.read_text().replace('version "1.0.0" {', 'version "1.1.0" {\n  operational tags "deploy.*"')
    )
    assert "valid" in run_cli("approvals", model).stdout
    assert run_cli("check", ref).exit_code == 0
    MlflowClient(uri).set_model_version_tag(model, "1", "data.version", "v2")  # other evidence: void again
    assert "void: evidence changed" in run_cli("approvals", model).stdout
    assert run_cli("check", ref).exit_code == 1
