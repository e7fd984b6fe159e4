"""The step library as a pytest plugin: the project's features under plain pytest, and a plugin that
loads nothing until a scenario needs it."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from ..helpers import ROOT

PLUGINS = ["-p", "pml_policy.scenarios.plugin", "-p", "pml_policy.scenarios.steps"]


def _pytest(project, *args: str, cwd=None) -> subprocess.CompletedProcess[str]:
    """A user's own pytest run in their project (no conftest or settings of ours, no autoloaded plugin)."""
    (project / "pytest.ini").write_text("[pytest]\n")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c", str(project / "pytest.ini"), *args],
        cwd=cwd or project,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_the_same_features_run_under_a_users_pytest_asked_for_with_p(tmp_path):
    (tmp_path / "test_features.py").write_text(
        f"from pytest_bdd import scenarios\n\nscenarios({str(ROOT / 'features')!r})\n"
    )
    policies = f"--pml-policies={ROOT / 'policies' / 'starter'}"
    # from the repository, where the features' example runs are; the test module is the user's
    out = _pytest(tmp_path, *PLUGINS, policies, "--pml-coverage", str(tmp_path / "test_features.py"), cwd=ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    assert re.search(r"\d+ passed", out.stdout)
    assert "Rule coverage: 62 of 62 outcomes seen (100%)" in out.stdout


def test_installing_pml_policy_adds_no_plugin_to_other_pytest_runs(tmp_path):
    (tmp_path / "test_one.py").write_text(
        "import sys\n\ndef test_nothing_of_ours_loaded():\n"
        "    assert not [m for m in sys.modules if m.startswith('pml_policy')]\n"
    )
    out = _pytest(tmp_path, "test_one.py")
    assert out.returncode == 0 and "1 passed" in out.stdout, out.stdout + out.stderr
    asked = _pytest(tmp_path, *PLUGINS, "test_one.py")  # asked for, the plugin is there
    assert asked.returncode == 1 and "test_nothing_of_ours_loaded" in asked.stdout


def test_the_pytest_plugin_is_inert_until_a_scenario_needs_it():
    """A project's pytest that asks for the plugin loads it in every run: it must not pull in the
    engine, the adapters or pytest-bdd's steps on its own."""
    code = (
        "import sys, pml_policy.scenarios.plugin; print(sorted(m for m in sys.modules if m.startswith('pml_policy')))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    expected = ["pml_policy", "pml_policy.base", "pml_policy.base.errors", "pml_policy.scenarios"]
    assert loaded.strip() == str([*expected, "pml_policy.scenarios.plugin"])
