"""What the sagemaker tests of several tiers share."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ..helpers import ROOT
from ..mlflow_data import _free_port

GATE = str(ROOT / "policies" / "sagemaker")


REGISTER = ROOT / "examples" / "sagemaker" / "register.py"


CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


class MotoServer:
    """`moto_server` on a free loopback port, in a process group of its own."""

    def __init__(self, root: Path, env: dict[str, str] | None = None) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(self.port)]
        self.process = subprocess.Popen(
            command,
            env={**os.environ, **(env or {})},
            stdout=(root / "moto.log").open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        import urllib.request

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1)
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"moto_server did not answer: {(root / 'moto.log').read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)


def register(group: str) -> None:
    subprocess.run(
        [sys.executable, str(REGISTER), "--group", group, "--bucket", f"pml-{group}"],
        check=True,
        capture_output=True,
        env=os.environ.copy(),
    )


def sagemaker() -> Any:
    import boto3

    return boto3.client("sagemaker")


def packages(group: str) -> dict[str, tuple[str, dict[str, str]]]:
    """version -> (approval status, CustomerMetadataProperties), read back with describe_model_package."""
    client = sagemaker()
    found = {}
    for s in client.list_model_packages(ModelPackageGroupName=group)["ModelPackageSummaryList"]:
        d = client.describe_model_package(ModelPackageName=s["ModelPackageArn"])
        found[str(d["ModelPackageVersion"])] = (d["ModelApprovalStatus"], d.get("CustomerMetadataProperties") or {})
    return found


def approve(group: str, version: str) -> None:
    """A person approving a version by hand, in the console or the CLI (the whole state sent)."""
    client = sagemaker()
    arn = f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{group}/{version}"
    package = client.describe_model_package(ModelPackageName=arn)
    client.update_model_package(
        ModelPackageArn=arn,
        ModelApprovalStatus="Approved",
        CustomerMetadataProperties=package.get("CustomerMetadataProperties") or {},
    )
