"""What the hostile tests of several tiers share."""

from __future__ import annotations

import os
import re
import resource
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path
from typing import Any, NamedTuple

from ..helpers import ROOT

STARTER = str(ROOT / "policies" / "starter")


SECONDS = 30  # per case: any case still running then has hung


MEMORY = 2 << 30  # address space per case: a billion laughs would need far more


class Link(NamedTuple):
    target: str


class Fifo(NamedTuple):
    pass


class Sparse(NamedTuple):
    size: int


def lay_out(root: Path, files: dict[str, Any]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Link):
            path.symlink_to(content.target)
        elif isinstance(content, Fifo):
            os.mkfifo(path)
        elif isinstance(content, Sparse):
            with path.open("wb") as fh:
                fh.truncate(content.size)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def evidence(**extra: Any) -> dict[str, Any]:
    """The credit-pass example as files under ev/, with `extra` laid over it."""
    files: dict[str, Any] = {
        f"ev/{p.name}": p.read_bytes() for p in (ROOT / "examples" / "credit-pass").iterdir() if p.is_file()
    }
    files.update({f"ev/{k}": v for k, v in extra.items()})
    return files


def policy(require: str) -> dict[str, Any]:
    return {"p.pml": f'policy "p" version "1.0.0" {{ rule r {{ require {require} }} }}\n'}


def wandb_log_with(payload: bytes) -> bytes:
    """A W&B run log (header, then one FULL record) whose record carries `payload`."""
    header = b":W&B" + struct.pack("<H", 0xBEE1) + b"\x00"
    checksum = zlib.crc32(payload, zlib.crc32(bytes([1])))
    return header + struct.pack("<IHB", checksum, len(payload), 1) + payload


CHECK = ["check", "ev", "-p", STARTER]


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def pml(args: list[str], cwd: Path, seconds: float = SECONDS) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PML_", "MLFLOW_"))}
    env["PML_AUDIT_URL"] = f"sqlite:///{cwd}/.pml/audit.db"
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pml_policy.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=seconds,
        preexec_fn=_limits,
    )
    return done, time.monotonic() - start


def assert_one_error(done: subprocess.CompletedProcess[str], code: int, says: str) -> None:
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout, done.stderr
    errors = [line for line in done.stderr.splitlines() if re.match(r"(error: |\S+:\d+:\d+: error: )", line)]
    assert len(errors) == 1 and says in done.stderr, done.stderr
