"""The examples in the package's docstrings run, and say what they print (doctest), from the
repository's root as a reader would run them."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import pml_policy

from ..helpers import ROOT

MODULES = sorted(
    m.name for m in pkgutil.walk_packages(pml_policy.__path__, "pml_policy.") if not m.name.endswith("__main__")
)


def _examples(name: str) -> list[doctest.DocTest]:
    module = importlib.import_module(name)
    return [t for t in doctest.DocTestFinder().find(module, name) if t.examples]


WITH_EXAMPLES = [name for name in ["pml_policy", *MODULES] if _examples(name)]


def test_the_public_api_shows_a_running_example():
    """The package, the workspace and check each show an example that runs (not skipped)."""
    for name in ("pml_policy", "pml_policy.usecases.workspace", "pml_policy.usecases.checking"):
        runnable = [e for t in _examples(name) for e in t.examples if not e.options.get(doctest.SKIP)]
        assert runnable, f"{name} has no example that runs"


@pytest.mark.parametrize("name", WITH_EXAMPLES)
def test_docstring_examples_run(name, monkeypatch):
    monkeypatch.chdir(ROOT)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in _examples(name):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed (see the output)"
