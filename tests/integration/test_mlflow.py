"""The MLflow adapter and `govern`, against a real MLflow tracking server started on loopback."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
import uuid
from pathlib import Path

import pytest

from ..helpers import recorded_then, run_cli
from ..mlflow_data import log_version
from ..support.mlflow import GATE

GOOD = {"val_auc": 0.86, "val_ece": 0.03}


@pytest.fixture
def model():
    return f"credit-{uuid.uuid4().hex[:8]}"


def _client(uri):
    from mlflow import MlflowClient

    return MlflowClient(uri)


def _three_versions(uri, model):
    """v1 below the floor, v2 good, v3 best; v1 holds the champion alias."""
    card = {"model_card.md": "# Model card"}
    versions = [
        log_version(uri, model, {"val_auc": 0.78}, {"lr": "0.1"}, {"use_case": "credit"}, card),
        log_version(uri, model, {"val_auc": 0.84}, {"lr": "0.05"}, {"use_case": "credit"}, card),
        log_version(uri, model, {"val_auc": 0.86}, {"lr": "0.01"}, {"use_case": "credit"}, card),
    ]
    _client(uri).set_registered_model_alias(model, "champion", "1")
    return versions


def test_a_model_version_becomes_a_subject_with_its_run_and_artifacts(uri, model):
    import mlflow

    from pml_policy.adapters.base import AdapterConfig
    from pml_policy.adapters.mlflow import MlflowAdapter

    version = log_version(
        uri,
        model,
        {"val_auc": 0.86},
        {"lr": "0.01", "depth": "6"},
        {"use_case": "credit"},
        {"model_card.md": "# card", "data/schema.json": "{}"},
    )
    client = _client(uri)
    client.set_model_version_tag(model, version, "use_case", "credit-cards")  # the version's own tag wins
    client.set_registered_model_alias(model, "challenger", version)
    mlflow.set_tracking_uri(uri)
    s = MlflowAdapter(AdapterConfig(tracking_uri=uri)).fetch(f"models:/{model}@challenger")
    assert (s.model.name, s.model.version, s.model.aliases) == (model, version, ["challenger"])
    assert s.metrics == {"val_auc": 0.86} and s.params == {"lr": "0.01", "depth": "6"}
    assert s.tags["use_case"] == "credit-cards" and s.run.git_commit == "c9f77ab3e1d0"
    assert s.run.user and s.run.start_time is not None
    assert [(a.path, a.size) for a in s.artifacts] == [("data/schema.json", 2), ("model_card.md", 6)]
    assert all(a.sha256 is None for a in s.artifacts)
    hashed = MlflowAdapter(AdapterConfig(tracking_uri=uri, hash_artifacts=True)).fetch(f"models:/{model}/{version}")
    assert hashed.artifacts[1].sha256 == hashlib.sha256(b"# card").hexdigest()


def test_the_latest_metric_value_is_read_and_datasets_are_named(uri, model):
    import mlflow
    import pandas as pd

    from pml_policy.adapters.base import AdapterConfig
    from pml_policy.adapters.mlflow import MlflowAdapter

    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("pml-tests")
    with mlflow.start_run() as run:
        for step, auc in enumerate([0.70, 0.80, 0.83]):
            mlflow.log_metric("val_auc", auc, step=step)
        mlflow.log_input(mlflow.data.from_pandas(pd.DataFrame({"x": [1, 2]}), name="loans-2026-10"), context="training")
    s = MlflowAdapter(AdapterConfig(tracking_uri=uri)).fetch(f"runs:/{run.info.run_id}")
    assert s.metrics["val_auc"] == 0.83
    assert s.run.datasets == ["loans-2026-10"]
    assert s.model.name is None


def test_a_logged_model_carries_its_own_metrics(uri):
    import mlflow

    from pml_policy.adapters.base import AdapterConfig
    from pml_policy.adapters.mlflow import MlflowAdapter

    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("pml-tests")
    with mlflow.start_run() as run:
        logged = mlflow.initialize_logged_model(name="scorer", source_run_id=run.info.run_id)
        mlflow.log_metric("val_auc", 0.91, model_id=logged.model_id)
        mlflow.log_metric("train_loss", 0.2)
    s = MlflowAdapter(AdapterConfig(tracking_uri=uri)).fetch(f"models:/{logged.model_id}")
    assert s.model.name == "scorer" and s.model.version is None
    assert s.metrics["val_auc"] == 0.91 and s.metrics["train_loss"] == 0.2
    assert s.run.id == run.info.run_id


def test_check_compares_with_the_alias_holder_and_records_it(uri, model):
    _three_versions(uri, model)
    result = run_cli("check", f"models:/{model}/2", "-p", GATE, "--format", "json")
    assert result.exit_code == 0, result.output
    (decision,) = json.loads(result.stdout)["decisions"]
    assert decision["champion"]["reference"] == f"models:/{model}/1"
    rules = {r["rule"]: r for p in decision["policies"] for r in p["rules"]}
    assert rules["no_regression"]["outcome"] == "pass"
    assert rules["no_regression"]["observed"] == {"metrics.val_auc": 0.84, "champion.metrics.val_auc": 0.78}


def test_govern_plans_without_changing_anything(uri, model, private_audit_log):
    _three_versions(uri, model)
    result = run_cli("govern", model, "-p", GATE)
    assert result.exit_code == 0, result.output
    assert "recorded in the audit log as a plan (not gating decisions" in result.stdout
    plans = json.loads(run_cli("audit", "list", "--kind", "plan", "--format", "json").stdout)
    assert len(plans) == 3 and {p["kind"] for p in plans} == {"plan"}
    assert json.loads(run_cli("audit", "list", "--kind", "decision", "--format", "json").stdout) == []
    report = json.loads(run_cli("report", "--period", "last-7d", "--format", "json", "-p", GATE).stdout)
    assert (report["totals"]["decisions"], report["totals"]["plans"], report["totals"]["versions"]) == (0, 3, 0)
    assert 'PLAN  planned    alias "champion" -> version 3  (from version 1)' in result.stdout
    assert (
        'outranked  alias "champion" -> version 2' not in result.stdout
    )  # v2 is judged against v3, the champion to be
    client = _client(uri)
    assert client.get_registered_model(model).aliases == {"champion": "1"}
    assert all("governance.status" not in client.get_model_version(model, v).tags for v in ("1", "2", "3"))


def test_govern_apply_promotes_the_best_passing_version_tags_all_and_is_idempotent(uri, model, private_audit_log):
    _three_versions(uri, model)
    first = run_cli("govern", model, "-p", GATE, "--apply")
    assert first.exit_code == 0, first.output
    client = _client(uri)
    assert client.get_registered_model(model).aliases == {"champion": "3"}
    status = {v: client.get_model_version(model, v).tags.get("governance.status") for v in ("1", "2", "3")}
    assert status == {"1": "rejected", "2": "rejected", "3": "approved"}

    second = run_cli("govern", model, "-p", GATE, "--apply")
    assert second.exit_code == 0, second.output
    assert "=> 4 unchanged" in second.stdout and "DONE" not in second.stdout

    with sqlite3.connect(private_audit_log.removeprefix("sqlite:///")) as db:
        applied = db.execute(
            "SELECT d.version, a.kind, a.name, a.value FROM pml_actions a JOIN pml_decisions d ON d.seq = "
            "a.decision_seq "
            "WHERE a.state = 'applied' ORDER BY a.id"
        ).fetchall()
    assert applied == [
        ("1", "set_tag", "governance.status", "rejected"),
        ("2", "set_tag", "governance.status", "rejected"),
        ("3", "set_tag", "governance.status", "approved"),
        ("3", "set_alias", "champion", None),
    ]
    assert run_cli("audit", "verify").exit_code == 0
    assert 'registry: applied set alias "champion" at ' in run_cli("audit", "show", "#3").stdout


def test_govern_selects_candidates(uri, model):
    _three_versions(uri, model)
    client = _client(uri)
    client.set_registered_model_alias(model, "challenger", "2")
    client.set_model_version_tag(model, "1", "governance.status", "rejected")
    by_alias = run_cli("govern", model, "-p", GATE, "--candidates", "challenger")
    assert "1 candidate version," in by_alias.stdout and "version 2 " in by_alias.stdout
    new = run_cli("govern", model, "-p", GATE, "--candidates", "new")
    assert "2 candidate versions" in new.stdout and "version 1 " not in new.stdout
    by_tag = run_cli("govern", model, "-p", GATE, "--candidates", "tag:governance.status=rejected")
    assert "1 candidate version," in by_tag.stdout and "version 1 " in by_tag.stdout


def test_check_apply_acts_on_one_subject(uri, model):
    _three_versions(uri, model)
    result = run_cli("check", f"models:/{model}/3", "-p", GATE, "--apply")
    assert result.exit_code == 0, result.output
    client = _client(uri)
    assert client.get_registered_model(model).aliases == {"champion": "3"}
    assert client.get_model_version(model, "3").tags["governance.status"] == "approved"
    refused = run_cli("check", "examples/credit-pass", "-p", "policies/starter", "--apply")
    assert refused.exit_code == 2 and "not in a model registry" in refused.stderr
    unrecorded = run_cli("check", f"models:/{model}/3", "-p", GATE, "--apply", "--no-audit")
    assert unrecorded.exit_code == 2 and "--apply and --no-audit cannot go together" in unrecorded.stderr


@pytest.mark.slow
def test_a_server_lost_halfway_leaves_the_log_true_and_a_rerun_finishes(mlflow_server, monkeypatch, private_audit_log):
    """The server dies after the first change; what the log says applied is what the registry has.
    (The session's server, killed and started again on its own store: one start fewer.)"""
    from pml_policy.adapters.base import AdapterConfig
    from pml_policy.adapters.mlflow import MlflowAdapter
    from pml_policy.engine import load
    from pml_policy.usecases.governing import decide_versions
    from pml_policy.usecases.plan import apply
    from pml_policy.usecases.recording import record
    from pml_policy.usecases.workspace import Workspace

    server = mlflow_server
    try:
        model = "doomed-model"
        _three_versions(server.uri, model)
        monkeypatch.setenv("MLFLOW_TRACKING_URI", server.uri)
        adapter = MlflowAdapter(AdapterConfig(tracking_uri=server.uri))
        ws = Workspace.open(load([GATE]), audit_url=private_audit_log, actor="tester")
        governed = decide_versions(ws, model, adapter)  # decided and planned; recorded, then applied by hand
        record(ws, governed)
        store = ws.log.store()
        started = time.monotonic()
        attempted = apply(governed.changes, adapter, recorded_then(store, server.stop))  # gone after the first change
        assert time.monotonic() - started < 60  # bounded: not minutes of retries
        assert [c.state for c in attempted] == ["applied", "failed"]
        assert [r["state"] for r in store.changes(attempted[0].decision_id)] == ["planned", "applied"]
        assert "MLflow at http://127.0.0.1" in store.changes(attempted[1].decision_id)[-1]["detail"]

        server.start()
        client = _client(server.uri)
        assert client.get_model_version(model, "1").tags.get("governance.status") == "rejected"  # the one applied
        assert client.get_model_version(model, "2").tags.get("governance.status") is None  # never made
        assert client.get_registered_model(model).aliases == {"champion": "1"}  # never promoted before its tags
        rerun = run_cli("govern", model, "-p", GATE, "--apply")
        assert rerun.exit_code == 0, rerun.output
        assert client.get_registered_model(model).aliases == {"champion": "3"}
        assert 'SAME  unchanged  tag governance.status = "rejected" on version 1' in rerun.stdout
    finally:
        if server.process is None:  # the other tests of the session go on with it
            server.start()


def test_an_unreachable_server_is_one_line_and_exit_3_within_seconds(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")  # nothing listens on the discard port
    started = time.monotonic()
    result = run_cli("check", "models:/credit/1", "-p", GATE)
    assert time.monotonic() - started < 60
    assert result.exit_code == 3
    assert result.stderr.startswith('error: MLflow at http://127.0.0.1:9: model "credit" version 1:')
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("ref", "words"),
    [
        ("models:/no-such-model/1", 'model "no-such-model" version 1'),
        ("models:/{model}/9", 'model "{model}" version 9'),
        ("models:/{model}@nope", 'alias "nope" of model "{model}"'),
    ],
)
def test_what_is_not_there_is_named(uri, model, ref, words):
    log_version(uri, model, GOOD)
    result = run_cli("check", ref.format(model=model), "-p", GATE)
    assert result.exit_code == 3
    assert words.format(model=model) in result.stderr and "hint:" in result.stderr


def test_govern_of_an_unknown_model_changes_nothing_and_exits_3(uri):
    result = run_cli("govern", "no-such-model", "-p", GATE, "--apply")
    assert result.exit_code == 3 and 'model "no-such-model"' in result.stderr


def test_govern_many_models_in_one_command_and_every_model_with_all(uri, tmp_path):
    """Several models: each governed as alone, one that cannot be read reported while the others go
    on, one summary at the end; --all takes every registered model a policy applies to."""
    names = [f"many-{uuid.uuid4().hex[:6]}" for _ in range(2)]
    for name in names:
        _three_versions(uri, name)
    both = run_cli("govern", *names, "no-such-model", "-p", GATE, "--apply")
    assert both.exit_code == 3, both.output
    from mlflow import MlflowClient

    assert all(MlflowClient(uri).get_registered_model(n).aliases == {"champion": "3"} for n in names)
    assert f'model "{names[0]}": 3 candidate versions' in both.stdout and f'model "{names[1]}"' in both.stdout
    assert 'error: model "no-such-model":' in both.stderr
    assert both.stdout.rstrip().endswith("3 models: 1 error, 2 governed")
    # --all takes the models a policy applies to: here only these (other tests share the server)
    scoped = tmp_path / "scoped.pml"
    text = (Path(GATE) / "champion-gate.pml").read_text().replace('applies to model "*"', 'applies to model "many-*"')
    scoped.write_text(text.replace('version "1.0.0"', 'version "1.0.1"'))  # other text: another version
    every = run_cli("govern", "--all", "-p", str(scoped))  # a plan: it changes nothing
    assert every.exit_code == 0, every.output
    assert all(f'model "{n}": 3 candidate versions, champion version 3' in every.stdout for n in names)
    last = every.stdout.splitlines()[-1]
    assert last.endswith(" planned") and int(last.split()[0]) >= 2
    refused = run_cli("govern", "--all", names[0], "-p", GATE)
    assert refused.exit_code == 2 and "name the models to govern, or pass --all (not both)" in refused.stderr


def test_the_file_store_works_too(tmp_path, model, monkeypatch):
    """MLflow without a server: a local file store (tracking and registry). MLflow 3.x keeps it
    in maintenance mode and asks for an explicit opt-in."""
    uri = (tmp_path / "mlruns").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    _three_versions(uri, model)
    refused = run_cli("govern", model, "-p", GATE, "--apply")  # the runs' artifacts are local paths
    assert refused.exit_code == 3 and "artifacts are on this machine's disk" in refused.stderr
    result = run_cli("govern", model, "-p", GATE, "--apply", "--allow-local-artifacts", str(tmp_path / "mlruns"))
    assert result.exit_code == 0, result.output
    assert _client(uri).get_registered_model(model).aliases == {"champion": "3"}


def test_govern_attests_each_decision_with_the_run_artifacts_a_deploy_step_downloads(uri, model, tmp_path):
    import mlflow

    from pml_policy.audit.signing import keygen

    _three_versions(uri, model)
    private, public = keygen(tmp_path / "audit")
    out = tmp_path / "attestations"
    governed = run_cli(
        "govern",
        model,
        "-p",
        GATE,
        "--apply",
        "--hash-artifacts",
        "--signing-key",
        str(private),
        "--attest-dir",
        str(out),
    )
    assert governed.exit_code == 0, governed.output
    assert "3 attestation(s) written to" in governed.stderr
    champion = _client(uri).get_model_version_by_alias(model, "champion")
    (chosen,) = out.glob(f"{model}-{champion.version}-*.intoto.json")
    # The deploy step downloads the champion's artifacts as MLflow serves them, and checks them.
    deployed = Path(mlflow.artifacts.download_artifacts(run_id=champion.run_id, dst_path=str(tmp_path / "model")))
    gate = run_cli("verify-attestation", str(chosen), "--public-key", str(public), "--model", str(deployed))
    assert gate.exit_code == 0 and gate.stdout.startswith(f"VERIFIED: models:/{model}/{champion.version} PASSED")
    (rejected,) = out.glob(f"{model}-1-*.intoto.json")
    refused = run_cli("verify-attestation", str(rejected), "--public-key", str(public))
    assert refused.exit_code == 1 and "did not pass: the decision's outcome is fail" in refused.stderr
