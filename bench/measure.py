"""What the benches share: a `pml-policy` command run as a user runs it, timed, with its peak memory."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path


def run_pml(*args: str) -> tuple[float, float, str]:
    """Run `pml-policy ARGS` from this environment: (wall seconds, peak memory in MiB as
    /usr/bin/time reads it, stdout). A failure raises, with the command's own output."""
    exe = Path(sys.executable).with_name("pml-policy")
    started = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-f", "%M", str(exe), *args], capture_output=True, text=True, check=True)
    elapsed = time.perf_counter() - started
    return elapsed, int(done.stderr.strip().splitlines()[-1]) / 1024, done.stdout
