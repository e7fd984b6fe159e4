"""The governance service beside a real MLflow server: its webhooks delivering events, the registry
governed, hand moves enforced, missed events swept up, kills survived, replicas on PostgreSQL."""

from __future__ import annotations

import json
import signal
import time
import uuid
from typing import Any

import pytest

from ..mlflow_data import log_version
from .serving import GOOD, SECRET, TAGS, Service, _versions, _wait, signed


@pytest.mark.slow
def test_mlflow_events_govern_the_registry_and_a_hand_moved_champion_is_put_back(mlflow_server, workspace):
    from mlflow import MlflowClient

    client = MlflowClient(mlflow_server.uri)
    model = f"svc-{uuid.uuid4().hex[:8]}"
    service = Service(
        workspace,
        "--tracking-uri",
        mlflow_server.uri,
        "--apply",
        env={"PML_WEBHOOK_SECRET": SECRET},
    )
    webhook = client.create_webhook(
        name=f"pml-{model}",
        url=f"{service.url}/v1/webhooks/mlflow",
        events=["model_version.created", "model_version_tag.set", "model_version_alias.created"],
        secret=SECRET,
    )
    try:
        assert service.call("GET", "/readyz").status_code == 200  # the registry it applies to answers
        assert "the registry is swept at start, then every 600 s" in service.log.read_text()  # the schedule, said
        time.sleep(1.5)  # the server's webhook cache (MLFLOW_WEBHOOK_CACHE_TTL=1)
        card = {"model_card.md": "# card"}
        tags = {"use_case": "credit", "owner": "risk", "data.version": "v1"}
        for auc in (0.78, 0.858, 0.86):  # v1 fails the floor; v3 is the best, v2 within the regression margin
            log_version(
                mlflow_server.uri,
                model,
                {"val_auc": auc, "val_auc_slice_young": 0.8, "val_ece": 0.02, "dp_gap": 0.01, "eo_gap": 0.01},
                {"lr": "0.1"},
                tags,
                card,
            )

        seen: list[Any] = []

        def governed() -> bool:
            versions = {str(v.version): v.tags for v in client.search_model_versions(f"name='{model}'")}
            statuses = {v: t.get("governance.status") for v, t in versions.items()}
            holder = str(client.get_registered_model(model).aliases.get("champion"))
            seen[:] = [holder, statuses]
            return holder == "3" and statuses == {"1": "rejected", "2": "approved", "3": "approved"}

        _wait(governed, 90, lambda: f"v3 champion, v1 rejected, v2 and v3 approved (seen: {seen})")
        asked = service.call("POST", "/v1/check", json={"refs": [f"models:/{model}/2"]})  # a deployment tool asks
        assert (
            asked.status_code == 200 and asked.json()["decisions"][0]["champion"]["reference"] == f"models:/{model}/3"
        )
        planned = service.call("POST", f"/v1/govern/{model}").json()  # a plan: everything is in effect already
        assert {c["state"] for c in planned["changes"]} <= {"unchanged", "outranked"} and not planned["applied"]
        client.set_registered_model_alias(model, "champion", "1")  # by hand, to the failing version
        _wait(lambda: str(client.get_registered_model(model).aliases.get("champion")) == "3", 60, "champion back on v3")
        listed = service.call("GET", "/v1/decisions?kind=change&limit=500").json()["decisions"]
        moves = [d for d in listed if d["model"] == model and d["outcome"] == "applied"]
        assert any(d["version"] == "3" for d in moves)  # the alias moves, recorded as registry changes
        jobs = _wait(
            lambda: (
                [j for j in service.call("GET", "/v1/inbox").json() if j["state"] != "done"] == []
                and service.call("GET", "/v1/inbox").json()
            ),
            30,
            "every inbox job done",
        )
        results = [j["result"] for j in jobs]
        assert any("moved by hand to version 1, whose decision is fail" in r for r in results), results
        # The revert's own webhook is recognised from its change record and never becomes a job: no loop.
        assert not [r for r in results if "moved by hand to version 3" in r], results
        assert service.call("GET", "/v1/audit/verify").json()["ok"]
        metrics = service.call("GET", "/metrics").text
        assert 'pml_inbox_jobs_total{result="done"}' in metrics
        # Echoes: recognised by the route when their change record was written first, else by the worker.
        assert (
            'pml_events_total{result="own_change"}' in metrics or 'pml_inbox_jobs_total{result="own_change"}' in metrics
        )
        assert 'pml_decisions_total{outcome="fail"}' in metrics  # the workers' decisions count too
        assert 'pml_registry_changes_total{state="applied"}' in metrics  # tags, the alias and the revert
    finally:
        client.delete_webhook(webhook.webhook_id)
        service.stop()


