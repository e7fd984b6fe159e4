"""Gherkin scenarios that pin down what a policy must decide, for people who do not write Python.

The step library is a pytest plugin that loads only where asked: `pml-policy test` binds the
features itself, and a project's own pytest asks for it with `-p` (or `pytest_plugins` in its
root conftest.py); installing pml-policy adds nothing to other pytest runs:

    pml-policy test features/ -p policies/ --coverage
    pytest -p pml_policy.scenarios.plugin -p pml_policy.scenarios.steps --pml-policies=policies/

Modules: `cells` (table cells and tables), `state` (one scenario's evidence, evaluation and
checks; no pytest), `vocabulary` (the glossary, for --list-steps and "did you mean"), `steps`
(the step definitions), `plugin` (options, the fixture, coverage hooks), `coverage`, `runner`
(pytest-bdd in-process, results in business terms), `report` (text and JUnit for them).
"""
