"""The pytest side of the step library: where the policies are, one session (loaded policies and
coverage) per run, and the location of each step for messages. Inert in a run with no PML steps.

Under plain pytest the policies come from `--pml-policies PATH` or the ini option `pml_policies`
(paths relative to the ini file), else ./policies; `--pml-coverage` prints the rule coverage.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import pytest

from pml_policy.base.errors import PmlError

if TYPE_CHECKING:  # the plugin loads in every pytest run of the environment: the engine only when used
    from pml_policy.adapters.base import AdapterConfig
    from pml_policy.engine import PolicySet

STEPS_MODULE = "pml_policy.scenarios.steps"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("pml-policy", "pml-policy scenarios")
    group.addoption(
        "--pml-policies",
        action="append",
        metavar="PATH",
        help="Policy file or folder the scenarios evaluate (repeatable). Default: ini pml_policies, else ./policies.",
    )
    group.addoption("--pml-coverage", action="store_true", help="Print which rules the scenarios saw pass and fail.")
    parser.addini("pml_policies", "Policy files or folders the PML scenarios evaluate.", type="paths", default=[])


class Session:
    """What the scenarios of one run share: the policies, loaded once per set of paths, and coverage."""

    def __init__(self, policy_paths: list[str], adapters: AdapterConfig) -> None:
        from .coverage import Coverage

        self.policy_paths = policy_paths
        self.adapters = adapters  # how `the MLflow model …` steps reach the registry
        self.coverage = Coverage()
        self._loaded: dict[tuple[str, ...], PolicySet] = {}

    def add(self, paths: list[str], policies: PolicySet) -> None:
        """Policies loaded from these paths (`pml-policy test` loads them first, to check them)."""
        self._loaded[tuple(paths)] = policies
        self.coverage.know(policies)

    def load(self, paths: list[str]) -> PolicySet:
        if tuple(paths) not in self._loaded:
            from pml_policy.engine import load

            self.add(paths, load(paths))
        return self._loaded[tuple(paths)]


_SESSION = pytest.StashKey[Session]()


def use_adapters(config: pytest.Config, adapters: AdapterConfig) -> None:
    """The registry settings `pml-policy test` was given, for this run's evidence steps."""
    session_of(config).adapters = adapters


def session_of(config: pytest.Config) -> Session:
    if _SESSION not in config.stash:
        paths = config.getoption("pml_policies") or [str(p) for p in config.getini("pml_policies")] or ["policies"]
        from pml_policy.adapters.base import AdapterConfig

        config.stash[_SESSION] = Session(paths, AdapterConfig.from_env())
    return config.stash[_SESSION]


def relative(config: pytest.Config, filename: str) -> str:
    """A feature file's path relative to where pytest was started (as people type it)."""
    return os.path.relpath(filename, config.invocation_params.dir)


def where(config: pytest.Config, filename: str, line: int) -> str:
    """file:line of a step or scenario."""
    return f"{relative(config, filename)}:{line}"


@pytest.hookimpl(optionalhook=True)
def pytest_bdd_before_step(
    request: pytest.FixtureRequest, feature: Any, scenario: Any, step: Any, step_func: Any
) -> None:
    if getattr(step_func, "__module__", None) != STEPS_MODULE:
        return
    state = request.getfixturevalue("pml_scenario")
    state.where = where(request.config, feature.filename, step.line_number)
    state.label = f"{where(request.config, feature.filename, scenario.line_number)} {scenario.name}"


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if not config.getoption("pml_coverage"):
        return
    from .coverage import render

    session = session_of(config)
    try:
        session.load(session.policy_paths)  # rules no scenario reached count too
    except PmlError as exc:
        terminalreporter.write(f"pml-policy coverage: {exc.render()}\n")
        return
    terminalreporter.write(render(session.coverage.report()))
