"""`pml-policy` as users run it: this checkout built and installed as a wheel, its console script,
a command timed (wall seconds, peak memory)."""

from __future__ import annotations

import compileall
import os
import subprocess
import sys
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path

from measure import ROOT


def timed_command(command: Sequence[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> float:
    """Wall seconds of one command, which must succeed (its own output is the error otherwise)."""
    start = time.perf_counter()
    done = subprocess.run(list(command), env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])}... exited {done.returncode}: {done.stderr.strip()[-600:]}")
    return elapsed


def installed_wheel(tmp: Path) -> dict[str, str]:
    """This checkout built as a wheel and installed as pip installs it (unpacked and byte-compiled,
    so imports read .pyc files even where PYTHONDONTWRITEBYTECODE is set); its dependencies are this
    environment's. Returns the environment that runs it ahead of an editable install."""
    site = tmp / "wheel-site"
    if not site.exists():
        # From a private copy of the sources: the test suite's workers may build this checkout too.
        build = [sys.executable, str(ROOT / "scripts" / "build_wheel.py"), str(tmp / "wheel"), "-q"]
        done = subprocess.run(build, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"building this checkout's wheel failed: {done.stderr.strip()[-600:]}")
        with zipfile.ZipFile(next((tmp / "wheel").glob("pml_policy-*.whl"))) as wheel:
            wheel.extractall(site)
        compileall.compile_dir(site, quiet=1)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PML_", "MLFLOW_"))}
    env["PYTHONPATH"] = str(site)
    where = "import pml_policy; print(pml_policy.__file__)"
    found = subprocess.run([sys.executable, "-P", "-c", where], env=env, capture_output=True, text=True).stdout
    if not found.startswith(str(site)):
        raise SystemExit(f"the installed wheel is not what runs: pml_policy imports from {found.strip()}")
    return env


def pml_command(*args: str) -> list[str]:
    """`pml-policy ARGS` as its console script runs it, with whatever `pml_policy` imports first."""
    # -P: the working folder is not put first on sys.path (from a checkout, it would hold pml_policy).
    code = "import sys; from pml_policy.cli import main; sys.argv[0] = 'pml-policy'; main()"
    return [sys.executable, "-P", "-c", code, *args]


def run_pml(*args: str, env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Run `pml-policy ARGS`: (wall seconds, peak memory in MiB as /usr/bin/time reads it, stdout).
    A failure raises, with the command's own output."""
    started = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-f", "%M", *pml_command(*args)], capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"pml-policy {' '.join(args[:3])}... exited {done.returncode}: {done.stderr[-600:]}")
    return elapsed, int(done.stderr.strip().splitlines()[-1]) / 1024, done.stdout
