"""The service takes a sign-off from a token with the approve role and governs the version at once."""

from __future__ import annotations

import shutil

import pytest

from ..helpers import ROOT


@pytest.mark.slow
def test_the_service_takes_a_sign_off_and_governs_the_version_at_once(mlflow_server, tmp_path):
    """Pending in the registry (no alias, tagged awaiting-approval); a member's token signs off over
    HTTP; the version is governed at once: approved and promoted, recorded."""
    import uuid

    from mlflow import MlflowClient

    from ..mlflow_data import log_version
    from .serving import Service, _token

    shutil.copytree(ROOT / "policies" / "starter", tmp_path / "policies")
    shutil.copy(ROOT / "policies" / "signoff" / "model-risk-signoff.pml", tmp_path / "policies")
    tokens = {
        n: _token(tmp_path, n, r) for n, r in (("ci", "decide"), ("cro@bank.example", "approve"), ("intern", "approve"))
    }
    client, model = MlflowClient(mlflow_server.uri), f"signoff-{uuid.uuid4().hex[:8]}"
    metrics = {"val_auc": 0.86, "val_auc_slice_young": 0.8, "val_ece": 0.02, "dp_gap": 0.01, "eo_gap": 0.01}
    tags = {"use_case": "credit", "owner": "risk", "data.version": "v1"}
    log_version(mlflow_server.uri, model, metrics, {"lr": "0.1"}, tags, {"model_card.md": "# card"})
    service = Service(tmp_path, "--tracking-uri", mlflow_server.uri, "--apply", "--tokens", "tokens.yaml")
    try:
        governed = service.call("POST", f"/v1/govern/{model}", tokens["ci"], json={"apply": True}).json()
        assert [d["outcome"] for d in governed["decisions"]] == ["pending"]
        assert client.get_registered_model(model).aliases == {}  # no alias to a pending version
        assert client.get_model_version(model, "1").tags.get("governance.status") == "awaiting-approval"

        ask = {"ref": f"models:/{model}/1", "role": "model-risk", "reason": "Validation pack reviewed"}
        assert service.call("POST", "/v1/approvals", tokens["ci"], json=ask).status_code == 403  # not the approve role
        outsider = service.call("POST", "/v1/approvals", tokens["intern"], json=ask)
        assert outsider.status_code == 403 and "not a member" in outsider.json()["detail"]
        forged = service.call("POST", "/v1/approvals", tokens["cro@bank.example"], json={**ask, "approver": "x"})
        assert forged.status_code == 422  # the approver is the token, never a field

        given = service.call("POST", "/v1/approvals", tokens["cro@bank.example"], json=ask)
        assert given.status_code == 201, given.text
        body = given.json()
        assert (body["approver"], body["model"], body["version"]) == ("cro@bank.example", model, "1")
        assert body["governed"] is not None and {"set_alias"} <= {c["kind"] for c in body["governed"]["changes"]}
        assert client.get_registered_model(model).aliases == {"champion": "1"}
        assert client.get_model_version(model, "1").tags.get("governance.status") == "approved"
        # promoted and tagged by governance, it still holds: its own changes do not void the sign-off
        again = service.call("POST", "/v1/check", tokens["ci"], json={"refs": [f"models:/{model}/1"]}).json()
        assert again["decisions"][0]["outcome"] == "pass"
        assert service.call("GET", "/v1/audit/verify", tokens["ci"]).json()["ok"]
    finally:
        service.stop()
