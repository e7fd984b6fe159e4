"""The servers a docs page's examples need, started fresh for the page: a real MLflow tracking
server, and moto's server mode for SageMaker (the one emulator the project accepts)."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ..mlflow_data import MlflowServer
from .sagemaker import CREDENTIALS, MotoServer


@contextlib.contextmanager
def started(names: list[str]) -> Iterator[dict[str, str]]:
    """The environment that points a page's commands at its servers, while they run."""
    env: dict[str, str] = {}
    with contextlib.ExitStack() as stack:
        for name in names:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=f"pml-docs-{name}-")))
            if name == "mlflow":
                mlflow = MlflowServer(folder).start()
                stack.callback(mlflow.stop)
                env["MLFLOW_TRACKING_URI"] = mlflow.uri
            else:
                moto = MotoServer(folder)
                stack.callback(moto.stop)
                env.update(CREDENTIALS, AWS_ENDPOINT_URL=moto.url)
        yield env
