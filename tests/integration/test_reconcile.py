"""The service's reconcile (`reacting.react`, as its workers call it) on a real MLflow registry:
a decision is recorded when it says something new, so registering versions one at a time costs
about one decision each, and a version that passed is not re-judged `rejected` because a better
one came later."""

from __future__ import annotations

import uuid

from pml_policy.adapters.base import AdapterConfig
from pml_policy.usecases.reacting import Controls, react
from pml_policy.usecases.workspace import Workspace

from ..helpers import ROOT
from ..mlflow_data import log_version

GOOD = {"val_auc_slice_young": 0.8, "val_ece": 0.02}
TAGS = {"use_case": "churn", "owner": "risk", "data.version": "v1"}


def _decisions(ws: Workspace, model: str) -> int:
    return sum(1 for r in ws.log.store().records(model=model, kind="decision", limit=10_000))


def test_versions_registered_one_by_one_cost_about_one_decision_each(uri, tmp_path):
    from mlflow import MlflowClient

    client = MlflowClient(uri)
    model = f"one-{uuid.uuid4().hex[:8]}"
    ws = Workspace.open(
        [ROOT / "policies" / "starter"],
        audit_url=f"sqlite:///{tmp_path}/audit.db",
        adapters=AdapterConfig(tracking_uri=uri),
        actor="pml-policy service",
    )
    controls = Controls(apply=True)
    aucs = (0.81, 0.82, 0.83, 0.84, 0.85)  # each better than the last: each becomes the champion
    with ws:
        for auc in aucs:
            version = log_version(uri, model, {"val_auc": auc, **GOOD}, {"lr": "0.1"}, TAGS, {"model_card.md": "#"})
            react(ws, "model_version.created", {"name": model, "version": version}, controls)
        decided = _decisions(ws, model)
        print(f"{len(aucs)} versions registered one by one: {decided} decisions")  # noqa: T201 (the figure, with -s)
        assert decided <= 2 * len(aucs)  # was 1 + 2 + ... + N: every version re-judged at each promotion
        statuses = {
            str(v.version): v.tags.get("governance.status") for v in client.search_model_versions(f"name='{model}'")
        }
        assert statuses == {str(n): "approved" for n in range(1, len(aucs) + 1)}  # none re-judged rejected
        assert str(client.get_registered_model(model).aliases["champion"]) == str(len(aucs))
        client.set_model_version_tag(model, "2", "governance.status", "rejected")  # forged
        react(ws, "model_version_tag.set", {"name": model, "version": "2", "key": "governance.status"}, controls)
        assert client.get_model_version(model, "2").tags["governance.status"] == "approved"  # put back
        assert _decisions(ws, model) == decided  # and no decision needed for it
        assert ws.log.store().verify().ok
