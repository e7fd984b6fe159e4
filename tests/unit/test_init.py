"""`pml-policy init` and `packs` in process: a governance repository written from the packs, refused
or left untouched when it cannot be written whole."""

from __future__ import annotations

import json
import os

import pytest
import yaml

from pml_policy.usecases.scaffolding import PACKS

from ..helpers import ROOT, run_cli


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
    assert {h["id"] for h in hooks["repos"][0]["hooks"]} == {
        "pml-policy-validate",
        "pml-policy-analyze",
        "pml-policy-fmt",
    }
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
