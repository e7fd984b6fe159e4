"""What the end-to-end tests start from: the wheel installed into a fresh virtual environment, and
the service (its folder with the starter policies, and the process)."""

from __future__ import annotations

import shutil
import sys
import venv
from pathlib import Path

import pytest

from ..helpers import ROOT
from .processes import run
from .serving import SECRET, Service


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "policies" / "starter", tmp_path / "policies")
    return tmp_path


@pytest.fixture
def service(workspace: Path):
    started = Service(workspace, env={"PML_WEBHOOK_SECRET": SECRET})
    yield started
    started.stop()


@pytest.fixture(scope="session")
def wheel_env(tmp_path_factory) -> Path:
    """A fresh virtual environment with only the built wheel (and its dependencies) installed."""
    where = tmp_path_factory.mktemp("wheel")
    # From a private copy of the sources: the workers and a bench may build this checkout at once.
    build = run([sys.executable, str(ROOT / "scripts" / "build_wheel.py"), str(where / "dist")], where)
    assert build.returncode == 0, build.stderr[-2000:]
    # The rough edge a newcomer hit: setuptools warned that the report templates were installed as data.
    assert "is absent from the `packages` configuration" not in build.stdout + build.stderr
    (wheel,) = (where / "dist").glob("pml_policy-*.whl")
    env_dir = where / "venv"
    venv.create(env_dir, with_pip=True)
    install = run([str(env_dir / "bin" / "pip"), "install", "--quiet", f"{wheel}[pdf]"], where)
    assert install.returncode == 0, install.stderr[-2000:]
    return env_dir / "bin"
