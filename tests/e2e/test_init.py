"""A new team starts from the wheel alone: built and installed into a fresh virtual environment,
`init` for every pack, and the CI workflow it writes green from the first pull request."""

from __future__ import annotations

import json
import os
import sys

import pytest
import yaml

from pml_policy.usecases.scaffolding import MIN_COVERAGE, PACKS

from ..helpers import run_cli
from .processes import run as _run


@pytest.mark.slow
def test_a_new_team_starts_from_the_wheel_alone(wheel_env, tmp_path):
    pml = str(wheel_env / "pml-policy")
    env = {k: v for k, v in os.environ.items() if k not in ("PML_AUDIT_URL", "PYTHONPATH")}
    env["PATH"] = f"{wheel_env}{os.pathsep}{env['PATH']}"
    work = tmp_path / "elsewhere"  # nowhere near the repository: what is used comes from the wheel
    work.mkdir()

    made = _run([pml, "init", "gov", "--pack", "starter", "--pack", "production"], work, env)
    assert made.returncode == 0, made.stderr
    gov = work / "gov"
    assert _run(["git", "init", "-q"], gov, env).returncode == 0
    validated = _run([pml, "validate"], gov, env)
    assert validated.returncode == 0 and "5 policies" in validated.stdout, validated.stderr
    tested = _run([pml, "test", "--coverage", "--min-coverage", "80"], gov, env)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "0 failed, 0 in error" in tested.stdout and "(100%)" in tested.stdout
    assert _run([pml, "fmt", "--check"], gov, env).returncode == 0

    # decisions to replay: the example runs init wrote, against the champion
    outcomes = [
        _run([pml, "check", f"examples/{e}", "--champion", "examples/credit-champion"], gov, env).returncode
        for e in ("credit-pass", "credit-warn", "credit-fail")
    ]
    assert outcomes == [0, 0, 1]
    # a pull request raises the AUC floor; impact says which versions it would fail
    gate = gov / "policies" / "starter" / "promotion.pml"
    gate.write_text(gate.read_text().replace(">= 0.80", ">= 0.855"))
    impact = _run([pml, "impact", "-p", "policies", "--format", "json", "--fail-on-change"], gov, env)
    assert impact.returncode == 1, impact.stderr
    found = json.loads(impact.stdout)
    assert found["replayed"] == 3 and found["summary"] == "1 of 3 versions would now fail: credit-scorer v9"
    (v9,) = found["changed"]
    assert (v9["before"], v9["after"]) == ("warn", "fail")
    assert [r["rule"] for r in v9["rules"]] == ["promotion-gate/auc_floor"]

    pdf = _run([pml, "report", "--period", "last-7d", "-o", "report.pdf", "--organisation", "Example Bank"], gov, env)
    assert pdf.returncode == 0, pdf.stderr
    assert (gov / "report.pdf").read_bytes()[:5] == b"%PDF-"


@pytest.mark.slow
@pytest.mark.parametrize("pack", list(PACKS))
def test_every_pack_alone_gives_a_green_first_pull_request(pack, tmp_path):
    """What the CI workflow init writes runs, for a repository of any one pack: valid, in canonical
    form, every scenario passing, and rule coverage at least what the workflow asks."""
    assert run_cli("init", str(tmp_path / "gov"), "--pack", pack).exit_code == 0
    gov, pml = tmp_path / "gov", [sys.executable, "-m", "pml_policy.cli"]
    for args in (["validate"], ["fmt", "--check"], ["test", "--coverage", "--min-coverage", str(MIN_COVERAGE)]):
        done = _run([*pml, *args], gov, {k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
        assert done.returncode == 0, f"{pack}: {args}: {done.stdout[-1500:]}{done.stderr[-1500:]}"
    assert "(100%)" in done.stdout and "0 failed, 0 in error" in done.stdout
    assert yaml.safe_load((gov / "pml-report.yaml").read_text())["sign_off"] == [
        "Model risk officer",
        "Head of ML platform",
    ]


@pytest.mark.slow
def test_serve_without_the_service_extra_says_how_to_install_it(wheel_env, tmp_path):
    # The wheel was installed with the [pdf] extra alone: no fastapi, no uvicorn, no prometheus_client.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PML_") and k != "PYTHONPATH"}
    done = _run([str(wheel_env / "pml-policy"), "serve"], tmp_path, env)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        "error: pml-policy serve needs fastapi, fastapi_offline, uvicorn, prometheus_client, pythonjsonlogger, which "
        "are not installed",
        "  hint: pip install 'pml-policy[service]'",
    ]
