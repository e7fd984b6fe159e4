"""W&B online runs mapped like offline ones, and an online reference without a key (no server needed)."""

from __future__ import annotations

import json

from conftest import needs

from ..helpers import ROOT, run_cli
from ..support.wandb import PROMOTION

needs("wandb", "wandb")


def test_an_online_run_maps_like_an_offline_one():
    """No W&B server is reachable here: the public API's own Run class is built from a payload of
    the fields its GraphQL RunFragment asks for (wandb 0.31), and read through our mapping."""
    from wandb.apis.public import Run

    from pml_policy.adapters.wandb import subject_from_api_run

    payload = json.loads((ROOT / "tests" / "data" / "wandb-run-fragment.json").read_text())
    run = Run(None, "acme", "credit-scorer", payload["name"], attrs=payload, lazy=False)
    s = subject_from_api_run("wandb:acme/credit-scorer/" + payload["name"], run)
    assert s.metrics == {"val_auc": 0.861, "best.auc": 0.87}
    assert s.params == {"lr": 0.01, "model.depth": 6}
    assert s.tags == {
        "candidate": "true",
        "wandb.notes": "nightly",
        "wandb.group": "nightly",
        "wandb.job_type": "train",
        "wandb.state": "finished",
    }
    assert (s.run.id, s.run.user, s.run.git_commit) == ("k3x9q2", "ana", "c9f77ab3e1d0")
    assert s.run.start_time.isoformat() == "2026-11-20T10:00:00+00:00"


def test_an_online_reference_without_a_key_says_what_to_set(monkeypatch):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    result = run_cli("check", "wandb:acme/credit-scorer/k3x9q2", "-p", PROMOTION)
    assert result.exit_code == 2 and "set WANDB_API_KEY" in result.stderr