@pytest.mark.slow
def test_what_was_missed_while_the_service_was_down_is_governed_at_start(mlflow_server, workspace):
    from mlflow import MlflowClient

    client = MlflowClient(mlflow_server.uri)
    model = f"sweep-{uuid.uuid4().hex[:8]}"
    args = ("--tracking-uri", mlflow_server.uri, "--apply")  # the default schedule: a sweep at start
    log_version(mlflow_server.uri, model, {"val_auc": 0.84, **GOOD}, {"lr": "0.1"}, TAGS, {"model_card.md": "#"})
    service = Service(workspace, *args)  # sweeps at start: governs version 1 that it never heard of
    try:
        _wait(lambda: str(client.get_registered_model(model).aliases.get("champion")) == "1", 120, "v1 champion")
    finally:
        service.stop()
    log_version(mlflow_server.uri, model, {"val_auc": 0.86, **GOOD}, {"lr": "0.1"}, TAGS, {"model_card.md": "#"})
    service = Service(workspace, *args)  # registered while it was down: no event will ever come
    try:
        _wait(lambda: str(client.get_registered_model(model).aliases.get("champion")) == "2", 120, "v2 champion")
        assert _versions(client, model)["2"]["governance.status"] == "approved"
        sweeps = _wait(  # the server is shared: other tests' models are swept too; this one's are ours
            lambda: (
                [j for j in service.call("GET", "/v1/inbox").json() if j["source"] == "sweep" and j["model"] == model]
                if all(j["state"] in ("done", "dead") for j in service.call("GET", "/v1/inbox").json())
                else None
            ),
            120,
            "the sweep's jobs handled",
        )
        assert all(j["state"] == "done" for j in sweeps)
    finally:
        service.stop()
    again = Service(workspace, *args)  # nothing missed now: a sweep adds no job
    try:
        time.sleep(3)
        mine = [j for j in again.call("GET", "/v1/inbox").json() if j["source"] == "sweep" and j["model"] == model]
        assert len(mine) == len(sweeps)
    finally:
        again.stop()


@pytest.mark.slow
def test_a_job_cut_short_by_kill_9_is_finished_once_after_restart(mlflow_server, workspace):
    """The worker is inside the registry call (a server that never answers) when the service is
    killed; restarted against the real registry, the job runs again and is done, once."""
    from mlflow import MlflowClient

    client = MlflowClient(mlflow_server.uri)
    model = f"kill-{uuid.uuid4().hex[:8]}"
    log_version(mlflow_server.uri, model, {"val_auc": 0.86, **GOOD}, {"lr": "0.1"}, TAGS, {"model_card.md": "#"})
    silent = __import__("socket").create_server(("127.0.0.1", 0))  # accepts, never answers
    env = {"PML_WEBHOOK_SECRET": SECRET}
    hanging = Service(workspace, "--tracking-uri", f"http://127.0.0.1:{silent.getsockname()[1]}", "--apply", env=env)
    body = json.dumps({"entity": "model_version", "action": "created", "data": {"name": model, "version": "1"}})
    try:
        accepted = hanging.call("POST", "/v1/webhooks/mlflow", content=body, headers=signed(body.encode()))
        assert accepted.json()["accepted"]
        _wait(lambda: hanging.call("GET", "/v1/inbox").json()[0]["state"] == "running", 30, "the job running")
    finally:
        hanging.stop(signal.SIGKILL)
        silent.close()
    service = Service(workspace, "--tracking-uri", mlflow_server.uri, "--apply", "--reconcile-every", "0", env=env)
    try:
        (job,) = _wait(
            lambda: [j for j in service.call("GET", "/v1/inbox").json() if j["state"] == "done"], 60, "the job done"
        )
        assert job["attempts"] == 2 and job["result"].startswith(f"governed {model}")
        assert str(client.get_registered_model(model).aliases.get("champion")) == "1"
        assert service.call("GET", "/v1/audit/verify").json()["ok"]
    finally:
        service.stop()


