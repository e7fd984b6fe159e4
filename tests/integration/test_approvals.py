"""Approvals recorded in and counted from a PostgreSQL log."""

from __future__ import annotations

from ..helpers import run_cli
from ..support.approvals import _as


def test_approvals_on_postgresql(postgres_url, governed_repo, monkeypatch):
    monkeypatch.setenv("PML_AUDIT_URL", postgres_url)
    _as(monkeypatch, "cro@bank.example")
    assert run_cli("approve", "run", "--role", "model-risk", "--reason", "ok").exit_code == 0
    assert run_cli("check", "run").exit_code == 0
    assert "valid" in run_cli("approvals", "credit-scorer", "--version", "8").stdout
    assert run_cli("audit", "verify").exit_code == 0
