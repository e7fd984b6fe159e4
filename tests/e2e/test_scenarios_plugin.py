"""The step library as a pytest plugin: the project's features under plain pytest, and a plugin that
loads nothing until a scenario needs it."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from ..helpers import ROOT


@pytest.mark.slow
def test_the_same_features_run_under_plain_pytest_with_the_plugin_options():
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/unit/test_features.py",  # binds features/, as a project's own module would
            "-q",
            "-p",
            "no:cacheprovider",
            "--pml-policies=policies/starter",
            "--pml-coverage",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert re.search(r"\d+ passed", out.stdout)
    assert "Rule coverage: 62 of 62 outcomes seen (100%)" in out.stdout


def test_the_pytest_plugin_is_inert_until_a_scenario_needs_it():
    """pytest loads the plugin (entry point pytest11) in every run of the environment: it must not
    pull in the engine, the adapters or pytest-bdd's steps on its own."""
    code = (
        "import sys, pml_policy.scenarios.plugin; print(sorted(m for m in sys.modules if m.startswith('pml_policy')))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    expected = ["pml_policy", "pml_policy.base", "pml_policy.base.errors", "pml_policy.scenarios"]
    assert loaded.strip() == str([*expected, "pml_policy.scenarios.plugin"])
