"""No secret in any output: secrets planted in every place a user can put them (URLs, their query
parameters, the environment) are searched for in everything pml-policy prints, records and reports."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ..helpers import ROOT
from ..mlflow_data import log_version

STARTER = str(ROOT / "policies" / "starter")


SECRETS = {  # the environment variables a user of MLflow, W&B, PostgreSQL and AWS has set
    "MLFLOW_TRACKING_PASSWORD": "mlflow-pw-0c1d",
    "MLFLOW_TRACKING_TOKEN": "mlflow-token-7e2f",
    "WANDB_API_KEY": "wandb-key-5a9b3c",
    "PGPASSWORD": "pg-env-pw-81aa",
    "AWS_SECRET_ACCESS_KEY": "aws-secret-42de",
    "GITHUB_TOKEN": "ghp-token-19cc",
}


IN_URLS = ("url-pw-3f3f", "query-pw-6b6b", "token-9d9d")


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pml_policy.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PML_", "MLFLOW_"))}
    return {**env, **SECRETS, "GITHUB_ACTIONS": "true", "GITHUB_RUN_ID": "77"}


def assert_nowhere(texts: list[str]) -> None:
    everything = "\n".join(texts)
    for secret in (*SECRETS.values(), *IN_URLS):
        assert secret not in everything, f"{secret} leaked"


def test_failures_never_print_a_secret(tmp_path):
    env = environment()
    ev = tmp_path / "ev"
    (ev).mkdir()
    (ev / "metrics.json").write_text('{"val_auc": 0.9}')
    database = run(
        ["check", "ev", "-p", STARTER, "--audit", f"postgresql://u:{IN_URLS[0]}@127.0.0.1:9/x?password={IN_URLS[1]}"],
        tmp_path,
        env,
    )
    registry = run(
        [
            "check",
            "models:/credit/1",
            "-p",
            STARTER,
            "--registry-timeout",
            "5",
            "--tracking-uri",
            f"http://u:{IN_URLS[0]}@127.0.0.1:9/?token={IN_URLS[2]}",
        ],
        tmp_path,
        env,
    )
    assert database.returncode == 3 and "u:***@127.0.0.1:9" in database.stderr
    assert registry.returncode == 3 and "MLflow at http://u:***@127.0.0.1:9/?token=***" in registry.stderr
    assert_nowhere([database.stdout, database.stderr, registry.stdout, registry.stderr])


@pytest.mark.slow
def test_a_whole_session_never_prints_records_or_reports_a_secret(mlflow_server, tmp_path):
    """check and govern against a real MLflow reached through a URL with a password and a token, with
    secrets in the environment; then every read of the log, and every report format."""
    model = "secrets-model"
    log_version(mlflow_server.uri, model, {"val_auc": 0.86}, {"lr": "0.1"}, {"use_case": "credit"})
    env = {**environment(), "PML_AUDIT_URL": f"sqlite:///{tmp_path}/audit.db"}
    host = mlflow_server.uri.removeprefix("http://")
    tracking = ["--tracking-uri", f"http://user:{IN_URLS[0]}@{host}"]  # basic auth, as requests reads it
    outputs = []
    for args in (
        ["check", f"models:/{model}/1", "-p", STARTER, *tracking, "--format", "json"],
        ["check", f"models:/{model}/1", "-p", STARTER, *tracking],
        ["govern", model, "-p", STARTER, *tracking],
        ["audit", "list"],
        ["audit", "show", "#1"],
        ["audit", "export"],
        ["audit", "export", "--format", "csv"],
        ["audit", "verify"],
        ["report", "--format", "html"],
        ["report", "--format", "md"],
        ["report", "--format", "json"],
    ):
        done = run(args, tmp_path, env)
        assert done.returncode in (0, 1), (args, done.stderr)
        outputs += [done.stdout, done.stderr]
    assert '"decisions"' in outputs[0] and "recorded" in outputs[2]  # the session did its work
    database = (tmp_path / "audit.db").read_bytes().decode("utf-8", errors="replace")
    assert_nowhere([*outputs, database])
