"""A third party's adapter, installed as a plugin, claims a folder before ours (the command in a process)."""

from __future__ import annotations

import os
import subprocess
import sys

from ..helpers import ROOT

PLUGIN = '''
from pml_policy.engine.subject import ModelInfo, Subject


class NotebookAdapter:
    """A third party's adapter: it claims folders that hold a notebook.json."""

    name = "notebook"

    def __init__(self, config):
        self.config = config

    @classmethod
    def handles(cls, ref):
        import os
        return os.path.isfile(os.path.join(ref, "notebook.json"))

    def fetch(self, ref):
        import json, os
        data = json.load(open(os.path.join(ref, "notebook.json")))
        model = ModelInfo(name=data["model"], version="1")
        return Subject(source="notebook", reference=ref, model=model, metrics=data["metrics"])
'''


def test_an_installed_adapter_can_claim_a_folder(tmp_path):
    """A plugin from the entry-point group pml_policy.adapters is asked before ours, folders included."""
    site = tmp_path / "site"
    (site / "notebook_adapter-1.0.dist-info").mkdir(parents=True)
    (site / "notebook_adapter.py").write_text(PLUGIN)
    (site / "notebook_adapter-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: notebook-adapter\nVersion: 1.0\n"
    )
    (site / "notebook_adapter-1.0.dist-info" / "entry_points.txt").write_text(
        "[pml_policy.adapters]\nnotebook = notebook_adapter:NotebookAdapter\n"
    )
    run = tmp_path / "run"
    run.mkdir()
    (run / "notebook.json").write_text('{"model": "credit-scorer", "metrics": {"val_auc": 0.5}}')
    (run / "metrics.json").write_text('{"val_auc": 0.99}')  # what the local adapter would have read
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pml_policy.cli",
            "check",
            str(run),
            "-p",
            "policies/starter/promotion.pml",
            "--no-audit",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1, result.stderr
    assert "metrics.val_auc = 0.5, required >= 0.80" in result.stdout
