"""Fixtures the tiers share: one real MLflow server and one SageMaker emulator per session, and the
repositories and logs that unit, integration and end-to-end tests start from."""

from __future__ import annotations

import shutil
import uuid
from functools import partial
from pathlib import Path

import pytest

from conftest import missing_service, needs
from pml_policy.audit import AuditStore, verifying

from .helpers import ROOT, run_cli
from .mlflow_data import MlflowServer
from .support.report import _policies
from .support.sagemaker import CREDENTIALS, MotoServer, register


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


# ---- approvals ------------------------------------------------------------------------------


@pytest.fixture
def governed_repo(tmp_path, monkeypatch) -> Path:
    """A folder of evidence that trained by ana, the starter gate and the sign-off policy."""
    shutil.copytree(ROOT / "examples" / "credit-pass", tmp_path / "run")
    (tmp_path / "policies").mkdir()
    shutil.copy(ROOT / "policies" / "starter" / "promotion.pml", tmp_path / "policies")
    shutil.copy(ROOT / "policies" / "signoff" / "model-risk-signoff.pml", tmp_path / "policies")
    monkeypatch.chdir(tmp_path)
    return tmp_path


# ---- report ---------------------------------------------------------------------------------


@pytest.fixture
def decided(tmp_path, private_audit_log):
    """A dozen decisions through the CLI, as a new user makes them."""
    policies = _policies(tmp_path)
    for example in ["credit-pass"] * 5 + ["credit-warn"] * 3 + ["credit-fail"] * 4:
        result = run_cli("check", f"examples/{example}", "--champion", "examples/credit-champion", "-p", str(policies))
        assert result.exit_code in (0, 1), result.output
    return private_audit_log, policies


# ---- sagemaker ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def moto(tmp_path_factory):
    needs("boto3", "sagemaker")
    needs("moto", "test")
    server = MotoServer(tmp_path_factory.mktemp("moto"))
    yield server
    server.stop()


@pytest.fixture
def aws(moto, monkeypatch):
    """The environment a user sets for the emulator: endpoint, region, (fake) credentials."""
    for key, value in {**CREDENTIALS, "AWS_ENDPOINT_URL": moto.url}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return moto.url


@pytest.fixture
def group(aws) -> str:
    """A group with the example's three packages (v2 the best, v3 below the floor), registered by
    the example script a new user runs."""
    name = f"credit-{uuid.uuid4().hex[:8]}"
    register(name)
    return name


# ---- scenarios ------------------------------------------------------------------------------


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A governance repository: the starter promotion policy in policies/, and an empty features/."""
    (tmp_path / "policies").mkdir()
    shutil.copy(ROOT / "policies" / "starter" / "promotion.pml", tmp_path / "policies")
    (tmp_path / "features").mkdir()
    return tmp_path


# ---- audit ----------------------------------------------------------------------------------------

_ONE_PASS, _CHECK_RANGES = AuditStore.verify, verifying.check_ranges


@pytest.fixture
def verified_in_ranges_too(monkeypatch):
    """Every verification of the audit tests is made twice: in one pass, and split into three seq
    ranges (checked one after the other here; processes only divide the work). A log verified in
    ranges must give the verdict of one pass, on every tampering. (The audit test modules use it
    for every test: `pytestmark`.)"""

    def both(store, expect_head=None, public_key=None, checkpoint=None, workers=None, signed_from=1):
        whole = _ONE_PASS(store, expect_head, public_key, checkpoint, workers=1, signed_from=signed_from)
        ranged = _ONE_PASS(store, expect_head, public_key, checkpoint, workers=3, signed_from=signed_from)
        assert ranged == whole, (ranged, whole)
        return whole

    monkeypatch.setattr(AuditStore, "verify", both)
    monkeypatch.setattr(verifying, "check_ranges", partial(_CHECK_RANGES, processes=False))
