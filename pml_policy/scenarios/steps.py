"""The step definitions: each binds one sentence of the vocabulary to one call on the scenario state.

A pytest plugin, loaded where asked (`pml-policy test`, or `-p pml_policy.scenarios.steps` in a
project's own pytest run), so the steps are there for every feature pytest-bdd runs there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, cast

import pytest
from pytest_bdd import parsers, step

from pml_policy.adapters.lookup import fetch

from .plugin import session_of
from .state import ScenarioState
from .vocabulary import STEPS

StepKind = Literal["given", "when", "then"]


def define(key: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Bind the function to the sentence STEPS[key] (its regex, for its keyword)."""
    entry = STEPS[key]
    return step(parsers.re(entry.regex), cast(StepKind, entry.kind))


@pytest.fixture
def pml_scenario(request: pytest.FixtureRequest) -> ScenarioState:
    """The state of the running scenario (pml_policy.scenarios.state.ScenarioState)."""
    session = session_of(request.config)
    return ScenarioState(session.load, list(session.policy_paths), session.coverage.record, session.adapters)


@define("policies")
def _policies(pml_scenario: ScenarioState, path: str) -> None:
    pml_scenario.use_policies(path)


@define("candidate")
def _candidate(pml_scenario: ScenarioState, name: str, version: str | None) -> None:
    pml_scenario.new_candidate(name, version)


@define("candidate_with")
def _candidate_with(
    pml_scenario: ScenarioState, name: str, version: str | None, datatable: list[list[str]] | None = None
) -> None:
    pml_scenario.new_candidate(name, version)
    pml_scenario.set_paths("candidate", datatable)


@define("section")
def _section(pml_scenario: ScenarioState, role: str, section: str, datatable: list[list[str]] | None = None) -> None:
    pml_scenario.set_section(role, section, datatable)


@define("absent")
def _absent(pml_scenario: ScenarioState, role: str, kind: str, name: str) -> None:
    pml_scenario.remove(role, kind, name)


@define("artifact")
def _artifact(pml_scenario: ScenarioState, path: str, state: str) -> None:
    pml_scenario.artifact(path, archived=state == "archived")


@define("champion_metrics")
def _champion_metrics(pml_scenario: ScenarioState, datatable: list[list[str]] | None = None) -> None:
    pml_scenario.new_champion(None, None)
    pml_scenario.set_section("champion", "metrics", datatable)


@define("champion_with")
def _champion_with(
    pml_scenario: ScenarioState, name: str, version: str | None, datatable: list[list[str]] | None = None
) -> None:
    pml_scenario.new_champion(name, version)
    pml_scenario.set_paths("champion", datatable)


@define("no_champion")
def _no_champion(pml_scenario: ScenarioState) -> None:
    pml_scenario.champion = None


@define("local")
def _local(pml_scenario: ScenarioState, role: str | None, path: str) -> None:
    _read(pml_scenario, role, fetch(path, pml_scenario.adapters))


@define("mlflow")
def _mlflow(pml_scenario: ScenarioState, role: str | None, name: str, version: str | None, alias: str | None) -> None:
    _read(
        pml_scenario,
        role,
        fetch(f"models:/{name}/{version}" if version else f"models:/{name}@{alias}", pml_scenario.adapters),
    )


def _read(state: Any, role: str | None, subject: Any) -> None:
    if role == "champion":
        state.read_champion(subject)
    else:
        state.read_candidate(subject)


@define("waiver")
def _waiver(pml_scenario: ScenarioState, id: str, rule: str, datatable: list[list[str]] | None = None) -> None:
    pml_scenario.waiver(id, rule, datatable)


@define("context")
def _context(
    pml_scenario: ScenarioState, datatable: list[list[str]] | None = None, docstring: str | None = None
) -> None:
    pml_scenario.context(datatable, docstring)


@define("alias")
def _alias(pml_scenario: ScenarioState, alias: str) -> None:
    pml_scenario.hold_alias(alias)


@define("monitoring")
def _monitoring(pml_scenario: ScenarioState, datatable: list[list[str]] | None = None) -> None:
    pml_scenario.monitoring(datatable)


@define("card")
def _card(pml_scenario: ScenarioState, datatable: list[list[str]] | None = None) -> None:
    pml_scenario.card(datatable)


@define("approval")
def _approval(pml_scenario: ScenarioState, approver: str, role: str, until: str | None = None) -> None:
    pml_scenario.approve(approver, role, until)


@define("today")
def _today(pml_scenario: ScenarioState, date: str) -> None:
    pml_scenario.today(date)


@define("evaluate_one")
def _evaluate_one(pml_scenario: ScenarioState, name: str) -> None:
    pml_scenario.evaluate(name)


@define("evaluate_all")
def _evaluate_all(pml_scenario: ScenarioState) -> None:
    pml_scenario.evaluate(None)


@define("decision")
def _decision(pml_scenario: ScenarioState, outcome: str) -> None:
    pml_scenario.expect_decision(outcome)


@define("rule")
def _rule(pml_scenario: ScenarioState, rule: str, said: str) -> None:
    pml_scenario.expect_rule(rule, said)


@define("message")
def _message(pml_scenario: ScenarioState, text: str) -> None:
    pml_scenario.expect_message(text)


@define("action")
def _action(pml_scenario: ScenarioState, text: str, negated: str | None) -> None:
    pml_scenario.expect_action(text, planned=not negated)


@define("no_action")
def _no_action(pml_scenario: ScenarioState) -> None:
    pml_scenario.expect_no_action()
