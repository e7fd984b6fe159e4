"""`pml-policy test`: run .feature files with pytest-bdd, without the user writing any Python.

The runner checks what it can before anything runs (the feature files parse, the policies load),
then writes a one-line test module binding the features into a private temporary folder and runs
pytest in-process on it, isolated from the project's pytest configuration and other plugins. A
collector plugin turns pytest's reports into ScenarioResults: which step went wrong, where, and why.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest
from pytest_bdd.exceptions import GherkinParseError
from pytest_bdd.gherkin_parser import get_gherkin_document
from pytest_bdd.scenario import scenario_wrapper_template_registry
from pytest_bdd.utils import registry_get_safe

from pml_policy.adapters.base import AdapterConfig
from pml_policy.base.errors import EXIT_EVIDENCE, EXIT_POLICY_FAILED, EXIT_USAGE, PmlError, Unreadable, UsageError
from pml_policy.base.files import files_under, read_limited
from pml_policy.base.links import page
from pml_policy.engine import PolicySet, load

from .coverage import CoverageReport
from .plugin import relative, session_of, use_adapters, where
from .vocabulary import closest

Outcome = Literal["passed", "failed", "error", "skipped"]


@dataclass
class ScenarioResult:
    feature: str  # the feature's name
    file: str  # the .feature file, as the user named it
    name: str  # the scenario, with its example values for an outline
    line: int
    outcome: Outcome = "passed"
    step: str | None = None  # the step that went wrong, as written
    where: str | None = None  # its file:line
    message: str = ""
    suggestions: list[str] = field(default_factory=list)  # for an undefined step
    exit_code: int = 0
    seconds: float = 0.0  # setup, steps and teardown, as pytest timed them


@dataclass
class RunResult:
    scenarios: list[ScenarioResult]
    coverage: CoverageReport

    @property
    def exit_code(self) -> int:
        """The worst of the scenarios' codes: 3 evidence unreadable, 2 a mistake in a scenario, 1 a failure."""
        return max((s.exit_code for s in self.scenarios), default=0)


def feature_files(paths: list[str]) -> list[Path]:
    """The .feature files named, or found under the folders named, in a stable order."""
    found = files_under(
        paths, ".feature", "feature path", "pass .feature files or folders of them; default: ./features"
    )
    if not found:
        raise UsageError(f"no .feature files under: {', '.join(paths)}", f"write one: {page('writing-scenarios')}")
    return found


MAX_FEATURE_BYTES = 1 << 20  # one feature file


def check_features(files: list[Path]) -> None:
    """Every Gherkin syntax error of every file, located, before anything runs; and every file
    that would pass without checking anything (no feature, no scenario, a scenario without steps)."""
    errors = []
    for f in files:
        try:
            read_limited(f, MAX_FEATURE_BYTES, "feature file")  # size, kind and encoding, in one line
            document = get_gherkin_document(str(f.resolve()))
        except Unreadable as exc:
            errors.append(exc.message)
        except GherkinParseError as exc:
            errors.append(f"{f}:{exc.line}: {exc.message}\n    {exc.line_content.strip()}")
        except KeyError:  # pytest-bdd's parser, on a document without a Feature
            errors.append(f"{f}: no Feature: in this file (it is empty, or only comments)")
        else:
            errors.extend(_empty(f, document.feature) or _same_names(f, document.feature))
    if errors:
        raise UsageError(
            "\n".join(errors)
            + f"\n{len(errors)} problem{'s' if len(errors) > 1 else ''} in the feature files; no scenario was run",
            f"see the Gherkin basics: {page('writing-scenarios')}",
        )


def _scenarios(feature: Any) -> list[Any]:
    children = [c for top in feature.children for c in ([top] + (top.rule.children if top.rule else []))]
    return [c.scenario for c in children if c.scenario is not None]


def _empty(f: Path, feature: Any) -> list[str]:
    """A feature or a scenario that would pass without checking anything."""
    scenarios = _scenarios(feature)
    if not scenarios:
        return [f"{f}:{feature.location.line}: the feature has no scenario: nothing would be checked"]
    return [
        f'{f}:{s.location.line}: scenario "{s.name}" has no steps: it would pass without checking anything'
        for s in scenarios
        if not s.steps
    ]


def _same_names(f: Path, feature: Any) -> list[str]:
    """pytest-bdd keeps one scenario per name in a file: a second of the same name would never run."""
    first: dict[str, int] = {}
    errors = []
    for scenario in _scenarios(feature):
        name, line = scenario.name, scenario.location.line
        if name in first:
            errors.append(
                f'{f}:{line}: a second scenario named "{name}" (the first is at line {first[name]}); give each '
                "scenario of a file its own name"
            )
        first.setdefault(name, line)
    return errors


def run(
    paths: list[str], policy_paths: list[str], tags: str | None = None, adapters: AdapterConfig | None = None
) -> RunResult:
    """Run the scenarios of the feature files under `paths` against the policies; never raises for
    a failing scenario (see RunResult), only for what stops the whole run (UsageError, PolicyError)."""
    files = feature_files(paths)
    check_features(files)
    policies = load(policy_paths)  # an invalid policy stops the run here, with every error located
    collector = Collector(policy_paths, policies, adapters or AdapterConfig.from_env())
    with tempfile.TemporaryDirectory(prefix="pml-test-") as tmp:
        module = Path(tmp) / "test_pml_scenarios.py"
        module.write_text(f"from pytest_bdd import scenarios\n\nscenarios(*{[str(f.resolve()) for f in files]!r})\n")
        (Path(tmp) / "pytest.ini").write_text("[pytest]\n")
        args = [
            str(module),
            "-c",
            str(Path(tmp) / "pytest.ini"),
            f"--rootdir={tmp}",
            "-q",
            "--import-mode=importlib",
            "-p",
            "no:cacheprovider",
            "-p",
            "pytest_bdd.plugin",
            "-p",
            "pml_policy.scenarios.plugin",
            "-p",
            "pml_policy.scenarios.steps",
            "-W",
            "ignore::pytest.PytestUnknownMarkWarning",
            *(f"--pml-policies={p}" for p in policy_paths),
            *(["-m", tags] if tags else []),
        ]
        with _isolated() as output:
            code = pytest.main(args, plugins=[collector])
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED, pytest.ExitCode.NO_TESTS_COLLECTED):
        raise PmlError(
            f"the scenarios could not be run (pytest exit {int(code)}):\n{collector.problems or output.getvalue()}"
        )
    return RunResult(collector.results(), collector.coverage())


