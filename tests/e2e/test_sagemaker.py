"""The service governs SageMaker through its sweep (moto's server mode) and puts a hand-approved
champion back."""

from __future__ import annotations

import pytest

from ..support.sagemaker import CREDENTIALS, GATE, MotoServer, approve, packages, register

pytestmark = pytest.mark.slow


def test_the_service_sweep_governs_sagemaker_and_puts_a_hand_approved_champion_back(tmp_path, monkeypatch):
    """SageMaker's events come through EventBridge, out of reach here: the reconciliation sweep is
    what finds new packages and a hand approval, on its own emulator (the sweep sees every group)."""
    from .serving import Service, _wait

    server = MotoServer(tmp_path)
    service = None
    try:
        for key, value in {**CREDENTIALS, "AWS_ENDPOINT_URL": server.url}.items():
            monkeypatch.setenv(key, value)
        register("credit-scorer")
        env = {**CREDENTIALS, "AWS_ENDPOINT_URL": server.url}
        args = ("-p", GATE, "--registry", "sagemaker", "--apply", "--reconcile-every", "1s")
        service = Service(tmp_path, *args, env=env)
        _wait(lambda: packages("credit-scorer")["2"][0] == "Approved", what="the sweep approves version 2")
        assert packages("credit-scorer")["3"][1]["governance.status"] == "rejected"

        approve("credit-scorer", "3")  # by hand, below the floor
        _wait(
            lambda: (
                [s for s, _ in packages("credit-scorer").values()].count("Approved") == 1
                and packages("credit-scorer")["2"][0] == "Approved"
            ),
            what="the hand-approved version 3 sent back to PendingManualApproval",
        )
        from pml_policy.audit import AuditStore

        store = AuditStore(f"sqlite:///{tmp_path}/audit.db")
        try:
            assert store.alias_holders("credit-scorer", "champion") == ["2", "2"]  # approved, then put back
            passing = store.latest_outcome("credit-scorer", "2")  # the decision the revert rests on
            assert passing is not None
            details = [c["detail"] for c in store.changes(passing.decision) if c["state"] == "applied"]
            assert any("version 3 set back to PendingManualApproval" in (d or "") for d in details), details
        finally:
            store.close()
    finally:
        if service is not None:
            service.stop()
        server.stop()
