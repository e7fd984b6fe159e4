"""One configuration for every command and the service (the CLI as a process, in a folder of its
own): pml-policy.toml or [tool.pml-policy] in pyproject.toml; a flag beats its environment
variable, which beats the file; `pml-policy config` says where each value came from, secrets
masked; a key no option has is one line and exit 2."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ..helpers import ROOT
from .serving import Service


def _pml(folder: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PML_", "MLFLOW_"))} | env
    return subprocess.run(
        [sys.executable, "-m", "pml_policy.cli", *args], cwd=folder, env=environment, capture_output=True, text=True
    )


def _sources(folder: Path, *args: str, **env: str) -> dict[str, tuple[object, str]]:
    shown = _pml(folder, "config", *args, "--format", "json", **env)
    assert shown.returncode == 0, shown.stderr
    return {row["option"]: (row["value"], row["from"]) for row in json.loads(shown.stdout)["options"]}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "policies" / "starter", tmp_path / "policies")
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    return tmp_path


def test_the_file_is_read_by_commands_and_a_flag_or_the_environment_beats_it(folder: Path):
    (folder / "pml-policy.toml").write_text(
        'audit = "sqlite:///from-file.db"\nchampion-alias = "prod"\n\n[check]\nfail-on = "warn"\n'
    )
    warned = _pml(folder, "check", "examples/credit-warn", "--champion", "examples/credit-champion")
    assert warned.returncode == 1, warned.stdout + warned.stderr  # [check] fail-on = "warn" from the file
    assert (folder / "from-file.db").exists()  # and the audit log the file names
    champion = ("--champion", "examples/credit-champion")
    flagged = _pml(folder, "check", "examples/credit-warn", *champion, "--fail-on", "fail")
    assert flagged.returncode == 0, flagged.stderr

    assert _sources(folder)["--audit"] == ("sqlite:///from-file.db", "file (pml-policy.toml)")
    assert _sources(folder, PML_AUDIT_URL="sqlite:///env.db")["--audit"] == (
        "sqlite:///env.db",
        "environment (PML_AUDIT_URL)",
    )
    assert _sources(folder)["--engine"] == ("python", "default")


def test_every_option_has_an_environment_variable_under_one_prefix(folder: Path):
    champion = ("--champion", "examples/credit-champion")
    warned = _pml(folder, "check", "examples/credit-warn", *champion, PML_CHECK_FAIL_ON="warn")
    assert warned.returncode == 1, warned.stderr  # check --fail-on, from PML_CHECK_FAIL_ON (click's auto prefix)
    assert _sources(folder, "audit", "list", PML_AUDIT_LIST_LIMIT="7")["--limit"] == (
        7,
        "environment (PML_AUDIT_LIST_LIMIT)",
    )


def test_serve_starts_from_the_file(folder: Path):
    (folder / "pml-policy.toml").write_text('[serve]\nlog-format = "text"\nwrite-wait = 3\n')
    service = Service(folder)
    try:
        assert service.call("GET", "/healthz").status_code == 200
        assert service.log.read_text().splitlines()[0].split(" ")[1:3] == ["INFO", "pml_policy.service"]  # text
    finally:
        service.stop()
    assert _sources(folder, "serve")["--write-wait"] == (3.0, "file (pml-policy.toml)")


def test_pyproject_holds_it_too_and_secrets_are_masked(folder: Path):
    (folder / "pyproject.toml").write_text(
        '[project]\nname = "governance"\n\n[tool.pml-policy]\naudit = "postgresql://gov:hunter2@db/governance"\n'
    )
    shown = _pml(folder, "config")
    assert shown.returncode == 0 and "file (pyproject.toml)" in shown.stdout, shown.stderr
    assert "hunter2" not in shown.stdout and "postgresql://gov:***@db/governance" in shown.stdout


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("prot = 8080\n", "prot: not an option several commands share"),
        ("[serve]\nprot = 8080\n", "[serve] prot: `pml-policy serve` has no such option"),
        ("[srve]\nport = 8080\n", "[srve] is not a command"),
        ("port = [\n", "not TOML"),
    ],
    ids=["top level", "in a table", "no such command", "not TOML"],
)
def test_a_wrong_file_is_one_line_and_exit_2(folder: Path, text: str, says: str):
    (folder / "pml-policy.toml").write_text(text)
    # `config` checks every table; any command the file's top level and table names; `serve` its table
    for command in ("config", "validate" if "[serve]" not in text else "serve"):
        done = _pml(folder, command)
        assert done.returncode == 2 and done.stderr.startswith(f"error: pml-policy.toml: {says}"), done.stderr
        assert len(done.stderr.splitlines()) == 2  # the error, and its hint
