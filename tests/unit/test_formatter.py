"""fmt: canonical, idempotent, keeps comments, and never changes what a policy means."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pml_policy.engine.formatter import fmt
from pml_policy.engine.parser import parse

from .. import strategies
from ..helpers import ROOT, run_cli

SETTINGS = settings(suppress_health_check=[HealthCheck.too_slow])


ONE_LINE = 'policy "p" version "1.0.0" { rule r "t" { enforce soft require metrics.a >= 1 } }'


CANONICAL = """\
policy "p" version "1.0.0" {
  rule r "t" {
    enforce soft
    require metrics.a >= 1
  }
}
"""


@pytest.mark.slow
@SETTINGS
@given(strategies.files)
def test_parse_of_fmt_means_the_same_as_the_tree(tree):
    text = fmt(tree)
    reparsed = parse(text, "generated.pml")
    assert reparsed.model_dump() == tree.model_dump()
    assert fmt(reparsed) == text


@pytest.mark.slow
@SETTINGS
@given(strategies.files, st.data())
def test_comments_survive_fmt_and_fmt_is_idempotent(tree, data):
    lines = fmt(tree).split("\n")
    commented = []
    for i, line in enumerate(lines):
        if data.draw(st.booleans(), label=f"comment after line {i}"):
            line += f"  # note {i}"
        if data.draw(st.integers(0, 4), label=f"own-line comment before {i}") == 0:
            commented.append(f"# own {i}")
        commented.append(line)
    source = "\n".join(commented) + "\n"
    once = fmt(parse(source, "c.pml"))
    assert parse(once, "c.pml").model_dump() == tree.model_dump()
    assert fmt(parse(once, "c.pml")) == once
    for marker in [c.split("#", 1)[1] for c in commented if "#" in c and c.lstrip().startswith("#")]:
        assert marker in once
    for i in range(len(lines)):
        if f"# note {i}" in source:
            assert f"# note {i}" in once


def test_layout_carries_no_meaning():
    assert fmt(parse(ONE_LINE)) == CANONICAL
    assert parse(ONE_LINE).model_dump() == parse(CANONICAL).model_dump()


def test_comments_are_kept_where_written():
    source = """\
# header
policy "p" version "1.0.0" {   # after the brace
  rule r {
    require metrics.a >= 1     # why this threshold
    # left at the end of the rule
  }
}  # trailing the policy
"""
    out = fmt(parse(source))
    assert (
        out
        == """\
# header
policy "p" version "1.0.0" {
  # after the brace
  rule r {
    require metrics.a >= 1  # why this threshold
    # left at the end of the rule
  }
}  # trailing the policy
"""
    )


def test_starter_library_is_in_canonical_form():
    result = run_cli("fmt", "--check", "policies/")
    assert result.exit_code == 0, result.output


def test_fmt_rewrites_in_place_and_check_reports(tmp_path):
    f = tmp_path / "p.pml"
    f.write_text(ONE_LINE)
    check = run_cli("fmt", "--check", str(f))
    assert check.exit_code == 1 and "would reformat" in check.output
    assert f.read_text() == ONE_LINE
    assert run_cli("fmt", str(f)).exit_code == 0
    assert f.read_text() == CANONICAL
    assert run_cli("fmt", "--check", str(f)).exit_code == 0


def test_fmt_refuses_a_broken_file_and_leaves_it_alone(tmp_path):
    f = tmp_path / "p.pml"
    f.write_text('policy "p" version "1.0.0" { rule r { require } }')
    result = run_cli("fmt", str(f))
    assert result.exit_code == 2
    assert f"{f}:1:" in result.stderr
    assert f.read_text() == 'policy "p" version "1.0.0" { rule r { require } }'


def test_dsl_example_round_trips():
    text = (ROOT / "tests" / "data" / "dsl_example.pml").read_text()
    tree = parse(text)
    assert parse(fmt(tree)).model_dump() == tree.model_dump()
    assert "# false -> the rule is skipped, and says why" in fmt(tree)
