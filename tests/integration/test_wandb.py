"""The W&B adapter, on runs written by the real wandb library in offline mode."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import needs
from pml_policy.adapters import fetch

from ..helpers import ROOT, run_cli
from ..support.wandb import PROMOTION

needs("wandb", "wandb")


def offline_run(where: Path, body: str, project: str = "credit-scorer", check: bool = True) -> Path:
    """Train a 'model' with wandb in offline mode in `where`; returns wandb/latest-run."""
    where.mkdir(parents=True, exist_ok=True)
    script = f"import wandb\nrun = wandb.init(project={project!r}, mode='offline')\n" + textwrap.dedent(body)
    env = {**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true", "WANDB_DIR": str(where)}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=where, env=env, capture_output=True, text=True, timeout=120
    )
    if check:
        assert done.returncode == 0, done.stderr
    return where / "wandb" / "latest-run"


def test_an_offline_run_becomes_a_subject(tmp_path):
    run = offline_run(
        tmp_path,
        """
        run.config.update({"lr": 0.01, "model": {"depth": 6, "kind": "gbm"}})
        run.tags = ("candidate",)
        run.notes = "nightly build"
        run.define_metric("calibration", summary="none")  # logged only as history: no summary value
        for step in range(3):
            run.log({"val_auc": 0.80 + step * 0.02, "calibration": 0.05 - step * 0.01})
        run.summary["val_auc"] = 0.91                     # overwritten after the history
        run.summary["best"] = {"auc": 0.93}
        with open("model_card.md", "w") as f:
            f.write("# card")
        run.save("model_card.md", policy="now")
        run.finish()
    """,
    )
    s = fetch(str(run))
    assert s.source == "wandb" and s.model.name == "credit-scorer"
    assert s.metrics["val_auc"] == 0.91 and s.metrics["best.auc"] == 0.93
    assert s.metrics["calibration"] == pytest.approx(0.03)
    assert not any(k.startswith("_") for k in s.metrics)
    assert s.params == {"lr": 0.01, "model.depth": 6, "model.kind": "gbm"}
    assert s.tags == {"candidate": "true", "wandb.notes": "nightly build", "wandb.state": "finished"}
    card = next(a for a in s.artifacts if a.path == "model_card.md")
    # run.save() links the file from outside the run folder: listed, never read (hostile input issue)
    assert card.size == 6 and card.sha256 is None and s.card is None
    assert s.run.id and s.run.start_time is not None
    assert fetch(str(next(run.resolve().glob("run-*.wandb")))).digest == s.digest  # the log file alone reads the same


def test_a_model_card_written_into_the_run_is_read_as_card_evidence(tmp_path):
    run = offline_run(
        tmp_path,
        """
        import os
        run.log({"val_auc": 0.86})
        with open(os.path.join(run.dir, "model_card.md"), "w") as f:
            f.write("---\\nrisk_category: high\\ndatasets: [applications-2026-11]\\n---\\n# card\\n")
        run.finish()
    """,
    )
    s = fetch(str(run))
    assert s.card == {"risk_category": "high", "datasets": ["applications-2026-11"]}
    assert next(a for a in s.artifacts if a.path == "model_card.md").sha256 is not None


def test_summary_removals_and_logged_artifacts_are_replayed(tmp_path):
    run = offline_run(
        tmp_path,
        """
        run.log({"val_auc": 0.85, "scratch": 1.0})
        del run.summary["scratch"]
        art = wandb.Artifact("training-data", type="dataset")
        with open("rows.csv", "w") as f:
            f.write("a,b\\n1,2\\n")
        art.add_file("rows.csv")
        run.log_artifact(art)
        run.finish()
    """,
    )
    s = fetch(str(run))
    assert "scratch" not in s.metrics and s.metrics["val_auc"] == 0.85
    assert any(a.path == "wandb-artifacts/dataset/training-data" and a.size == 8 for a in s.artifacts)


@pytest.mark.slow
def test_a_run_that_failed_or_crashed_says_so(tmp_path):
    failed = offline_run(
        tmp_path / "failed",
        """
        run.log({"val_auc": 0.9})
        raise RuntimeError("training diverged")
    """,
        check=False,
    )
    assert fetch(str(failed)).tags["wandb.state"] == "failed"
    crashed = offline_run(
        tmp_path / "crashed",
        """
        import os, signal, time
        for step in range(3000):   # enough for wandb to have written whole blocks of its log
            run.log({"val_auc": 0.5 + step / 10000, "loss": 1 / (step + 1)})
        time.sleep(2)
        os.kill(os.getpid(), signal.SIGKILL)
    """,
        check=False,
    )
    s = fetch(str(crashed))
    assert s.tags["wandb.state"] == "crashed"
    assert 0.5 < s.metrics["val_auc"] < 0.8  # what the log holds up to the crash
    gate = tmp_path / "finished.pml"
    gate.write_text('policy "finished" version "1.0.0" { rule finished { require tags["wandb.state"] == "finished" } }')
    result = run_cli("check", str(crashed), "-p", str(gate))
    assert result.exit_code == 1 and 'tags["wandb.state"] = "crashed"' in result.stdout


def test_a_truncated_or_corrupt_log_is_a_clear_error(tmp_path):
    run = offline_run(tmp_path / "ok", "run.log({'val_auc': 0.85})\nrun.finish()\n")
    log = next(run.resolve().glob("run-*.wandb"))
    data = log.read_bytes()

    def damaged(name: str, content: bytes) -> Path:
        copy = tmp_path / name
        shutil.copytree(run.resolve(), copy)
        next(copy.glob("run-*.wandb")).write_bytes(content)
        return copy

    truncated = run_cli("check", str(damaged("truncated", data[:-5])), "-p", PROMOTION)
    assert truncated.exit_code == 3 and "truncated W&B log: it ends inside the record at byte" in truncated.stderr
    middle = len(data) // 2
    corrupt = run_cli(
        "check",
        str(damaged("corrupt", data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :])),
        "-p",
        PROMOTION,
    )
    assert corrupt.exit_code == 3 and "corrupt W&B log: bad checksum in the record at byte" in corrupt.stderr
    not_a_log = run_cli("check", str(damaged("garbage", b"hello world")), "-p", PROMOTION)
    assert not_a_log.exit_code == 3 and "not a W&B run log" in not_a_log.stderr
    assert "Traceback" not in truncated.output + corrupt.output + not_a_log.output


def test_the_same_metrics_decide_the_same_in_wandb_and_in_a_folder(tmp_path):
    metrics = json.loads((ROOT / "examples" / "credit-warn" / "metrics.json").read_text())
    run = offline_run(tmp_path / "train", f"run.log({metrics!r})\nrun.finish()\n")
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "metrics.json").write_text(json.dumps(metrics))
    (folder / "pml.yaml").write_text("model: {name: credit-scorer}\n")
    from_wandb = json.loads(run_cli("check", str(run), "-p", PROMOTION, "--format", "json").stdout)["decisions"][0]
    from_folder = json.loads(run_cli("check", str(folder), "-p", PROMOTION, "--format", "json").stdout)["decisions"][0]
    assert from_wandb["subject"]["source"] == "wandb"
    assert from_wandb["outcome"] == from_folder["outcome"]
    assert [(r["rule"], r["outcome"], r["message"]) for p in from_wandb["policies"] for r in p["rules"]] == [
        (r["rule"], r["outcome"], r["message"]) for p in from_folder["policies"] for r in p["rules"]
    ]
