"""The public API a platform team embeds, as the README shows it."""

from __future__ import annotations

import pytest

import pml_policy

from ..helpers import ROOT


def test_load_fetch_evaluate():
    policies = pml_policy.load([ROOT / "policies" / "starter"])
    subject = pml_policy.fetch(str(ROOT / "examples" / "credit-fail"))
    decision = pml_policy.evaluate(
        policies, subject, champion=pml_policy.fetch(str(ROOT / "examples" / "credit-champion"))
    )
    assert isinstance(decision, pml_policy.Decision) and isinstance(subject, pml_policy.Subject)
    assert decision.outcome == "fail"
    assert ("auc_floor", "fail", "metrics.val_auc = 0.781, required >= 0.80") in [
        (r.rule, r.outcome, r.message) for r in decision.rules
    ]
    assert pml_policy.__version__ == "0.1.0"


def test_the_public_api_is_listed_and_each_name_resolves():
    api = {
        "Workspace",
        "load",
        "fetch",
        "evaluate",
        "check",
        "govern",
        "recheck",
        "replay",
        "approve",
        "revoke",
        "AuditStore",
        "AdapterConfig",
        "Decision",
        "PolicySet",
        "Subject",
        "PmlError",
        "__version__",
    }
    assert api <= set(dir(pml_policy)) and set(pml_policy.__all__) == set(dir(pml_policy))
    assert all(getattr(pml_policy, name) is not None for name in pml_policy.__all__)
    assert "pml_policy.check(ws" in pml_policy.__doc__ and "pml_policy.Workspace.open(" in pml_policy.__doc__


def test_check_records_through_the_workspace_it_is_given(private_audit_log):
    with pml_policy.Workspace.open([ROOT / "policies" / "starter"], audit_url=private_audit_log) as ws:
        checked = pml_policy.check(ws, [str(ROOT / "examples" / "credit-fail")])
    assert [d.outcome for d in checked.decisions] == ["fail"] and checked.exit_code == 1
    assert checked.recorded is not None and checked.recorded.seqs == [1]
    assert pml_policy.AuditStore(private_audit_log).verify().ok


def test_a_string_for_the_references_is_refused_not_read_letter_by_letter():
    ws = pml_policy.Workspace.open([ROOT / "policies" / "starter"], audit_url=None)
    with ws, pytest.raises(TypeError, match="list of references"):
        pml_policy.check(ws, str(ROOT / "examples" / "credit-fail"))  # type: ignore[arg-type]


def test_library_calls_read_the_registry_settings_from_the_environment(monkeypatch):
    """Without an AdapterConfig, a library caller's MLFLOW_TRACKING_URI and alias count, as before options existed."""
    from pml_policy.adapters import adapter_for

    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5999")
    monkeypatch.setenv("PML_CHAMPION_ALIAS", "production")
    adapter = adapter_for("models:/credit-scorer/1")
    assert (adapter.tracking_uri, adapter.champion_alias) == ("http://127.0.0.1:5999", "production")
    explicit = adapter_for("models:/credit-scorer/1", pml_policy.AdapterConfig(tracking_uri="http://other:1"))
    assert (explicit.tracking_uri, explicit.champion_alias) == ("http://other:1", "champion")
