"""The public API as a user's type checker sees it: the wheel carries py.typed, and `mypy --strict`
on a short script, against the installed wheel, accepts a right call and names a wrong one."""

from __future__ import annotations

import sys

import pytest

from conftest import needs

from .processes import run

RIGHT = """\
import pml_policy

with pml_policy.Workspace.open(["policies/starter"], audit_url=None) as ws:
    checked: pml_policy.Checked = pml_policy.check(ws, ["examples/credit-pass"], fail_on="warn")
    code: int = checked.exit_code
    outcome: str = checked.decisions[0].outcome
    governed: pml_policy.Governed = pml_policy.govern(ws, "credit-scorer", candidates="new")
print(code, outcome, governed.model, pml_policy.__version__)
"""

WRONG = {
    "one reference, not a list": 'pml_policy.check(ws, "examples/credit-pass")',
    "policies where the workspace goes": 'pml_policy.check(["policies/starter"], ["examples/credit-pass"])',
    "a fail_on that does not exist": 'pml_policy.check(ws, ["examples/credit-pass"], fail_on="error")',
    "an option that does not exist": 'pml_policy.check(ws, ["examples/credit-pass"], engine="durable")',
    "a name the package does not have": "pml_policy.decide(ws)",
}


def _mypy(wheel_env, tmp_path, script: str):
    needs("mypy", "lint")
    (tmp_path / "script.py").write_text(script)
    # The user's mypy, reading pml-policy from where the wheel was installed (PEP 561: py.typed).
    python = str(wheel_env / "python")
    return run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--python-executable", python, "script.py"],
        tmp_path,
    )


@pytest.mark.slow
def test_strict_mypy_accepts_a_right_call_against_the_installed_wheel(wheel_env, tmp_path):
    checked = _mypy(wheel_env, tmp_path, RIGHT)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Success: no issues found in 1 source file" in checked.stdout


@pytest.mark.slow
@pytest.mark.parametrize("mistake", list(WRONG))
def test_strict_mypy_names_a_wrong_call(wheel_env, tmp_path, mistake):
    script = "import pml_policy\n\nws = pml_policy.Workspace.open([], audit_url=None)\n" + WRONG[mistake] + "\n"
    checked = _mypy(wheel_env, tmp_path, script)
    assert checked.returncode == 1, checked.stdout + checked.stderr
    (error,) = [line for line in checked.stdout.splitlines() if ": error:" in line]
    assert error.startswith("script.py:4: error:"), checked.stdout
