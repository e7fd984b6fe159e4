"""`diff --base REF`: the policies at a git revision (read from git, never checked out) against the
working tree's."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

pytest.importorskip("z3", reason="pml-policy[analyze] is not installed")

from ..helpers import run_cli  # noqa: E402
from ..unit.test_semantic_diff import PROMOTION, check_outcomes  # noqa: E402


def _diff(*args: str) -> tuple[int, dict]:
    done = run_cli("diff", *args, "-f", "json")
    return done.exit_code, json.loads(done.stdout) if done.stdout else {}


def test_base_compares_with_the_policies_at_a_git_revision(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "policies").mkdir(parents=True)
    shutil.copy(PROMOTION, repo / "policies" / "promotion.pml")
    git = ["git", "-c", "user.email=a@example.com", "-c", "user.name=a"]
    for cmd in (["init", "-q"], ["add", "."], ["commit", "-qm", "main"]):
        subprocess.run([*git, *cmd], cwd=repo, check=True)
    gate = repo / "policies" / "promotion.pml"
    gate.write_text(gate.read_text().replace(">= 0.80", ">= 0.82"))
    examples = tmp_path / "examples"
    code, diff = _diff("--base", "HEAD", str(repo / "policies"), "--write-example", str(examples))
    assert code == 1 and [d["rule"] for d in diff["differences"]] == ["auc_floor"]
    base = examples / "base-policies"  # kept beside the examples: their README reads it
    assert (base / "policies" / "promotion.pml").read_text() == PROMOTION.read_text()
    assert check_outcomes(diff["differences"][0]["check"], base)["promotion-gate/auc_floor"] == "pass"


def test_a_revision_that_is_not_there_is_one_line_and_exit_2(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "policies").mkdir(parents=True)
    shutil.copy(PROMOTION, repo / "policies" / "promotion.pml")
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    done = run_cli("diff", "--base", "no-such-ref", str(repo / "policies"))
    assert done.exit_code == 2 and done.stderr.startswith("error: diff --base: no-such-ref is not a commit")
    outside = run_cli("diff", "--base", "HEAD", str(tmp_path / "nowhere"))
    assert outside.exit_code == 2 and "Traceback" not in outside.stderr
