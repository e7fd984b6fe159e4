"""A week of registry life in a couple of minutes, as the issue's user lives it: two replicas of
`serve --apply` on PostgreSQL beside a real MLflow server (webhooks to one of them), registrations
one by one and in a burst, hand edits and deletions, a drifted Evidently report on the champion's
slot, a policy edited without a new version, one replica killed with SIGKILL mid-burst, MLflow's
test webhook. After each step `status` says synced, the champion is the version the policies
choose, no version holding it carries a contradicting tag, and the log grows with the changes."""

from __future__ import annotations

import datetime as dt
import shutil
import signal
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from ..helpers import ROOT
from ..mlflow_data import log_version
from ..support.production import evidently_report
from .serving import EVENTS, GOOD, SECRET, Service, _versions, _wait

TAGS = {"use_case": "credit", "owner": "risk", "data.version": "v1"}


def _synced(replica: Service, model: str, champion: str) -> Any:
    answer = replica.call("GET", f"/v1/models/{model}").json()
    jobs = replica.call("GET", "/v1/inbox?limit=500").json()
    busy = any(j["state"] in ("pending", "running") for j in jobs)
    return not busy and answer.get("sync") == "synced" and answer["champion"]["live"] == champion and answer


@pytest.mark.slow
def test_a_week_of_registry_life_converges_at_every_pause(mlflow_server, tmp_path: Path, postgres_url):
    import mlflow
    from mlflow import MlflowClient

    uri, client, model = mlflow_server.uri, MlflowClient(mlflow_server.uri), f"life-{uuid.uuid4().hex[:8]}"
    shutil.copytree(ROOT / "policies" / "starter", tmp_path / "policies" / "starter")
    shutil.copytree(ROOT / "policies" / "production", tmp_path / "policies" / "production")
    (tmp_path / "context.yaml").write_text("monitored_columns: {credit: [income, age]}\n")
    env = {"PML_WEBHOOK_SECRET": SECRET, "PML_AUDIT_URL": postgres_url}
    args = ("--tracking-uri", uri, "--apply", "--reconcile-every", "3", "--recheck", "* * * * * */4")
    args += ("--data", str(tmp_path / "context.yaml"))
    a, b = Service(tmp_path, *args, env=env), Service(tmp_path, *args, env=env)
    webhook = client.create_webhook(
        name=f"pml-{model}", url=f"{a.url}/v1/webhooks/mlflow", events=EVENTS, secret=SECRET
    )

    def version(auc: float) -> str:
        return log_version(
            uri,
            model,
            {"val_auc": auc, **GOOD},
            {"lr": "0.1"},
            TAGS,
            {"model_card.md": "#"},
        )

    def pause(champion: str, what: str) -> dict[str, Any]:
        found = _wait(
            lambda: _synced(b, model, champion), 90, lambda: f"{what}: {b.call('GET', f'/v1/models/{model}').text}"
        )
        holder = _versions(client, model)[champion]
        assert holder.get("governance.status") not in ("reverted", "rejected"), (what, holder)
        return found

    try:
        time.sleep(1.5)  # the server's webhook cache
        for auc in (0.86, 0.87):  # Monday: one by one, each better
            version(auc)
        pause("2", "one by one")
        first = client.get_model_version(model, "2")
        for _ in range(3):  # Tuesday: a burst (the same run registered again: ties go to the newest)
            client.create_model_version(model, source=first.source, run_id=first.run_id)
        pause("5", "a burst")
        client.set_registered_model_alias(model, "champion", "1")  # Wednesday: hands on the registry
        pause("5", "a hand move")
        client.delete_registered_model_alias(model, "champion")
        pause("5", "the alias deleted")
        client.delete_model_version_tag(model, "3", "governance.status")
        client.set_model_version_tag(model, "4", "governance.status", "rejected")
        pause("5", "a tag deleted, one forged")
        snapshot, _ = evidently_report(True, dt.datetime.now(dt.UTC))  # Thursday: the slot drifts
        mlflow.set_tracking_uri(uri)
        mlflow.set_experiment("monitoring")
        with mlflow.start_run(tags={"pml.monitors": f"{model}@champion"}):
            mlflow.log_text(snapshot, "monitoring.json")
        _wait(
            lambda: _versions(client, model)["5"].get("governance.status") == "reverted",
            60,
            lambda: f"v5 reverted: {[j['result'] for j in b.call('GET', '/v1/inbox?limit=5').json()]}",
        )
        pause("4", "the champion drifted")  # v5 held back; 4, the best left, awaits its monitoring
        assert _versions(client, model)["5"]["governance.status"] == "reverted"  # and stays so: no flip back
        gate = tmp_path / "policies" / "starter" / "promotion.pml"  # Friday: an edit without a bump
        gate.write_text(gate.read_text().replace(">= 0.80", ">= 0.90"))
        assert a.call("POST", "/v1/policies/reload").status_code == 422
        gate.write_text(gate.read_text().replace(">= 0.90", ">= 0.80"))
        version(0.88)  # Saturday: a burst, and replica A (the webhook's) killed in the middle of it
        a.stop(signal.SIGKILL)
        version(0.89)
        pause("7", "a replica killed mid-burst")  # B sweeps up what A never heard
        a = Service(tmp_path, *args, env=env)
        client.test_webhook(webhook.webhook_id)  # Sunday: someone presses "test" in MLflow
        pause("7", "the test webhook")
        decided = b.call("GET", f"/v1/decisions?model={model}&kind=decision&limit=500").json()["decisions"]
        print(f"7 versions, a week of events: {len(decided)} decisions")  # noqa: T201 (the figure, with -s)
        assert len(decided) <= 4 * 7  # with the changes, not events x versions
        assert b.call("GET", "/v1/audit/verify").json()["ok"]
    finally:
        client.delete_webhook(webhook.webhook_id)
        a.stop()
        b.stop()
