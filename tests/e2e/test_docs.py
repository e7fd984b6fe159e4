"""The docs site builds without a warning, and every console example in it (and in the README)
prints what the page shows when a new user runs it (tests/support/docs_examples.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ..helpers import ROOT
from ..support.docs_examples import PAGES, blocks, differences, services
from ..support.docs_services import started

EXAMPLES = [p for p in PAGES if blocks(p.read_text())]


def test_the_site_builds_strictly(tmp_path):
    mkdocs = Path(sys.executable).parent / "mkdocs"
    done = subprocess.run(
        [str(mkdocs), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": str(mkdocs.parent), "HOME": str(tmp_path)},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    reference = (tmp_path / "site" / "reference" / "cli" / "index.html").read_text()
    for command in ("check", "govern", "validate", "report", "serve", "attest", "witness"):
        assert f'id="{command}"' in reference, command  # every command, from click itself
    assert '"$schema"' in (tmp_path / "site" / "reference" / "check-output" / "index.html").read_text()


def test_every_page_is_in_the_navigation_and_the_readme_is_a_front_door():
    nav = (ROOT / "mkdocs.yml").read_text()
    pages = {p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md")}
    assert {p for p in pages if p not in nav} == set()
    assert len((ROOT / "README.md").read_text().splitlines()) < 200


@pytest.mark.parametrize("page", EXAMPLES, ids=[str(p.relative_to(ROOT)) for p in EXAMPLES])
def test_the_console_examples_print_what_the_page_shows(page):
    with started(services(page)) as env:
        assert differences(page, env) == []


@pytest.mark.slow
def test_a_new_user_installs_from_a_wheel_by_following_the_readme(tmp_path):
    """The README's install block as it is, but for the clone's address (this checkout) and the
    extras line (its heavy downloads prove nothing more)."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Install", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    lines = [line for line in block.splitlines() if "[mlflow" not in line and not line.startswith(" ")]
    script = "\n".join(lines).replace("https://github.com/pml-policy/pml-policy ", f"{ROOT} pml-policy ")
    ours = str(Path(sys.executable).parent)  # the machine's python3, not this environment's
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if p != ours)
    env = {"PATH": path, "HOME": str(tmp_path / "home")}
    done = subprocess.run(
        ["bash", "-e", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "pml-policy, version" in done.stdout
