"""The CI files `init` writes, read by their consumers: GitHub's and GitLab's schemas (check-jsonschema's
vendored copies), the workflow's own steps run in order as a runner would for a pull request, and
pre-commit pointed at this repository's hooks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ..helpers import ROOT, run_cli
from .processes import run

BIN = Path(sys.executable).parent  # pml-policy, check-jsonschema and pre-commit of this environment
GIT = ["git", "-c", "user.email=author@example.com", "-c", "user.name=author"]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PML_", "GITHUB_")) and k != "PYTHONPATH"}
    return {**env, "PATH": f"{BIN}{os.pathsep}{env['PATH']}", **extra}


def _repository(tmp_path: Path, ci: str) -> Path:
    """A team's repository as init writes it, committed on main, with origin/main where a CI
    checkout (fetch-depth: 0) has it."""
    assert run_cli("init", str(tmp_path / "gov"), "--pack", "starter", "--ci", ci).exit_code == 0
    gov = tmp_path / "gov"
    for cmd in (["init", "-q", "-b", "main"], ["add", "."], ["commit", "-qm", "init"]):
        assert run([*GIT, *cmd], gov).returncode == 0
    assert run(["git", "update-ref", "refs/remotes/origin/main", "HEAD"], gov).returncode == 0
    return gov


@pytest.mark.parametrize(
    ("ci", "path", "schema"),
    [
        ("github", ".github/workflows/governance.yml", "vendor.github-workflows"),
        ("gitlab", ".gitlab-ci.yml", "vendor.gitlab-ci"),
    ],
)
def test_the_ci_file_init_writes_is_valid_for_its_ci_system(tmp_path, ci, path, schema):
    gov = _repository(tmp_path, ci)
    checked = run([str(BIN / "check-jsonschema"), "--builtin-schema", schema, str(gov / path)], gov)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    if ci == "github":
        workflow = yaml.safe_load((gov / path).read_text())
        job = workflow["jobs"]["policies"]
        assert workflow["permissions"] == {"contents": "read"} and job["timeout-minutes"] <= 30
        uploads = {
            s["with"]["name"]: s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-artifact")
        }
        assert uploads["scenarios"]["with"]["path"] == "scenarios.xml" and uploads["scenarios"]["if"] == "always()"
        assert uploads["counterexamples"]["with"]["path"] == "${{ runner.temp }}/counterexamples"
    else:
        job = yaml.safe_load((gov / path).read_text())["governance"]
        assert job["timeout"] and job["artifacts"]["reports"]["junit"] == "scenarios.xml"
        assert any("validate policies --base" in line for line in job["script"])
        assert "pml-policy analyze policies" in job["script"] and any(
            "pml-policy diff --base" in line for line in job["script"]
        )


# The conditions the workflow's steps use, as a runner evaluates them for a pull request without
# the audit-log secret. An unknown one fails the test: a new condition must be added here on purpose.
CONDITIONS = {
    "github.event_name == 'pull_request'": True,
    "github.event_name == 'pull_request' && env.PML_AUDIT_URL != ''": False,
    "always()": True,
}


def _pull_request(gov: Path) -> tuple[str, subprocess.CompletedProcess[str] | None]:
    """The workflow's steps for a pull request into main, in order, until one fails (as a runner
    does): `uses:` actions and the package install are the runner's, not ours, and are left out."""
    steps = yaml.safe_load((gov / ".github/workflows/governance.yml").read_text())["jobs"]["policies"]["steps"]
    env = _env(GITHUB_EVENT_NAME="pull_request", GITHUB_BASE_REF="main", RUNNER_TEMP=str(gov.parent / "runner"))
    env["GITHUB_STEP_SUMMARY"] = str(gov.parent / "summary.md")
    Path(env["RUNNER_TEMP"]).mkdir(exist_ok=True)  # a runner's temporary folder exists before any step
    for step in steps:
        if "run" not in step or step["run"].startswith("pip install") or not CONDITIONS[step.get("if", "always()")]:
            continue
        done = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=gov, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            return step.get("name", step["run"]), done
    return "", None


@pytest.mark.slow
def test_a_pull_request_that_edits_a_policy_without_a_bump_fails_the_workflow(tmp_path):
    gov = _repository(tmp_path, "github")
    gate = gov / "policies" / "starter" / "promotion.pml"
    assert run([*GIT, "checkout", "-qb", "raise-the-floor"], gov).returncode == 0
    gate.write_text(gate.read_text().replace(">= 0.80", ">= 0.81"))
    for feature in (gov / "features").glob("*.feature"):  # the scenarios follow the new floor
        feature.write_text(feature.read_text().replace("required >= 0.80", "required >= 0.81"))
    run([*GIT, "commit", "-qam", "raise the AUC floor"], gov)

    failed, done = _pull_request(gov)
    assert failed == "A new version for every changed policy" and done is not None
    assert 'policy "promotion-gate" changed since origin/main but keeps version "1.0.0"' in done.stderr

    gate.write_text(gate.read_text().replace('version "1.0.0"', 'version "1.1.0"'))
    run([*GIT, "commit", "-qam", "bump"], gov)
    assert _pull_request(gov) == ("", None)  # bumped: every step of the workflow passes
    # ...and the job summary says what the raised floor decides differently, with a counterexample
    # kept for the artifact: evidence that passed the old floor and fails the new one.
    summary = (gov.parent / "summary.md").read_text()
    assert (
        "### Semantic diff" in summary and "promotion-gate/auc_floor" in summary and "(old: pass, new: fail)" in summary
    )
    example = gov.parent / "runner" / "counterexamples" / "promotion-gate.auc_floor"
    assert (example / "metrics.json").is_file() and "pml-policy check" in (example / "README").read_text()


@pytest.mark.slow
def test_pre_commit_runs_the_hooks_of_this_repository(tmp_path):
    """A team points pre-commit at this repository (try-repo: as `repo:` would, from the working tree)."""
    gov = _repository(tmp_path, "none")
    env = _env(PRE_COMMIT_HOME=str(tmp_path / "pre-commit"))
    pre_commit = [str(BIN / "pre-commit"), "try-repo", str(ROOT)]
    valid = run([*pre_commit, "pml-policy-validate", "--all-files"], gov, env)
    assert valid.returncode == 0 and "Passed" in valid.stdout, valid.stdout + valid.stderr
    gate = gov / "policies" / "starter" / "promotion.pml"
    canonical = gate.read_text()
    gate.write_text(canonical.replace(">= 0.80", ">=0.80"))
    reformatted = run([*pre_commit, "pml-policy-fmt", "--all-files"], gov, env)
    assert reformatted.returncode == 1 and "files were modified by this hook" in reformatted.stdout
    assert gate.read_text() == canonical
    analyzed = run([*pre_commit, "pml-policy-analyze", "--all-files"], gov, env)
    assert analyzed.returncode == 0 and "Passed" in analyzed.stdout, analyzed.stdout + analyzed.stderr
    gate.write_text(canonical.replace(">= 0.80", ">= 0.80 and metrics.val_auc < 0.5"))
    dead = run([*pre_commit, "pml-policy-analyze", "--all-files"], gov, env)
    assert dead.returncode == 1 and "no subject can pass auc_floor" in dead.stdout, dead.stdout + dead.stderr
    gate.write_text("policy {")
    invalid = run([*pre_commit, "pml-policy-validate", "--all-files"], gov, env)
    assert invalid.returncode == 1 and "promotion.pml:1:" in invalid.stdout
