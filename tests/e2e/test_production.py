"""The service re-checks champions on its schedule and shows a failing one in its metrics."""

from __future__ import annotations

import datetime as dt
import shutil
import uuid

import pytest

from ..helpers import ROOT, run_cli
from ..support.production import PRODUCTION, evidently_report


@pytest.mark.slow
def test_the_service_rechecks_on_its_schedule_and_shows_a_failing_champion(mlflow_server, tmp_path):
    import mlflow
    from mlflow import MlflowClient

    from ..mlflow_data import log_version
    from .serving import Service, _wait

    uri, model = mlflow_server.uri, f"sched-{uuid.uuid4().hex[:8]}"
    shutil.copytree(PRODUCTION, tmp_path / "policies" / "production")
    shutil.copytree(ROOT / "policies" / "mlflow", tmp_path / "policies" / "mlflow")
    (tmp_path / "context.yaml").write_text("monitored_columns: {credit: [income, age]}\n")
    client = MlflowClient(uri)
    for auc in (0.860, 0.863):
        log_version(uri, model, {"val_auc": auc}, tags={"use_case": "credit"}, artifacts={"model_card.md": "# card"})
        governed = run_cli(
            "govern",
            model,
            "-p",
            str(tmp_path / "policies"),
            "--apply",
            "--tracking-uri",
            uri,
            "--audit",
            f"sqlite:///{tmp_path}/audit.db",
        )
        assert governed.exit_code == 0, governed.output
    snapshot, _ = evidently_report(True, dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("monitoring")
    with mlflow.start_run(tags={"pml.monitors": f"{model}/2"}):
        mlflow.log_text(snapshot, "monitoring.json")
    service = Service(
        tmp_path,
        "--tracking-uri",
        uri,
        "--apply",
        "--recheck",
        "* * * * * */10",
        "--reconcile-every",
        "0",
        "--data",
        str(tmp_path / "context.yaml"),
    )
    try:
        # Every 10 s: the gauge says "failing" from v2's re-check until v1's, a tick later.
        _wait(
            lambda: f'pml_champion_failing{{model="{model}"}} 1.0' in service.call("GET", "/metrics").text,
            60,
            lambda: service.call("GET", "/metrics").text[-2000:],
        )
        _wait(
            lambda: client.get_registered_model(model).aliases == {"champion": "1"}, 60, "the champion reverted to v1"
        )
        # The alias moves inside the re-check's job, before the reconcile that follows it
        # in the same job ends and the job's result is written.
        _wait(
            lambda: any(
                j["event"] == "pml.recheck" and f"re-checked {model} version 2: fail" in (j["result"] or "")
                for j in service.call("GET", "/v1/inbox").json()
            ),
            30,
            lambda: service.call("GET", "/v1/inbox").text,
        )
    finally:
        service.stop()
