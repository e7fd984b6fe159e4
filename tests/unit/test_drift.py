"""The sweep's comparison of the live registry with what governance last made it say
(`reacting.drift`): absence counts, versions that are gone do not."""

from __future__ import annotations

from pml_policy.adapters.base import RegistryState
from pml_policy.audit.applied import Applied
from pml_policy.usecases.reacting import drift

MADE = Applied(
    {"credit": {("1", "governance.status"): "approved", ("2", "governance.status"): "rejected"}},
    {("credit", "champion"): "1"},
    {"credit": 7},
)


def test_in_step_nothing_differs():
    live = RegistryState(
        {"champion": "1"}, {"1": {"governance.status": "approved"}, "2": {"governance.status": "rejected"}}
    )
    assert drift("credit", live, MADE, "champion") == []


def test_a_deleted_or_edited_tag_and_a_deleted_alias_differ():
    live = RegistryState({}, {"1": {}, "2": {"governance.status": "approved"}})
    assert drift("credit", live, MADE, "champion") == [
        "tag governance.status on 1",
        "tag governance.status on 2",
        "alias champion",
    ]


def test_what_belongs_to_a_deleted_version_or_another_model_is_not_drift():
    live = RegistryState({}, {"2": {"governance.status": "rejected"}})  # version 1 deleted, its alias with it
    assert drift("credit", live, MADE, "champion") == []
    assert drift("churn", RegistryState({}, {"1": {}}), MADE, "champion") == []
