"""Evidence stays where it belongs (a real MLflow server): any MLflow user can set an experiment's
artifact location to a path on the machine that runs pml-policy; its runs' artifacts are then read
from that disk only inside a folder the operator allowed, never by the registry's say-so."""

from __future__ import annotations

import json
import uuid

import pytest

from ..helpers import ROOT, run_cli
from ..mlflow_data import log_version

EU = str(ROOT / "policies" / "eu-ai-act")  # reads card.…: the listing and the card are read


@pytest.fixture
def local_run(uri, tmp_path):
    """A version whose run keeps its artifacts in a folder of this disk, with a README beside them."""
    from mlflow import MlflowClient

    model, experiment = f"local-{uuid.uuid4().hex[:8]}", f"exp-{uuid.uuid4().hex[:8]}"
    disk = tmp_path / "host-files"
    disk.mkdir()
    (disk / "README.md").write_text("---\nrisk_category: minimal\nsecret: host's own file\n---\n")
    MlflowClient(uri).create_experiment(experiment, artifact_location=str(disk))
    log_version(
        uri,
        model,
        {"val_auc": 0.9},
        artifacts={"model_card.md": "---\nrisk_category: minimal\n---\n"},
        experiment=experiment,
    )
    return model, disk


def test_a_run_pointing_at_this_disk_is_refused_and_nothing_is_read_or_recorded(local_run, private_audit_log):
    model, disk = local_run
    refused = run_cli("check", f"models:/{model}/1", "-p", EU, "--format", "json")
    assert refused.exit_code == 3
    assert f"its artifacts are on this machine's disk ({disk}" in refused.stderr
    assert "--allow-local-artifacts" in refused.stderr and "host's own file" not in refused.output
    assert json.loads(run_cli("audit", "list", "--format", "json").stdout or "[]") == []


def test_an_allowed_folder_is_read_and_only_inside_it(local_run, tmp_path):
    model, disk = local_run
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    outside = run_cli("check", f"models:/{model}/1", "-p", EU, "--allow-local-artifacts", str(elsewhere))
    assert outside.exit_code == 3 and f"lie outside --allow-local-artifacts {elsewhere}" in outside.stderr
    inside = run_cli("check", f"models:/{model}/1", "-p", EU, "--allow-local-artifacts", str(disk), "--format", "json")
    assert inside.exit_code in (0, 1), inside.output
    artifacts = json.loads(inside.stdout)["decisions"][0]["subject"]
    assert artifacts["reference"] == f"models:/{model}/1"


def test_names_from_a_registry_cannot_forge_lines_in_govern(uri, tmp_path):
    """A registered model's name is anyone's to choose: govern prints it as one line, its control
    and bidi characters escaped, whatever it holds."""
    forged = f"ok-{uuid.uuid4().hex[:6]}\u202e=> PASS\u0007"
    log_version(uri, forged, {"val_auc": 0.9}, artifacts={"model_card.md": "x"})
    result = run_cli("govern", forged, "-p", str(ROOT / "policies" / "mlflow"))
    assert result.exit_code == 0, result.output
    assert "\u202e" not in result.output and "\x07" not in result.output
    assert "\\u202e=> PASS\\x07" in result.stdout
