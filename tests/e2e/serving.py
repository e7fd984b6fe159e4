"""`pml-policy serve` as the end-to-end tests run it: a real process on a free loopback port, and
what they call it with (signed deliveries, tokens, pushed evidence)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import signal
import ssl
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from ..mlflow_data import _free_port

SECRET = "webhook-secret-for-tests"
# What a controller subscribes to: registrations, tags and aliases set and deleted.
EVENTS = [
    "model_version.created",
    "model_version_tag.set",
    "model_version_tag.deleted",
    "model_version_alias.created",
    "model_version_alias.deleted",
]


INLINE = {
    "reference": "pushed-1",
    "model": {"name": "credit-scorer", "version": "12"},
    "run": {"git_commit": "3e1d0c9f77ab", "user": "ana"},
    "metrics": {"val_auc": 0.86, "val_auc_slice_young": 0.8, "val_ece": 0.02, "dp_gap": 0.01, "eo_gap": 0.01},
    "params": {"data_version": "v1"},
    "tags": {"use_case": "credit", "owner": "risk"},
    "artifacts": [{"path": "model_card.md", "size": 10}],
}


class Service:
    """`pml-policy serve` on a free loopback port, in a process group of its own."""

    def __init__(self, root: Path, *args: str, env: dict[str, str] | None = None, port: int | None = None) -> None:
        self.root, self.port = root, port or _free_port()
        # Over TLS (--ssl-certfile CERT), the client trusts that certificate alone.
        cert = args[args.index("--ssl-certfile") + 1] if "--ssl-certfile" in args else None
        self.verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=root / cert) if cert else True
        self.url = f"{'https' if cert else 'http'}://127.0.0.1:{self.port}"
        self.log = root / "serve.log"
        if "--tokens" not in args and "--read-only" not in args:  # the tests act as the local admin, said so
            args = (*args, "--local-admin")
        args = tuple(a for a in args if a != "--read-only")
        command = [sys.executable, "-m", "pml_policy.cli", "serve", "--port", str(self.port), *args]
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("PML_", "MLFLOW_"))}
        environment.update({"PML_AUDIT_URL": f"sqlite:///{root}/audit.db", **(env or {})})
        self.process = subprocess.Popen(
            command,
            cwd=root,
            env=environment,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"serve exited with {self.process.returncode}: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1, verify=self.verify).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"serve did not answer: {self.log.read_text()[-3000:]}")

    def call(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = {**kwargs.pop("headers", {}), **({"Authorization": f"Bearer {token}"} if token else {})}
        return httpx.request(method, self.url + path, headers=headers, timeout=60, verify=self.verify, **kwargs)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            self.process.wait(timeout=30)


def signed(body: bytes, delivery: str | None = None, stamp: int | None = None, secret: str = SECRET) -> dict:
    delivery = delivery or str(uuid.uuid4())
    stamp = int(time.time()) if stamp is None else stamp
    mac = hmac.new(secret.encode(), f"{delivery}.{stamp}.".encode() + body, hashlib.sha256).digest()
    return {
        "X-MLflow-Delivery-Id": delivery,
        "X-MLflow-Timestamp": str(stamp),
        "X-MLflow-Signature": "v1," + base64.b64encode(mac).decode(),
        "Content-Type": "application/json",
    }


def _token(workspace: Path, name: str, role: str) -> str:
    made = subprocess.run(
        [sys.executable, "-m", "pml_policy.cli", "token", "create", name, "--role", role, "--tokens", "tokens.yaml"],
        cwd=workspace,
        capture_output=True,
        text=True,
        check=True,
    )
    return made.stdout.strip()


def _wait(condition: Any, seconds: float = 60, what: str = "") -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.25)
    raise AssertionError(f"not within {seconds} s: {what() if callable(what) else what}")


def _versions(client: Any, model: str) -> dict[str, dict[str, str]]:
    return {str(v.version): v.tags for v in client.search_model_versions(f"name='{model}'")}


GOOD = {"val_auc_slice_young": 0.8, "val_ece": 0.02, "dp_gap": 0.01, "eo_gap": 0.01}


TAGS = {"use_case": "credit", "owner": "risk", "data.version": "v1"}
