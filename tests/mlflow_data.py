"""Fake data on a real MLflow: training runs logged with mlflow's own API, registered as versions."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any


def log_version(
    uri: str,
    model: str,
    metrics: dict[str, float],
    params: dict[str, Any] | None = None,
    tags: dict[str, str] | None = None,
    artifacts: dict[str, str] | None = None,
    experiment: str = "pml-tests",
    git_commit: str = "c9f77ab3e1d0",
) -> str:
    """Log one training run (metrics, params, tags, files) and register it as a new version of
    `model`; returns the version number."""
    import mlflow
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment(experiment)
    client = MlflowClient(uri)
    with mlflow.start_run(tags={"mlflow.source.git.commit": git_commit, **(tags or {})}) as run:
        for key, value in metrics.items():
            mlflow.log_metric(key, value)
        if params:
            mlflow.log_params(params)
        with tempfile.TemporaryDirectory() as tmp:
            for path, text in (artifacts or {}).items():
                file = Path(tmp) / path
                file.parent.mkdir(parents=True, exist_ok=True)
                file.write_text(text)
                mlflow.log_artifact(str(file), str(Path(path).parent) if Path(path).parent != Path(".") else None)
    try:
        client.get_registered_model(model)
    except mlflow.exceptions.MlflowException:
        client.create_registered_model(model)
    version = client.create_model_version(model, source=f"{run.info.artifact_uri}/model", run_id=run.info.run_id)
    return str(version.version)


# What MLflow's webhooks need to deliver to a service on loopback (../shared/INTEGRATIONS.md): http
# and private addresses allowed, one encryption key for the stored secrets, and a short cache of the
# webhook list (60 s by default: a webhook made after an event would miss it).
WEBHOOK_ENV = {
    **os.environ,
    "MLFLOW_WEBHOOK_ALLOWED_SCHEMES": "http,https",
    "MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS": "true",
    "MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY": "cG1sLXBvbGljeS10ZXN0cy13ZWJob29rLWtleS0zMmI=",
    "MLFLOW_WEBHOOK_CACHE_TTL": "1",
}


class MlflowServer:
    """A real `mlflow server` on a free loopback port, with a SQLite backend store."""

    def __init__(self, root: Path, port: int | None = None) -> None:
        self.root = root
        self.port = port or _free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self.log = root / "server.log"
        self.process: Any = None

    def start(self, timeout: float = 300) -> MlflowServer:
        import subprocess
        import sys
        import time
        import urllib.request

        self.root.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            "1",
            "--backend-store-uri",
            f"sqlite:///{self.root}/mlflow.db",
            "--artifacts-destination",
            str(self.root / "artifacts"),
        ]
        self.process = subprocess.Popen(
            command, stdout=self.log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True, env=WEBHOOK_ENV
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"mlflow server exited with {self.process.returncode}: {self.log.read_text()[-2000:]}"
                )
            try:
                with urllib.request.urlopen(f"{self.uri}/health", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise RuntimeError(
            f"mlflow server did not answer on {self.uri} within {timeout} s: {self.log.read_text()[-2000:]}"
        )

    def stop(self) -> None:
        import os
        import signal

        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)  # the server and its uvicorn worker
            self.process.wait()
        self.process = None

    def requests_logged(self) -> int:
        """Requests the server has answered so far (from its access log), once the log has settled:
        the server writes a request's line after answering it, so a count read at once can miss
        the last ones and give them to the next count."""
        import time

        count, deadline = self._logged(), time.monotonic() + 5
        while time.monotonic() < deadline:
            time.sleep(0.2)
            again = self._logged()
            if again == count:
                return count
            count = again
        return count

    def _logged(self) -> int:
        # Not counted: the MLflow client's own probe of the server, made once per process at its
        # first artifact download (whichever test downloads first pays it).
        return sum(
            1
            for line in self.log.read_text(errors="replace").splitlines()
            if ('"GET /api' in line or '"POST /api' in line or '"PATCH /api' in line or '"DELETE /api' in line)
            and "/mlflow/server-info" not in line
        )


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
