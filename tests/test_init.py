"""`pml-policy init` and `packs`: a governance repository from the packs in the wheel.

The first test is the issue's "done when", as a new user would run it: the wheel built and installed
into a fresh virtual environment (no clone), then init, git init, validate, test, a check, a changed
threshold, impact, and a PDF report, all from a folder outside the repository."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest
import yaml

from pml_policy.usecases.scaffolding import MIN_COVERAGE, PACKS

from .helpers import ROOT, run_cli


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def wheel_env(tmp_path_factory) -> Path:
    """A fresh virtual environment with only the built wheel (and its dependencies) installed."""
    where = tmp_path_factory.mktemp("wheel")
    build = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(where / "dist"), str(ROOT)], where)
    assert build.returncode == 0, build.stderr[-2000:]
    # The rough edge a newcomer hit: setuptools warned that the report templates were installed as data.
    assert "is absent from the `packages` configuration" not in build.stdout + build.stderr
    (wheel,) = (where / "dist").glob("pml_policy-*.whl")
    env_dir = where / "venv"
    venv.create(env_dir, with_pip=True)
    install = _run([str(env_dir / "bin" / "pip"), "install", "--quiet", f"{wheel}[pdf]"], where)
    assert install.returncode == 0, install.stderr[-2000:]
    return env_dir / "bin"


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


def test_packs_lists_every_pack_with_its_files():
    listed = json.loads(run_cli("packs", "--json").stdout)
    assert [p["name"] for p in listed] == list(PACKS)
    by_name = {p["name"]: p for p in listed}
    starter = ["documentation.pml", "fairness.pml", "promotion.pml", "reproducibility.pml"]
    assert by_name["starter"]["policies"] == starter
    assert by_name["eu-ai-act"]["scenarios"] == ["eu-ai-act.feature"]
    for pack in PACKS.values():  # every pack's files exist where the wheel takes them from
        assert pack.policy_files, pack.name
        for feature in pack.features:
            assert (ROOT / "features" / f"{feature}.feature").is_file()
        for example in pack.examples:
            assert (ROOT / "examples" / example).is_dir()
    text = run_cli("packs").stdout
    assert "eu-ai-act" in text and "not legal advice" in text


@pytest.mark.parametrize("ci", ["github", "gitlab"])
def test_init_writes_a_repository_whose_ci_runs_the_checks(tmp_path, ci):
    result = run_cli("init", str(tmp_path / "gov"), "--pack", "eu-ai-act", "--pack", "signoff", "--ci", ci)
    assert result.exit_code == 0, result.output
    gov = tmp_path / "gov"
    assert sorted(p.name for p in (gov / "policies").iterdir()) == ["eu-ai-act", "signoff"]
    assert (gov / "features" / "eu-ai-act.feature").is_file() and (gov / "examples" / "credit-high-risk").is_dir()
    assert ".pml/" in (gov / ".gitignore").read_text() and "mlartifacts/" in (gov / ".gitignore").read_text()
    hooks = yaml.safe_load((gov / ".pre-commit-config.yaml").read_text())
    assert {h["id"] for h in hooks["repos"][0]["hooks"]} == {"pml-policy-validate", "pml-policy-fmt"}
    if ci == "github":
        workflow = yaml.safe_load((gov / ".github/workflows/governance.yml").read_text())
        steps = " ".join(s.get("run", "") for s in workflow["jobs"]["policies"]["steps"])
        assert workflow["jobs"]["policies"]["env"]["PML_AUDIT_URL"] == "${{ secrets.PML_AUDIT_URL }}"
    else:
        job = yaml.safe_load((gov / ".gitlab-ci.yml").read_text())["governance"]
        steps = " ".join(job["script"])
    for command in ("validate", "fmt --check", "test features --coverage --min-coverage"):
        assert f"pml-policy {command}" in steps
    assert "pml-policy impact -p policies" in steps and "--format md" in steps
    readme = (gov / "README.md").read_text()
    assert "eu-ai-act, signoff" in readme and "[[" not in readme and "[%" not in readme


def test_init_refuses_to_overwrite_and_writes_nothing(tmp_path):
    gov = tmp_path / "gov"
    gov.mkdir()
    (gov / "README.md").write_text("ours\n")
    result = run_cli("init", str(gov))
    assert result.exit_code == 2
    assert "init would overwrite 1 file in" in result.stderr and "README.md" in result.stderr
    assert "nothing was written" in result.stderr
    assert sorted(p.name for p in gov.iterdir()) == ["README.md"] and (gov / "README.md").read_text() == "ours\n"


def test_a_failure_part_way_leaves_nothing(tmp_path, monkeypatch):
    """The disk fills up after some files were moved into place: those are taken away again, with
    the folders init made, and the one line says so."""
    import errno

    from pml_policy.usecases import scaffolding

    real, calls = os.replace, []

    def replace_until_full(src, dst):
        calls.append(dst)
        if len(calls) == 7:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(src, dst)

    monkeypatch.setattr(scaffolding.os, "replace", replace_until_full)
    gov = tmp_path / "gov"
    gov.mkdir()
    (gov / "notes.txt").write_text("ours\n")
    result = run_cli("init", str(gov))
    assert result.exit_code == 2 and "No space left on device; nothing was left" in result.stderr
    assert len(calls) == 7 and sorted(p.name for p in gov.iterdir()) == ["notes.txt"]


def test_a_file_where_init_needs_a_folder_is_refused_up_front(tmp_path):
    gov = tmp_path / "gov"
    gov.mkdir()
    (gov / "features").write_text("not a folder\n")
    result = run_cli("init", str(gov))
    assert result.exit_code == 2 and "features/promotion-gate.feature" in result.stderr
    assert sorted(p.name for p in gov.iterdir()) == ["features"]


def test_a_link_out_of_the_folder_is_never_written_through(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    gov = tmp_path / "gov"
    gov.mkdir()
    (gov / "policies").symlink_to(outside, target_is_directory=True)
    result = run_cli("init", str(gov))
    assert result.exit_code == 2 and "policies/starter" in result.stderr
    assert list(outside.iterdir()) == []


def test_init_into_a_file_or_an_unknown_pack_is_one_line(tmp_path):
    (tmp_path / "f").write_text("x")
    result = run_cli("init", str(tmp_path / "f"))
    assert result.exit_code == 2 and "Traceback" not in result.output
    unknown = run_cli("init", str(tmp_path / "g"), "--pack", "nope")
    assert unknown.exit_code == 2 and "'nope' is not one of" in unknown.stderr
    assert not (tmp_path / "g").exists()


def test_the_repositorys_own_features_are_the_packs(tmp_path, monkeypatch):
    """Every scenario file belongs to a pack (the wheel ships features/ whole), and a repository
    made from every pack at once validates and is in canonical form (no two packs collide)."""
    shipped = {f for p in PACKS.values() for f in p.features}
    assert {f.stem for f in (ROOT / "features").glob("*.feature")} == shipped
    args = [a for name in PACKS for a in ("--pack", name)]
    assert run_cli("init", str(tmp_path / "gov"), *args).exit_code == 0
    monkeypatch.chdir(tmp_path / "gov")
    validated = run_cli("validate")
    count = sum(line.startswith("policy ") for p in PACKS.values() for f in p.policy_files for line in f.open())
    assert validated.exit_code == 0 and f"{count} policies" in validated.stdout, validated.output
    assert run_cli("fmt", "--check").exit_code == 0


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
