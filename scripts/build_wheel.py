"""Build this checkout's wheel into a folder: `python scripts/build_wheel.py DIST [pip options]`.

setuptools builds inside the source tree (build/, pml_policy.egg-info/), so two builds of one
checkout at once (the test suite's workers, a bench beside it) overwrite each other's files. This
builds from a private copy of what the wheel is made of instead. Prints the wheel's path.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# What pyproject.toml builds the wheel from: the package, the data it ships, the metadata it reads.
SOURCES = ("pyproject.toml", "README.md", "pml_policy", "policies", "features", "examples")


def build(dist: Path, *pip_options: str) -> Path:
    with tempfile.TemporaryDirectory(prefix="pml-wheel-src-") as tmp:
        for name in SOURCES:
            source, copy = ROOT / name, Path(tmp) / name
            if source.is_dir():
                shutil.copytree(source, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                shutil.copy2(source, copy)
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", *pip_options, "-w", str(dist), tmp]
        done = subprocess.run(command, capture_output=True, text=True)
    sys.stdout.write(done.stdout)
    sys.stderr.write(done.stderr)
    if done.returncode != 0:
        raise SystemExit(f"pip wheel exited {done.returncode}")
    return next(dist.glob("pml_policy-*.whl"))


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1].startswith("-"):
        raise SystemExit("usage: python scripts/build_wheel.py DIST [pip wheel options]")
    print(build(Path(sys.argv[1]), *sys.argv[2:]))
