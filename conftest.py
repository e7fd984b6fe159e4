"""Fixtures shared by tests/ and features/: a private audit log per test, and real PostgreSQL."""

from __future__ import annotations

import importlib
import os
import uuid
from typing import Any

import pytest
from hypothesis import settings

# Hypothesis: `ci` (make test, CI) tries many examples; `dev` (a plain `pytest` run, the default) a
# third of them, so that `pytest tests/unit` stays under a minute; `quick` (make test-quick) a few,
# for a fast local loop. Choose with --hypothesis-profile.
settings.register_profile("ci", max_examples=300, deadline=None)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile("quick", max_examples=25, deadline=None)
settings.load_profile("dev")

# The step library is a pytest plugin that loads only where asked (no pytest11 entry point: it would
# load into every pytest run of a user's environment); the project's own tests ask for it here.
pytest_plugins = ["pml_policy.scenarios.plugin", "pml_policy.scenarios.steps"]

PG_ADMIN_URL = os.environ.get("PML_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def require_services() -> bool:
    return os.environ.get("PML_REQUIRE_SERVICES") == "1"


def missing_service(reason: str) -> None:
    """Skip on a laptop without the service; under PML_REQUIRE_SERVICES=1 (CI) that is a failure."""
    if require_services():
        pytest.fail(f"{reason} (PML_REQUIRE_SERVICES=1: a missing service is a failure)")
    pytest.skip(reason, allow_module_level=True)


def needs(module: str, extra: str) -> Any:
    """The module, imported; else skipped (a failure under PML_REQUIRE_SERVICES=1) with the extra
    that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        missing_service(f"{module} is not installed (pip install 'pml-policy[{extra}]')")


@pytest.fixture(scope="session")
def parse_cache_home(tmp_path_factory):
    """One parse cache and cache key per test process, outside the working tree and the home."""
    return tmp_path_factory.mktemp("parse-cache")


@pytest.fixture(autouse=True)
def private_audit_log(tmp_path, monkeypatch, parse_cache_home):
    """Every test records into its own SQLite log, never into the working tree's .pml/ (where the
    parse cache goes too: the tests' is their own)."""
    url = f"sqlite:///{tmp_path}/audit.db"
    monkeypatch.setenv("PML_CACHE_DIR", str(parse_cache_home / "cache"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(parse_cache_home / "home"))
    monkeypatch.setenv("PML_AUDIT_URL", url)
    monkeypatch.setenv("PML_ACTOR", "tester@example.com")
    return url


@pytest.fixture
def postgres_url():
    """A fresh database on the machine's PostgreSQL server, dropped afterwards."""
    try:
        import psycopg
    except ImportError:
        missing_service("psycopg is not installed (pip install 'pml-policy[postgres]')")
    name = f"pml_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        missing_service(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {str(exc).strip().splitlines()[0]}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        # A throwaway database: commits need not wait for the disk (atomicity and locking, which
        # the tests are about, are unchanged); the appends of the concurrency tests run 3x faster.
        admin.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    """The same test on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/store.db"
    return request.getfixturevalue("postgres_url")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests on the shared MLflow server run on one xdist worker (one server start per run, not
    one per worker) and, like every test on a real server, count as slow."""
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "mlflow_server" in fixtures:
            item.add_marker(pytest.mark.xdist_group("mlflow"))
        if "mlflow_server" in fixtures or "postgres_url" in fixtures:
            item.add_marker(pytest.mark.slow)
