"""Gherkin scenarios that pin down what a policy must decide, for people who do not write Python.

The step library is a pytest plugin (entry points `pytest11`: `pml_policy.scenarios.plugin` and
`pml_policy.scenarios.steps`), so a `.feature` file runs under plain `pytest` with pytest-bdd as
well as under `pml-policy test`, which binds the features itself:

    pml-policy test features/ -p policies/ --coverage

Modules: `cells` (table cells and tables), `state` (one scenario's evidence, evaluation and
checks; no pytest), `vocabulary` (the glossary, for --list-steps and "did you mean"), `steps`
(the step definitions), `plugin` (options, the fixture, coverage hooks), `coverage`, `runner`
(pytest-bdd in-process, results in business terms), `report` (text and JUnit for them).
"""
