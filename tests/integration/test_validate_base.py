"""`validate --base REF`: a policy whose text changed since a git revision needs a new version."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from ..helpers import ROOT, run_cli

GIT = ["git", "-c", "user.email=author@example.com", "-c", "user.name=author"]


@pytest.fixture
def repo(tmp_path, monkeypatch) -> Path:
    shutil.copytree(ROOT / "policies" / "starter", tmp_path / "policies")
    for cmd in (["init", "-q"], ["add", "."], ["commit", "-qm", "base"]):
        subprocess.run([*GIT, *cmd], cwd=tmp_path, check=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _edit(repo: Path, name: str, old: str, new: str) -> None:
    path = repo / "policies" / name
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new))


def test_a_changed_policy_that_keeps_its_version_fails_with_one_line(repo):
    _edit(repo, "promotion.pml", ">= 0.80", ">= 0.81")
    result = run_cli("validate", "--base", "HEAD")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        'policies/promotion.pml:2: policy "promotion-gate" changed since HEAD but keeps version "1.0.0": give it a '
        'new version (e.g. "1.0.1"), or decisions made under both texts share one',
        "1 policy changed since HEAD without a new version",
    ]
    _edit(repo, "promotion.pml", 'version "1.0.0"', 'version "1.0.1"')
    assert run_cli("validate", "--base", "HEAD").exit_code == 0


def test_a_version_that_goes_backwards_fails(repo):
    _edit(repo, "fairness.pml", 'version "1.0.0"', 'version "0.9.0"')
    result = run_cli("validate", "--base", "HEAD")
    assert result.exit_code == 2 and 'version "0.9.0" is lower than "1.0.0" at HEAD' in result.stderr


def test_comments_layout_and_new_policies_need_no_bump(repo):
    _edit(repo, "promotion.pml", ">= 0.80", ">=   0.80   # the floor the risk committee set")
    (repo / "policies" / "new.pml").write_text('policy "new" version "0.1.0" {\n  rule r {\n    require true\n  }\n}\n')
    (repo / "policies" / "reproducibility.pml").unlink()
    result = run_cli("validate", "--base", "HEAD")
    assert result.exit_code == 0, result.stderr
    assert "every changed policy has a new version since HEAD" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--base", "no-such-branch"], "validate --base: no-such-branch is not a commit in the repository at"),
        (["--base", "--output=/tmp/x"], "validate --base: --output=/tmp/x is not a commit in the repository at"),
        (["--base", "HEAD", "policies", str(ROOT / "policies" / "mlflow")], "is outside the repository at"),
    ],
)
def test_a_base_that_cannot_be_read_is_one_line_and_exit_2(repo, args, message):
    result = run_cli("validate", *args)
    assert result.exit_code == 2 and message in result.stderr.splitlines()[0], result.stderr


def test_policies_outside_any_repository_are_refused(tmp_path, monkeypatch):
    shutil.copytree(ROOT / "policies" / "starter", tmp_path / "policies")
    monkeypatch.chdir(tmp_path)
    result = run_cli("validate", "--base", "HEAD")
    assert result.exit_code == 2 and "policies is not in a git repository" in result.stderr
