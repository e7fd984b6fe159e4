"""The real consumers of our CI outputs, fetched from their own registries once per machine:
Microsoft's SARIF Multitool (npm) and the Jenkins/Ant JUnit schema that pytest's own tests use
(junit-10.xsd, from the pytest sdist on PyPI)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from filelock import FileLock

from conftest import missing_service

MULTITOOL = "5.7.0"  # @microsoft/sarif-multitool: the version these tests were written against


def _cache() -> Path:
    """Outside the tests' private XDG_CACHE_HOME (set per test) and the working tree."""
    home = Path(os.environ.get("PML_TEST_TOOLS", Path.home() / ".cache" / "pml-policy-tests"))
    home.mkdir(parents=True, exist_ok=True)
    return home


def sarif_multitool() -> Path:
    """The Multitool's native executable, installed with npm on first use."""
    folder = _cache() / f"sarif-multitool-{MULTITOOL}"
    tool = folder / "node_modules" / "@microsoft" / "sarif-multitool-linux" / "Sarif.Multitool"
    with FileLock(str(folder) + ".lock"):
        if not tool.exists():
            if shutil.which("npm") is None:
                missing_service("npm is not installed (apt-get install npm): the SARIF Multitool comes from npm")
            folder.mkdir(exist_ok=True)
            done = subprocess.run(
                [
                    "npm",
                    "install",
                    "--no-audit",
                    "--no-fund",
                    "--prefix",
                    str(folder),
                    f"@microsoft/sarif-multitool@{MULTITOOL}",
                ],
                capture_output=True,
                text=True,
                timeout=600,
            )
            if done.returncode != 0 or not tool.exists():
                missing_service(f"npm could not install the SARIF Multitool: {done.stderr.strip()[-300:]}")
        tool.chmod(0o755)  # npm 11 leaves the package's postinstall (a chmod) unrun
    return tool


def junit_schema() -> Path:
    """junit-10.xsd from the sdist of the pytest this environment runs."""
    version = pytest.__version__
    xsd = _cache() / f"junit-10-pytest-{version}.xsd"
    with FileLock(str(xsd) + ".lock"):
        if not xsd.exists():
            where = _cache() / f"pytest-sdist-{version}"
            done = subprocess.run(
                [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:"]
                + [f"pytest=={version}", "-d", str(where)],
                capture_output=True,
                text=True,
                timeout=600,
            )
            archives = list(where.glob("pytest-*.tar.gz"))
            if done.returncode != 0 or not archives:
                missing_service(f"pip could not download the pytest {version} sdist: {done.stderr.strip()[-300:]}")
            with tarfile.open(archives[0]) as archive:
                member = archive.extractfile(f"pytest-{version}/testing/example_scripts/junit-10.xsd")
                assert member is not None
                xsd.write_bytes(member.read())
    return xsd
