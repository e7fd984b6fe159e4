"""The governance service as users run it: `pml-policy serve` in its own process, called over HTTP;
MLflow's own webhooks delivering to it from a real tracking server."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from .helpers import ROOT, run_cli
from .mlflow_data import _free_port, log_version

SECRET = "webhook-secret-for-tests"
INLINE = {
    "reference": "pushed-1",
    "model": {"name": "credit-scorer", "version": "12"},
    "run": {"git_commit": "3e1d0c9f77ab", "user": "ana"},
    "metrics": {"val_auc": 0.86, "val_auc_slice_young": 0.8, "val_ece": 0.02, "dp_gap": 0.01, "eo_gap": 0.01},
    "params": {"data_version": "v1"},
    "tags": {"use_case": "credit", "owner": "risk"},
    "artifacts": [{"path": "model_card.md", "size": 10}],
}


class Service:
    """`pml-policy serve` on a free loopback port, in a process group of its own."""

    def __init__(self, root: Path, *args: str, env: dict[str, str] | None = None, port: int | None = None) -> None:
        self.root, self.port = root, port or _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = root / "serve.log"
        command = [sys.executable, "-m", "pml_policy.cli", "serve", "--port", str(self.port), *args]
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("PML_", "MLFLOW_"))}
        environment.update({"PML_AUDIT_URL": f"sqlite:///{root}/audit.db", **(env or {})})
        self.process = subprocess.Popen(
            command,
            cwd=root,
            env=environment,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"serve exited with {self.process.returncode}: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"serve did not answer: {self.log.read_text()[-3000:]}")

    def call(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = {**kwargs.pop("headers", {}), **({"Authorization": f"Bearer {token}"} if token else {})}
        return httpx.request(method, self.url + path, headers=headers, timeout=60, **kwargs)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            self.process.wait(timeout=30)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "policies" / "starter", tmp_path / "policies")
    return tmp_path


@pytest.fixture
def service(workspace: Path):
    started = Service(workspace, env={"PML_WEBHOOK_SECRET": SECRET})
    yield started
    started.stop()


def signed(body: bytes, delivery: str | None = None, stamp: int | None = None, secret: str = SECRET) -> dict:
    delivery = delivery or str(uuid.uuid4())
    stamp = int(time.time()) if stamp is None else stamp
    mac = hmac.new(secret.encode(), f"{delivery}.{stamp}.".encode() + body, hashlib.sha256).digest()
    return {
        "X-MLflow-Delivery-Id": delivery,
        "X-MLflow-Timestamp": str(stamp),
        "X-MLflow-Signature": "v1," + base64.b64encode(mac).decode(),
        "Content-Type": "application/json",
    }


# ---- the decision API -------------------------------------------------------------------------


def test_pushed_evidence_is_decided_recorded_and_listed(service):
    answer = service.call("POST", "/v1/check", json={"subjects": [INLINE]})
    assert answer.status_code == 200, answer.text
    document = answer.json()
    assert document["schema"] == "pml-policy/check" and document["outcome"] == "pass"
    (record,) = document["audit"]["records"]
    listed = service.call("GET", "/v1/decisions").json()["decisions"]
    assert [d["id"] for d in listed] == [record["decision"]] and listed[0]["actor"] == "local-admin"
    one = service.call("GET", f"/v1/decisions/{record['decision'][:8]}").json()
    assert one["record"]["hash"] == record["hash"] and one["decision"]["outcome"] == "pass"
    # One shape per concept: the CLI prints the very document the service answers with.
    audit = f"sqlite:///{service.root}/audit.db"
    shown = run_cli("audit", "show", record["decision"][:8], "--format", "json", "--audit", audit)
    assert json.loads(shown.stdout) == one
    cli_list = json.loads(run_cli("audit", "list", "--format", "json", "--audit", audit).stdout)
    assert cli_list == listed
    assert service.call("GET", "/v1/audit/verify").json() == {
        "ok": True,
        "records": 1,
        "head": record["hash"],
        "problem": None,
    }
    metrics = service.call("GET", "/metrics").text
    assert 'pml_decisions_total{outcome="pass"} 1.0' in metrics


def test_decisions_come_in_pages(service):
    for n in range(5):
        subject = {**INLINE, "reference": f"pushed-{n}"}
        assert service.call("POST", "/v1/check", json={"subjects": [subject]}).status_code == 200
    first = service.call("GET", "/v1/decisions?limit=2").json()
    second = service.call("GET", first["next"]).json()
    third = service.call("GET", second["next"]).json()
    seqs = [d["seq"] for page in (first, second, third) for d in page["decisions"]]
    assert seqs == [5, 4, 3, 2, 1] and third["next"] is None


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        (b"[" * 100_000, 400, "nested deeper than the limit"),
        (b'{"refs": 5}', 422, "Input should be a valid list"),
        (b'{"refs": ["/etc"]}', 400, "the service reads model registries"),
        (b'{"refs": ["../policies"]}', 400, "the service reads model registries"),
        (b'{"subjects": [{"reference": "x", "metrics": {"a": 1, "a": 2}}]}', 400, 'the key "a" is given twice'),
        (b'{"unknown": 1}', 422, "Extra inputs are not permitted"),
        (b"{}", 422, "give `refs`"),
        (b"\xff\xfe", 400, "not JSON"),
        (b" " * (1 << 20) + b"{}", 413, "larger than 1,048,576 bytes"),
    ],
    ids=["deep", "mistyped", "a folder", "a relative folder", "a key twice", "unknown field", "empty", "bytes", "big"],
)
def test_hostile_requests_get_one_clear_problem(service, body, status, says):
    answer = service.call("POST", "/v1/check", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == status and answer.headers["content-type"] == "application/problem+json"
    assert says in answer.json()["detail"], answer.text
    assert service.call("GET", "/healthz").status_code == 200  # and the service lives on


def test_a_policy_reload_with_errors_is_refused_and_the_old_set_stays(service, workspace):
    (workspace / "policies" / "broken.pml").write_text('policy "b" version "1.0.0" { rule r { require } }')
    refused = service.call("POST", "/v1/policies/reload")
    assert refused.status_code == 422 and "broken.pml:1:" in refused.json()["errors"][0]
    assert len(service.call("GET", "/readyz").json()["policies"]) == 4
    (workspace / "policies" / "broken.pml").unlink()
    shutil.copy(ROOT / "tests" / "data" / "dsl_example.pml", workspace / "policies" / "extra.pml")
    assert service.call("POST", "/v1/policies/reload").status_code == 200
    assert len(service.call("GET", "/readyz").json()["policies"]) == 5
    (workspace / "policies" / "extra.pml").unlink()
    os.killpg(service.process.pid, signal.SIGHUP)  # a reload by signal, the same way
    _wait(lambda: len(service.call("GET", "/readyz").json()["policies"]) == 4, 10, "reloaded on SIGHUP")


# ---- who may do what --------------------------------------------------------------------------


def _token(workspace: Path, name: str, role: str) -> str:
    made = subprocess.run(
        [sys.executable, "-m", "pml_policy.cli", "token", "create", name, "--role", role, "--tokens", "tokens.yaml"],
        cwd=workspace,
        capture_output=True,
        text=True,
        check=True,
    )
    return made.stdout.strip()


def test_tokens_and_roles(workspace):
    reader, decider, admin = (
        _token(workspace, n, r) for n, r in (("dash", "read"), ("ci", "decide"), ("ops", "admin"))
    )
    stored = (workspace / "tokens.yaml").read_text()
    assert reader not in stored and hashlib.sha256(reader.encode()).hexdigest() in stored  # only the hash
    assert oct((workspace / "tokens.yaml").stat().st_mode & 0o777) == "0o600"
    service = Service(workspace, "--tokens", "tokens.yaml")
    try:
        check = {"json": {"subjects": [INLINE]}}
        matrix = [
            ("POST", "/v1/check", None, 401),
            ("POST", "/v1/check", "pml_not-a-token", 401),
            ("POST", "/v1/check", reader, 403),
            ("POST", "/v1/check", decider, 200),
            ("GET", "/v1/decisions", reader, 200),
            ("GET", "/v1/decisions", None, 401),
            ("POST", "/v1/policies/reload", decider, 403),
            ("POST", "/v1/policies/reload", admin, 200),
            ("POST", "/v1/check", admin, 200),
        ]
        for method, path, token, status in matrix:
            answer = service.call(method, path, token, **(check if path == "/v1/check" else {}))
            assert answer.status_code == status, (path, token, answer.text)
            if status in (401, 403):
                assert answer.headers["content-type"] == "application/problem+json"
        actors = {d["actor"] for d in service.call("GET", "/v1/decisions", reader).json()["decisions"]}
        assert actors == {"ci", "ops"}  # the token's name is the actor recorded
        log = service.log.read_text()
        assert reader not in log and decider not in log and admin not in log  # no token in any log line
    finally:
        service.stop()


def test_a_service_reachable_from_other_machines_needs_tokens(workspace):
    refused = subprocess.run(
        [sys.executable, "-m", "pml_policy.cli", "serve", "--host", "0.0.0.0"],
        cwd=workspace,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2 and "no --tokens file says who may call" in refused.stderr


# ---- webhooks ---------------------------------------------------------------------------------


def test_webhook_deliveries_are_verified_and_kept_once(service):
    body = json.dumps({"entity": "model_version", "action": "created", "data": {"name": "m", "version": "1"}}).encode()
    headers = signed(body)
    first = service.call("POST", "/v1/webhooks/mlflow", content=body, headers=headers)
    again = service.call("POST", "/v1/webhooks/mlflow", content=body, headers=headers)  # a replayed delivery id
    assert first.json() == {"accepted": True, "duplicate": False} and again.json() == {
        "accepted": False,
        "duplicate": True,
    }
    refused = [
        service.call("POST", "/v1/webhooks/mlflow", content=body, headers=signed(body, secret="another")),
        service.call("POST", "/v1/webhooks/mlflow", content=body, headers=signed(body, stamp=int(time.time()) - 600)),
        service.call("POST", "/v1/webhooks/mlflow", content=body + b" ", headers=headers),  # the body changed
        service.call("POST", "/v1/webhooks/mlflow", content=body),  # no signature at all
    ]
    assert [r.status_code for r in refused] == [401, 401, 401, 401]
    assert "timestamp is more than 300 s away" in refused[1].json()["detail"]
    jobs = service.call("GET", "/v1/inbox").json()
    assert len(jobs) == 1 and jobs[0]["event"] == "model_version.created"
    metrics = service.call("GET", "/metrics").text
    assert 'pml_webhook_deliveries_total{result="refused"} 4.0' in metrics
    assert 'pml_webhook_deliveries_total{result="duplicate"} 1.0' in metrics


# ---- on a real MLflow -------------------------------------------------------------------------


def _wait(condition: Any, seconds: float = 60, what: str = "") -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.25)
    raise AssertionError(f"not within {seconds} s: {what() if callable(what) else what}")


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
        assert any('alias "champion" -> version 3 was governance\'s own move' in r for r in results)  # no loop
        assert service.call("GET", "/v1/audit/verify").json()["ok"]
        metrics = service.call("GET", "/metrics").text
        assert 'pml_inbox_jobs_total{result="done"}' in metrics
        assert 'pml_decisions_total{outcome="fail"}' in metrics  # the workers' decisions count too
        assert 'pml_registry_changes_total{state="applied"}' in metrics  # tags, the alias and the revert
    finally:
        client.delete_webhook(webhook.webhook_id)
        service.stop()


def _versions(client: Any, model: str) -> dict[str, dict[str, str]]:
    return {str(v.version): v.tags for v in client.search_model_versions(f"name='{model}'")}


GOOD = {"val_auc_slice_young": 0.8, "val_ece": 0.02, "dp_gap": 0.01, "eo_gap": 0.01}
TAGS = {"use_case": "credit", "owner": "risk", "data.version": "v1"}


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


# ---- the whole API, fuzzed from its own OpenAPI document ---------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("webhooks", [True, False], ids=["webhooks on", "webhooks off"])
def test_no_request_the_openapi_document_allows_or_not_gets_a_5xx(workspace, webhooks, tmp_path):
    """schemathesis, as its CLI runs it: every route, with what the schema allows and what it does
    not; a 4xx problem or a success, never a server error."""
    pytest.importorskip("schemathesis")
    service = Service(workspace, env={"PML_WEBHOOK_SECRET": SECRET} if webhooks else {})
    try:
        assert service.call("POST", "/v1/check", json={"subjects": [INLINE]}).status_code == 200  # a record to read
        run = subprocess.run(
            [
                str(Path(sys.executable).with_name("schemathesis")),
                "run",
                f"{service.url}/openapi.json",
                "--checks",
                "not_a_server_error",
                "--max-examples",
                "40",
                "--seed",
                "20261203",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tmp_path,  # schemathesis keeps its cache (.schemathesis/) in the working folder: not the tree's
        )
        assert run.returncode == 0, run.stdout[-4000:]
        assert "Tested: 12" in run.stdout
    finally:
        service.stop()


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


@pytest.mark.slow
def test_when_the_database_goes_away_nothing_is_answered_as_recorded(workspace, postgres_url):
    import psycopg

    from conftest import PG_ADMIN_URL

    service = Service(workspace, env={"PML_WEBHOOK_SECRET": SECRET, "PML_AUDIT_URL": postgres_url})
    try:
        assert service.call("POST", "/v1/check", json={"subjects": [INLINE]}).status_code == 200
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{postgres_url.rsplit("/", 1)[1]}" WITH (FORCE)')
        check = service.call("POST", "/v1/check", json={"subjects": [INLINE]})
        body = json.dumps({"entity": "model_version", "action": "created", "data": {"name": "m", "version": "1"}})
        delivery = service.call("POST", "/v1/webhooks/mlflow", content=body, headers=signed(body.encode()))
        ready = service.call("GET", "/readyz")
        for answer in (check, delivery, ready):
            assert answer.status_code == 503 and answer.headers["content-type"] == "application/problem+json", (
                answer.text
            )
        assert "decision was not recorded" in check.json()["detail"]
        assert service.call("GET", "/healthz").status_code == 200  # alive, and says it is not ready
    finally:
        service.stop()


def test_a_lagging_inbox_is_not_ready(service, workspace):
    import sqlite3

    with sqlite3.connect(workspace / "audit.db") as db:  # a job that has waited an hour, not yet due again
        db.execute(
            "INSERT INTO pml_inbox (delivery_id, source, event, model, body, received, state, attempts, not_before) "
            "VALUES ('old', 'mlflow', 'model_version.created', 'm', '{}', '2026-12-03T00:00:00.000000Z', 'pending', "
            "1, '2999-01-01T00:00:00.000000Z')"
        )
    answer = service.call("GET", "/readyz")
    assert answer.status_code == 503 and "the inbox lags" in answer.json()["detail"]
    assert (
        float(
            next(
                line
                for line in service.call("GET", "/metrics").text.splitlines()
                if line.startswith("pml_inbox_oldest")
            ).split()[-1]
        )
        > 3600
    )