@contextlib.contextmanager
def _isolated() -> Iterator[io.StringIO]:
    """Only the plugins the scenarios need (not the project's conftest, not other installed plugins,
    not PYTEST_ADDOPTS), and pytest's own output kept aside: the runner reports in business terms."""
    saved = {k: os.environ.pop(k, None) for k in ("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "PYTEST_ADDOPTS", "PYTEST_PLUGINS")}
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    output = io.StringIO()
    try:
        with contextlib.redirect_stdout(output):
            yield output
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class Collector:
    """A pytest plugin that keeps, for each scenario, what went wrong in the user's terms."""

    def __init__(self, policy_paths: list[str], policies: PolicySet, adapters: AdapterConfig) -> None:
        self._policies = (policy_paths, policies)
        self._adapters = adapters
        self.config: Any = None
        self._results: dict[str, ScenarioResult] = {}
        self._reported: set[str] = set()
        self.problems = ""

    def pytest_configure(self, config: Any) -> None:
        self.config = config
        session_of(config).add(*self._policies)  # loaded once: the scenarios use what run() checked
        use_adapters(config, self._adapters)

    def pytest_collectreport(self, report: Any) -> None:
        if report.failed:
            self.problems += report.longreprtext + "\n"

    def pytest_collection_finish(self, session: Any) -> None:
        """A result for each scenario selected to run (after --tags), known before any runs."""
        for item in session.items:
            template = registry_get_safe(scenario_wrapper_template_registry, getattr(item, "obj", None))
            if template is None:
                continue
            example = getattr(getattr(item, "callspec", None), "params", {}).get("_pytest_bdd_example")
            name = template.name + (" [" + ", ".join(f"{k}={v}" for k, v in example.items()) + "]" if example else "")
            self._results[item.nodeid] = ScenarioResult(
                template.feature.name, relative(self.config, template.feature.filename), name, template.line_number
            )

    def _at_step(self, request: Any, feature: Any, step: Any) -> ScenarioResult | None:
        """The running scenario's result, with the step that went wrong and where it is."""
        result = self._results.get(request.node.nodeid)
        if result is not None:
            result.step, result.where = (
                f"{step.keyword} {step.name}",
                where(self.config, feature.filename, step.line_number),
            )
        return result

    def pytest_bdd_step_error(
        self,
        request: Any,
        feature: Any,
        scenario: Any,
        step: Any,
        step_func: Any,
        step_func_args: Any,
        exception: BaseException,
    ) -> None:
        result = self._at_step(request, feature, step)
        if result is None:
            return
        result.outcome, result.exit_code = _classify(exception)
        result.message = _message(exception).removeprefix(f"{result.where}: ")

    def pytest_bdd_step_func_lookup_error(
        self, request: Any, feature: Any, scenario: Any, step: Any, exception: BaseException
    ) -> None:
        result = self._at_step(request, feature, step)
        if result is None:
            return
        result.outcome, result.exit_code = "error", EXIT_USAGE
        result.message = "this step is not in the vocabulary (pml-policy test --list-steps shows every step)"
        result.suggestions = closest(step.type, step.name)

    def pytest_runtest_logreport(self, report: Any) -> None:
        result = self._results.get(report.nodeid)
        if result is None:
            return
        self._reported.add(report.nodeid)
        result.seconds += report.duration
        if report.skipped:
            result.outcome, result.message = "skipped", _skip_reason(report)
        elif report.failed and result.outcome == "passed":  # failed outside a step (a fixture, the plugin)
            result.outcome, result.exit_code, result.message = (
                "error",
                EXIT_USAGE,
                report.longreprtext.strip().splitlines()[-1],
            )

    def results(self) -> list[ScenarioResult]:
        for nodeid, result in self._results.items():
            if nodeid not in self._reported:  # never a silent pass: pytest stopped before running it
                result.outcome, result.exit_code, result.message = "error", EXIT_USAGE, "the scenario did not run"
        return list(self._results.values())

    def coverage(self) -> CoverageReport:
        session = session_of(self.config)
        session.load(session.policy_paths)  # rules no scenario reached count too
        return session.coverage.report()


def _classify(exc: BaseException) -> tuple[Outcome, int]:
    if isinstance(exc, AssertionError):  # ScenarioFailure: the policy decided otherwise
        return "failed", EXIT_POLICY_FAILED
    if isinstance(exc, PmlError):
        return "error", exc.exit_code
    return "error", EXIT_EVIDENCE if isinstance(exc, OSError) else EXIT_USAGE


def _message(exc: BaseException) -> str:
    if isinstance(exc, PmlError):
        return exc.render()
    if isinstance(exc, AssertionError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _skip_reason(report: Any) -> str:
    longrepr = report.longrepr
    return str(longrepr[2]).removeprefix("Skipped: ") if isinstance(longrepr, tuple) else "skipped"
