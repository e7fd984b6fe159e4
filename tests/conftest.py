"""Fixtures shared by several test modules: one real MLflow server per session."""

from __future__ import annotations

import pytest

from conftest import missing_service

from .mlflow_data import MlflowServer


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    try:
        import mlflow  # noqa: F401
    except ImportError:
        missing_service("mlflow is not installed (pip install 'pml-policy[mlflow]')")
    server = MlflowServer(tmp_path_factory.mktemp("mlflow")).start()
    yield server
    server.stop()


@pytest.fixture
def uri(mlflow_server, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.uri)
    return mlflow_server.uri
