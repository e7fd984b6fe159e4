"""The step library in process: every step the glossary and the guide show is defined, undefined
steps get suggestions, metric cells read as numbers or percentages."""

from __future__ import annotations

import re

import pytest

from pml_policy.scenarios import cells
from pml_policy.scenarios.errors import ScenarioMistake
from pml_policy.scenarios.vocabulary import STEPS, closest

from ..support.scenarios import GUIDE


def test_an_undefined_step_with_a_brace_in_its_quoted_text_still_gets_suggestions():
    assert closest("then", 'the message says "{a"')[0] == 'Then the message mentions "{a"'


def test_every_example_of_the_glossary_and_every_step_of_the_guide_is_a_defined_step():
    guide = GUIDE.read_text()
    examples = [line for s in STEPS.values() for line in s.example.splitlines()]
    scenarios = [line for block in re.findall(r"```gherkin\n(.*?)```", guide, re.S) for line in block.splitlines()]
    quoted = re.findall(r"`((?:Given|When|Then|And) [^`|]+)`", guide)  # inline sentences, not glossary patterns with |
    sentences = [
        line.strip() for line in examples + scenarios + quoted if re.match(r"(Given|When|Then|And) ", line.strip())
    ]
    assert len(sentences) > 2 * len(STEPS)
    for sentence in sentences:
        text = sentence.split(" ", 1)[1]
        assert any(re.fullmatch(s.regex, text) for s in STEPS.values()), sentence
    for step in STEPS.values():  # and the guide's glossary lists every step
        assert f"`{step.keyword} {step.shown.replace('|', chr(92) + '|')}`" in GUIDE.read_text(), step.shown


@pytest.mark.parametrize("text, value", [("0.86", 0.86), ("3%", 0.03), ("12", 12), ("1e-3", 0.001), ("-0.5", -0.5)])
def test_a_metric_cell_is_a_number_or_a_percentage(text, value):
    assert cells.number(text, "m") == pytest.approx(value)


def test_a_metric_cell_that_is_not_a_number_is_a_mistake():
    with pytest.raises(ScenarioMistake, match='m: "high" is not a number'):
        cells.number("high", "m")
