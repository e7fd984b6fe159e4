"""How a scenario goes wrong: the decision is not what it says (a failure), or the scenario itself is."""

from __future__ import annotations

from pml_policy.base.errors import PmlError


class ScenarioMistake(PmlError):
    """The scenario cannot be run as written: an unknown policy or rule, a malformed table, a Then
    before any When. Exit 2, like any usage error."""


class ScenarioFailure(AssertionError):
    """The policy did not decide what the scenario says it must (exit 1)."""
