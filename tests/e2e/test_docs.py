"""The docs site builds without a warning, and every console example in it (and in the README)
prints what the page shows when a new user runs it (tests/support/docs_examples.py)."""

from __future__ import annotations

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