@pytest.mark.slow
def test_two_replicas_on_postgresql_handle_each_delivery_exactly_once(mlflow_server, workspace, postgres_url):
    from mlflow import MlflowClient

    client = MlflowClient(mlflow_server.uri)
    models = [f"rep-{n}-{uuid.uuid4().hex[:6]}" for n in range(6)]
    for model in models:
        log_version(mlflow_server.uri, model, {"val_auc": 0.86, **GOOD}, {"lr": "0.1"}, TAGS, {"model_card.md": "#"})
    env = {"PML_WEBHOOK_SECRET": SECRET, "PML_AUDIT_URL": postgres_url}
    args = ("--tracking-uri", mlflow_server.uri, "--apply", "--reconcile-every", "0", "--workers", "2")
    replicas = [Service(workspace, *args, env=env), Service(workspace, *args, env=env)]
    try:
        for n, model in enumerate(models):
            body = json.dumps({"entity": "model_version", "action": "created", "data": {"name": model, "version": "1"}})
            headers = signed(body.encode())
            replicas[n % 2].call("POST", "/v1/webhooks/mlflow", content=body, headers=headers)
            replicas[(n + 1) % 2].call("POST", "/v1/webhooks/mlflow", content=body, headers=headers)  # MLflow's retry
        jobs = _wait(
            lambda: (
                (found := replicas[0].call("GET", "/v1/inbox").json())
                and all(j["state"] == "done" for j in found)
                and found
            ),
            90,
            "every job done",
        )
        assert sorted(j["model"] for j in jobs) == sorted(models)  # one job per delivery id
        assert all(j["attempts"] == 1 for j in jobs)  # each taken once
        assert len({j["claimed_by"].rsplit(":", 1)[0] for j in jobs}) == 2  # both replicas worked
        for model in models:
            assert str(client.get_registered_model(model).aliases.get("champion")) == "1"
            decided = replicas[1].call("GET", f"/v1/decisions?model={model}&kind=decision").json()["decisions"]
            assert len(decided) == 1  # governed once
        assert replicas[1].call("GET", "/v1/audit/verify").json()["ok"]
    finally:
        for replica in replicas:
            replica.stop()


@pytest.mark.slow
def test_with_enforce_flag_a_hand_moved_champion_stays_and_is_tagged(mlflow_server, workspace):
    from mlflow import MlflowClient

    client = MlflowClient(mlflow_server.uri)
    model = f"flag-{uuid.uuid4().hex[:8]}"
    service = Service(
        workspace,
        "--tracking-uri",
        mlflow_server.uri,
        "--apply",
        "--enforce",
        "flag",
        "--reconcile-every",
        "0",
        env={"PML_WEBHOOK_SECRET": SECRET},
    )
    webhook = client.create_webhook(
        name=f"pml-{model}",
        url=f"{service.url}/v1/webhooks/mlflow",
        events=["model_version.created", "model_version_alias.created"],
        secret=SECRET,
    )
    try:
        time.sleep(1.5)
        for auc in (0.86, 0.70):  # v1 passes and becomes champion; v2 fails the floor
            log_version(mlflow_server.uri, model, {"val_auc": auc, **GOOD}, {"lr": "0.1"}, TAGS, {"model_card.md": "#"})
        _wait(lambda: _versions(client, model).get("2", {}).get("governance.status") == "rejected", 60, "v2 rejected")
        client.set_registered_model_alias(model, "champion", "2")
        flagged = _wait(lambda: _versions(client, model)["2"].get("governance.violation"), 60, "v2 flagged")
        assert "moved by hand to version 2, whose decision is fail" in flagged
        assert str(client.get_registered_model(model).aliases.get("champion")) == "2"  # flagged, not moved
    finally:
        client.delete_webhook(webhook.webhook_id)
        service.stop()


def test_a_service_that_applies_is_not_ready_while_its_registry_does_not_answer(workspace):
    import socket

    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        gone = f"http://127.0.0.1:{closed.getsockname()[1]}"
    service = Service(workspace, "--tracking-uri", gone, "--apply", "--reconcile-every", "0")
    try:
        started = time.monotonic()
        ready = service.call("GET", "/readyz")
        assert ready.status_code == 503 and "the registry does not answer" in ready.json()["detail"], ready.text
        assert time.monotonic() - started < 10  # a probe waits 2 s at most, not the registry budget
        assert service.call("GET", "/healthz").status_code == 200  # alive, not ready
    finally:
        service.stop()
    planner = Service(workspace, "--tracking-uri", gone, "--reconcile-every", "0")  # plans only: nothing to apply
    try:
        assert planner.call("GET", "/readyz").status_code == 200
    finally:
        planner.stop()
