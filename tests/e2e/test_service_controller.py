"""The service as a controller beside a real MLflow server: a burst of registrations merged per
model, its own changes' webhooks recognised, deleted aliases and tags put back (by their events,
or by the sweep when the events were lost), and MLflow's test webhook settled at once."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import pytest

from ..helpers import run_cli
from ..mlflow_data import log_version
from .serving import EVENTS, GOOD, SECRET, TAGS, Service, _versions, _wait


def _metric(service: Service, name: str, result: str) -> float:
    found = re.search(rf'^{name}{{result="{result}"}} (\S+)$', service.call("GET", "/metrics").text, re.M)
    return float(found.group(1)) if found else 0.0


def _settled(service: Service, model: str) -> list[dict[str, Any]] | None:
    jobs = service.call("GET", "/v1/inbox?limit=500").json()
    if any(j["state"] in ("pending", "running") for j in jobs):
        return None
    return [j for j in jobs if j["model"] == model]


def _status(workspace: Any, uri: str, model: str) -> Any:
    audit = f"sqlite:///{workspace}/audit.db"
    return run_cli("status", model, "-p", str(workspace / "policies"), "--tracking-uri", uri, "--audit", audit)


def _champion(client: Any, model: str) -> str:
    return str(client.get_registered_model(model).aliases.get("champion"))


@pytest.mark.slow
def test_a_burst_is_merged_echoes_cost_nothing_and_deletions_are_put_back(mlflow_server, workspace):
    from mlflow import MlflowClient

    client = MlflowClient(mlflow_server.uri)
    model = f"ctl-{uuid.uuid4().hex[:8]}"
    args = ("--tracking-uri", mlflow_server.uri, "--apply", "--reconcile-every", "0")  # events alone
    service = Service(workspace, *args, env={"PML_WEBHOOK_SECRET": SECRET})
    url = f"{service.url}/v1/webhooks/mlflow"
    webhook = client.create_webhook(name=f"pml-{model}", url=url, events=EVENTS, secret=SECRET)
    try:
        time.sleep(1.5)  # the server's webhook cache (MLFLOW_WEBHOOK_CACHE_TTL=1)
        log_version(mlflow_server.uri, model, {"val_auc": 0.86, **GOOD}, {"lr": "0.1"}, TAGS, {"model_card.md": "#"})
        _wait(lambda: _champion(client, model) == "1", 60, "v1 champion")
        first = client.get_model_version(model, "1")
        for _ in range(6):  # a burst: six versions of the same run, registered back to back
            client.create_model_version(model, source=first.source, run_id=first.run_id)

        def converged() -> bool:
            statuses = {v: t.get("governance.status") for v, t in _versions(client, model).items()}
            return _champion(client, model) == "7" and set(statuses.values()) == {"approved"}

        _wait(converged, 90, lambda: f"v7 champion, every version approved: {_versions(client, model)}")
        jobs = _wait(lambda: _settled(service, model), 60, "every job settled")
        created = [j for j in jobs if j["event"] == "model_version.created"]
        assert len(created) < 7, created  # seven registrations, fewer reconciles: the burst merged
        assert _metric(service, "pml_events_total", "merged") >= 1
        # The tags the service set came back as webhooks: recognised, none governed the model again.
        echoes = [j for j in jobs if j["event"] == "model_version_tag.set"]
        assert not [j for j in echoes if j["result"].startswith("governed")], echoes
        # Recognised by the route when its change record was written first, else by the worker.
        assert (
            _metric(service, "pml_events_total", "own_change") + _metric(service, "pml_inbox_jobs_total", "own_change")
            >= 1
        )
        decided = service.call("GET", f"/v1/decisions?model={model}&kind=decision&limit=500").json()["decisions"]
        print(f"7 versions: {len(created)} reconciles, {len(decided)} decisions")  # noqa: T201 (the figures, with -s)
        assert len(decided) <= 2 * 7  # recorded when they say something new, not at every event

        client.delete_registered_model_alias(model, "champion")  # by hand
        _wait(lambda: _champion(client, model) == "7", 30, "the champion alias put back on v7")
        client.delete_model_version_tag(model, "7", "governance.status")
        _wait(lambda: _versions(client, model)["7"].get("governance.status") == "approved", 30, "the tag put back")
        client.set_model_version_tag(model, "3", "governance.status", "rejected")  # forged
        _wait(lambda: _versions(client, model)["3"].get("governance.status") == "approved", 30, "the forgery undone")
        _wait(lambda: _settled(service, model), 60, "every job settled")
        after = service.call("GET", f"/v1/decisions?model={model}&kind=decision&limit=500").json()["decisions"]
        # Putting back a tag needs no decision; the deleted alias costs the version that held it two
        # (judged without a champion while the alias was gone, then with it again), no other version any.
        new = [d["version"] for d in after[: len(after) - len(decided)]]
        assert set(new) <= {"7"} and len(new) <= 2, new
        assert service.call("GET", "/v1/audit/verify").json()["ok"]
        shown = _status(workspace, mlflow_server.uri, model)
        assert (
            shown.exit_code == 0 and f"{model}: synced" in shown.stdout and "champion: 7 (desired: 7)" in shown.stdout
        )
    finally:
        client.delete_webhook(webhook.webhook_id)
        service.stop()


@pytest.mark.slow
def test_deletions_made_while_the_service_was_down_are_found_by_the_sweep(mlflow_server, workspace):
    from mlflow import MlflowClient

    client = MlflowClient(mlflow_server.uri)
    model = f"drift-{uuid.uuid4().hex[:8]}"
    args = ("--tracking-uri", mlflow_server.uri, "--apply")  # the default: a sweep at start
    log_version(mlflow_server.uri, model, {"val_auc": 0.86, **GOOD}, {"lr": "0.1"}, TAGS, {"model_card.md": "#"})
    audit = f"sqlite:///{workspace}/audit.db"
    governed = run_cli(
        "govern",
        model,
        "--apply",
        "-p",
        str(workspace / "policies"),
        "--tracking-uri",
        mlflow_server.uri,
        "--audit",
        audit,
    )
    assert governed.exit_code == 0 and _champion(client, model) == "1", governed.output
    service = Service(workspace, *args)  # adopts a registry the CLI governed: its changes are governance's own
    try:
        time.sleep(3)
        assert _wait(lambda: _settled(service, model) is not None, 60, "every job settled")
        assert _settled(service, model) == []  # the sweep found nothing to do for it
    finally:
        service.stop()
    client.delete_registered_model_alias(model, "champion")  # no service to hear of it
    client.delete_model_version_tag(model, "1", "governance.status")
    shown = _status(workspace, mlflow_server.uri, model)
    assert shown.exit_code == 1 and f"{model}: out-of-sync" in shown.stdout, shown.output
    assert 'alias "champion" -> version 1 (now: absent)' in shown.stdout
    assert 'tag governance.status = "approved" on version 1 (now: absent)' in shown.stdout
    service = Service(workspace, *args)
    try:
        _wait(lambda: _champion(client, model) == "1", 120, "the champion alias put back by the sweep")
        _wait(lambda: _versions(client, model)["1"].get("governance.status") == "approved", 30, "the tag put back")
        swept = _wait(lambda: _settled(service, model), 60, "every job settled")
        drifts = [j for j in swept if j["delivery_id"].startswith("sweep:drift:")]
        assert drifts and all(j["state"] == "done" for j in drifts), swept
        answer = service.call("GET", f"/v1/models/{model}").json()
        assert answer["sync"] == "synced" and answer["champion"] == {"desired": "1", "live": "1"}, answer
        assert answer["tags"]["1"]["governance.status"] == {"desired": "approved", "live": "approved"}
        assert service.call("GET", "/v1/models/no-such-model").status_code == 404
        assert "last reconcile:" in _status(workspace, mlflow_server.uri, model).stdout  # the sweep's, from the inbox
    finally:
        service.stop()
    again = Service(workspace, *args)  # converged: the sweep finds nothing to do
    try:
        time.sleep(3)
        assert len(_settled(again, model) or []) == len(swept)
    finally:
        again.stop()


@pytest.mark.slow
def test_mlflows_test_webhook_is_settled_at_once_and_can_be_discarded(mlflow_server, workspace):
    from mlflow import MlflowClient

    client = MlflowClient(mlflow_server.uri)
    service = Service(
        workspace,
        "--tracking-uri",
        mlflow_server.uri,
        "--apply",
        "--reconcile-every",
        "0",
        env={"PML_WEBHOOK_SECRET": SECRET},
    )
    webhook = client.create_webhook(
        name=f"pml-test-{uuid.uuid4().hex[:6]}", url=f"{service.url}/v1/webhooks/mlflow", events=EVENTS, secret=SECRET
    )
    try:
        tested = client.test_webhook(webhook.webhook_id)
        assert tested.success, tested
        (job,) = _wait(
            lambda: [
                j
                for j in service.call("GET", "/v1/inbox").json()
                if j["model"] == "example_model" and j["state"] == "dead"
            ],
            30,
            "the test event a dead letter",
        )
        assert job["attempts"] == 1 and "not retried" in job["last_error"], job  # no 13 minutes of backoff
        ready = service.call("GET", "/readyz")
        assert ready.status_code == 200 and ready.json()["inbox"]["pending"] == 0
        discarded = service.call("POST", f"/v1/inbox/{job['id']}/discard")
        assert discarded.status_code == 200 and discarded.json()["state"] == "discarded"
        assert service.call("POST", f"/v1/inbox/{job['id']}/discard").status_code == 409  # only pending or dead
        assert service.call("POST", "/v1/inbox/999999/discard").status_code == 404
    finally:
        client.delete_webhook(webhook.webhook_id)
        service.stop()
