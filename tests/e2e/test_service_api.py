"""The governance service's HTTP API as users call it: decisions, pages, hostile requests, reloads,
tokens, webhook deliveries, its OpenAPI document fuzzed, readiness."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pml_policy.audit.signing import keygen

from ..helpers import ROOT, run_cli
from ..mlflow_data import _free_port
from .serving import INLINE, SECRET, Service, _token, _wait, signed


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
    assert "pml_audit_records_appended_total 1.0" in metrics
    assert "process_resident_memory_bytes" in metrics and "python_gc_collections_total" in metrics


def test_a_pushed_version_may_be_a_number_as_pml_yaml_writes_it(service):
    numbered = {**INLINE, "model": {"name": "credit-scorer", "version": 12}}
    answer = service.call("POST", "/v1/check", json={"subjects": [numbered]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["decisions"][0]["subject"]["version"] == "12"
    for wrong in (0, -3, True, 1.5):
        refused = service.call("POST", "/v1/check", json={"subjects": [{**INLINE, "model": {"version": wrong}}]})
        assert refused.status_code == 422, (wrong, refused.text)


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
        (b'{"refs": ["/etc"]}', 403, "the service reads model registries"),
        (b'{"refs": ["../policies"]}', 403, "the service reads model registries"),
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


def test_a_method_a_route_does_not_take_is_405_with_allow(service):
    answer = service.call("DELETE", "/v1/check")
    assert answer.status_code == 405 and answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["allow"] == "POST"  # RFC 9110 15.5.6: a 405 names the methods the route takes


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


def test_a_policy_edited_without_a_new_version_is_refused_at_reload_sighup_and_start(service, workspace):
    assert service.call("POST", "/v1/check", json={"subjects": [INLINE]}).status_code == 200  # 1.0.0 recorded
    gate = workspace / "policies" / "promotion.pml"
    gate.write_text(gate.read_text().replace(">= 0.80", ">= 0.90"))  # edited, version "1.0.0" kept
    refused = service.call("POST", "/v1/policies/reload")
    assert refused.status_code == 422, refused.text
    assert 'policy "promotion-gate" version 1.0.0' in refused.json()["detail"]
    assert "bump `version`" in refused.json()["hint"]
    os.killpg(service.process.pid, signal.SIGHUP)
    _wait(lambda: "reload refused" in service.log.read_text(), 10, "the SIGHUP reload refused, said in the log")
    # The old set stays in force: the service is ready and still decides (and records) as before.
    ready = service.call("GET", "/readyz")
    assert ready.status_code == 200 and "promotion-gate 1.0.0" in ready.json()["policies"]
    again = service.call("POST", "/v1/check", json={"subjects": [{**INLINE, "reference": "pushed-2"}]})
    assert again.status_code == 200 and again.json()["outcome"] == "pass"
    service.stop()
    port = str(_free_port())
    started = subprocess.run(
        [sys.executable, "-m", "pml_policy.cli", "serve", "--port", port],
        cwd=workspace,
        env={**os.environ, "PML_AUDIT_URL": f"sqlite:///{workspace}/audit.db"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode == 2, started.stderr
    lines = [line for line in started.stderr.splitlines() if line.strip()]
    assert lines[0].startswith('error: policy "promotion-gate" version 1.0.0'), started.stderr
    assert "Traceback" not in started.stderr
    gate.write_text(gate.read_text().replace('version "1.0.0"', 'version "1.1.0"'))  # bumped: taken
    bumped = Service(workspace)
    try:
        assert "promotion-gate 1.1.0" in bumped.call("GET", "/readyz").json()["policies"]
    finally:
        bumped.stop()


def test_readiness_says_when_another_process_registered_a_policy_version_differently(service, workspace):
    gate = workspace / "policies" / "promotion.pml"
    elsewhere = workspace / "elsewhere"
    elsewhere.mkdir()
    edited = workspace / "edited.pml"
    edited.write_text(gate.read_text().replace(">= 0.80", ">= 0.90"))  # the same version, edited
    manifest = {k: v for k, v in INLINE.items() if k not in ("reference", "artifacts")}
    (elsewhere / "pml.yaml").write_text(json.dumps(manifest))
    checked = run_cli("check", str(elsewhere), "--policies", str(edited), "--audit", f"sqlite:///{workspace}/audit.db")
    assert checked.exit_code in (0, 1), checked.output  # recorded first: the log registered the edited 1.0.0
    ready = service.call("GET", "/readyz")
    assert ready.status_code == 503 and 'policy "promotion-gate" version 1.0.0' in ready.json()["detail"]


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


def test_a_recheck_schedule_names_its_next_run_and_one_that_never_fires_is_refused(workspace):
    never = subprocess.run(
        [sys.executable, "-m", "pml_policy.cli", "serve", "--port", "0", "--recheck", "0 0 30 2 *"],
        cwd=workspace,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert never.returncode == 2 and never.stderr.startswith("error: --recheck '0 0 30 2 *' never fires"), never.stderr
    service = Service(workspace, "--recheck", "0 6 * * * 30", "--reconcile-every", "0")  # seconds last: 06:00:30
    try:
        (line,) = [json.loads(x) for x in service.log.read_text().splitlines() if '"schedule"' in x]
        assert line["schedule"] == "0 6 * * * 30" and line["next"].endswith("T06:00:30Z"), line
    finally:
        service.stop()


def test_a_port_in_use_is_one_line_and_nothing_is_opened(workspace):
    with socket.create_server(("127.0.0.1", 0)) as holder:
        port = holder.getsockname()[1]
        refused = subprocess.run(
            [sys.executable, "-m", "pml_policy.cli", "serve", "--port", str(port), "--audit", "sqlite:///audit.db"],
            cwd=workspace,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.splitlines() == [  # and no start banner for a service that never started
        f"error: cannot listen on 127.0.0.1:{port}: Address already in use",
        "  hint: another process holds that port: stop it, or choose one with --port",
    ]
    assert not (workspace / "audit.db").exists()


def test_webhook_deliveries_are_verified_and_kept_once(service):
    body = json.dumps({"entity": "model_version", "action": "created", "data": {"name": "m", "version": "1"}}).encode()
    headers = signed(body)
    first = service.call("POST", "/v1/webhooks/mlflow", content=body, headers=headers)
    again = service.call("POST", "/v1/webhooks/mlflow", content=body, headers=headers)  # a replayed delivery id
    assert first.json() == {"accepted": True, "duplicate": False, "result": "queued"}
    assert again.json() == {"accepted": False, "duplicate": True, "result": "duplicate"}
    other = json.dumps({"entity": "registered_model", "action": "created", "data": {"name": "m"}}).encode()
    ignored = service.call("POST", "/v1/webhooks/mlflow", content=other, headers=signed(other))
    assert ignored.json() == {"accepted": True, "duplicate": False, "result": "ignored"}  # not one governance acts on
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
    assert 'pml_events_total{result="ignored"} 1.0' in metrics and 'pml_events_total{result="queued"} 1.0' in metrics


@pytest.mark.slow
@pytest.mark.parametrize("webhooks", [True, False], ids=["webhooks on", "webhooks off"])
def test_the_api_keeps_its_contract_with_every_check(workspace, webhooks, tmp_path):
    """schemathesis, as its CLI runs it, with every check and a valid token: every route, with what
    the schema allows and what it does not; each answer one the document declares (status, content
    type, schema), a schema-valid request accepted, a schema-violating one refused, never a 5xx."""
    pytest.importorskip("schemathesis")
    admin = _token(workspace, "ops", "admin")
    private, _ = keygen(workspace / "keys" / "audit")  # the proof routes sign: with a key they answer for real
    env = {"PML_AUDIT_SIGNING_KEY": str(private), **({"PML_WEBHOOK_SECRET": SECRET} if webhooks else {})}
    service = Service(workspace, "--tokens", "tokens.yaml", env=env)
    try:
        assert service.call("POST", "/v1/check", admin, json={"subjects": [INLINE]}).status_code == 200  # a record
        run = subprocess.run(
            [
                str(Path(sys.executable).with_name("schemathesis")),
                "run",
                f"{service.url}/openapi.json",
                "--checks",
                "all",
                "--header",
                f"Authorization: Bearer {admin}",
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
        assert "Tested: 17" in run.stdout and "unique failure" not in run.stdout
    finally:
        service.stop()


def test_the_openapi_document_is_valid_openapi(service):
    from openapi_spec_validator import validate

    validate(service.call("GET", "/openapi.json").json())  # raises on the first fault


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
            assert int(answer.headers["retry-after"]) > 0  # a client (or a load balancer) asks again later
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
