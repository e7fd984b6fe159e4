"""Model cards as evidence (`card.…`): the front matter of a Markdown card, or a CycloneDX
modelCard, archived in a local folder, read by the eu-ai-act pack and by scenarios."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pml_policy.adapters.cards import card_path, read_card
from pml_policy.adapters.local import LocalAdapter
from pml_policy.base.errors import EvidenceError
from pml_policy.engine import evaluate

from ..helpers import ROOT, rule_policy, run_cli, subject
from ..support.cards import FRONT, _rules

CYCLONEDX = {
    "bomFormat": "CycloneDX",
    "specVersion": "1.6",
    "components": [
        {"type": "library", "name": "numpy"},
        {
            "type": "machine-learning-model",
            "name": "credit-scorer",
            "modelCard": {
                "modelParameters": {"task": "classification", "datasets": [{"ref": "applications-2026-11"}]},
                "considerations": {"useCases": ["pre-screening"], "technicalLimitations": ["thin files"]},
            },
        },
    ],
}


def test_front_matter_is_read_flattened_with_dates_as_iso_strings():
    card = read_card("model_card.md", FRONT, "model_card.md")
    assert card == {
        "risk_category": "high",
        "intended_purpose": "Pre-screening",
        "last_reviewed": "2026-11-02",
        "datasets": ["applications-2026-11"],
        "training_data.source": "s3://bucket/applications",
        "training_data.rows": 120000,
    }


def test_a_cyclonedx_model_card_is_read_from_the_component_that_has_one():
    card = read_card("bom.json", json.dumps(CYCLONEDX), "bom.json")
    assert card is not None
    assert card["modelParameters.task"] == "classification"
    assert card["considerations.useCases"] == ["pre-screening"]
    bare = read_card("model_card.json", json.dumps({"modelCard": {"considerations": {"users": ["analysts"]}}}), "x")
    assert bare == {"considerations.users": ["analysts"]}


def test_a_card_without_metadata_is_no_card():
    assert read_card("README.md", "# Just prose\n---\nnot: front matter\n", "README.md") is None
    assert read_card("README.md", "---\n---\n# empty front matter\n", "README.md") is None


@pytest.mark.parametrize(
    ("text", "name", "says"),
    [
        ("---\nrisk: [unclosed\n---\n", "model_card.md", "model_card.md:3:1: malformed YAML"),
        ("---\n- a list\n---\n", "model_card.md", "the card's front matter must be a mapping, not list"),
        ('{"bomFormat": "CycloneDX", "components": []}', "bom.json", "no CycloneDX modelCard"),
        ('{"modelCard": ', "bom.json", "malformed JSON"),
        ("---\na: &x 1\nb: *x\n---\n", "model_card.md", "anchors and aliases"),
    ],
)
def test_a_malformed_card_is_refused_in_one_located_line(text, name, says):
    with pytest.raises(EvidenceError) as caught:
        read_card(name, text, name)
    assert says in caught.value.render() and "\n" not in caught.value.message


def test_which_file_is_the_card():
    assert card_path(["data/x.csv", "README.md", "model_card.md"]) == "model_card.md"
    assert card_path(["model/README.md", "README.md"]) == "README.md"  # the shallowest of one name
    assert card_path(["sbom/model.cdx.json", "notes.txt"]) == "sbom/model.cdx.json"
    assert card_path(["notes.txt"]) is None


def test_a_local_folder_with_a_card_and_the_paths_that_read_it(tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(ROOT / "examples" / "credit-pass", folder)
    (folder / "model_card.md").write_text(FRONT)
    s = LocalAdapter().fetch(str(folder))
    assert s.card is not None and s.card["training_data.rows"] == 120000
    for expr in (
        'card.risk_category == "high"',
        'card.training_data.source == "s3://bucket/applications"',  # dotted path and bracket read the same key
        'card["training_data.source"] matches "^s3://"',
        "len(card.datasets) == 1",
        "age(card.last_reviewed) >= 1d",
        "card exists",
    ):
        ps = rule_policy(tmp_path, f"require {expr}")
        assert evaluate(ps, s).rules[0].outcome == "pass", expr
    ps = rule_policy(tmp_path, "require card.owner exists")
    assert evaluate(ps, s).rules[0].outcome == "fail"
    ps = rule_policy(tmp_path, 'require card.owner == "x"')
    assert evaluate(ps, s).rules[0].outcome == "error"  # missing evidence never passes
    champion = subject(card={"risk_category": "limited"})
    ps = rule_policy(tmp_path, 'require champion.card.risk_category == "limited"')
    assert evaluate(ps, s, champion).rules[0].outcome == "pass"


def test_without_a_card_nothing_moves(tmp_path):
    """A folder without a card has no `card` in its evidence: its digest (and approvals bound to
    it) is what it was before cards were read; a rule that reads one errors."""
    s = LocalAdapter().fetch(str(ROOT / "examples" / "credit-pass"))  # its model_card.md has no front matter
    assert s.card is None
    assert "card" not in s.model_dump(mode="json", exclude_none=True)
    ps = rule_policy(tmp_path, "require card.risk_category exists")
    assert evaluate(ps, s).rules[0].outcome == "fail"
    assert evaluate(rule_policy(tmp_path, 'require card.risk_category == "high"'), s).rules[0].outcome == "error"


def test_an_edited_card_changes_the_digest(tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(ROOT / "examples" / "credit-high-risk", folder)
    before = LocalAdapter().fetch(str(folder)).digest
    card = folder / "model_card.md"
    card.write_text(card.read_text().replace("risk_category: high", "risk_category: limited"))
    assert LocalAdapter().fetch(str(folder)).digest != before


def test_check_on_a_broken_card_exits_3_naming_the_file(tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(ROOT / "examples" / "credit-pass", folder)
    (folder / "model_card.md").write_text("---\nrisk_category: [high\n---\n")
    out = run_cli("check", str(folder), "-p", str(ROOT / "policies" / "eu-ai-act"))
    assert out.exit_code == 3 and "model_card.md:" in out.stderr and "Traceback" not in out.output


def test_the_eu_ai_act_pack_on_the_example(tmp_path):
    out = run_cli("check", "examples/credit-high-risk", "-p", "policies/eu-ai-act", "--format", "json")
    assert out.exit_code == 1  # pending: the human control awaits an overseer
    rules = _rules(out.stdout)
    outcomes = {r["rule"]: r["outcome"] for r in rules}
    assert outcomes.pop("human_oversight") == "pending" and set(outcomes.values()) == {"pass"}
    assert all(r["title"].startswith("Art. ") and "RMF" in r["title"] for r in rules)
    assert "(human control)" in next(r["title"] for r in rules if r["rule"] == "human_oversight")


@given(st.text(max_size=300), st.sampled_from(["model_card.md", "bom.json"]))
def test_any_card_text_is_read_or_refused_never_a_crash(text, name):
    for candidate in (text, f"---\n{text}\n---\n"):
        try:
            card = read_card(name, candidate, name)
        except EvidenceError as exc:
            assert exc.message and "\n" not in exc.message.strip()
            continue
        assert card is None or (isinstance(card, dict) and all(isinstance(k, str) for k in card))
        json.dumps(card)  # evidence is JSON: it can be recorded


def test_a_card_in_a_scenario(tmp_path):
    feature = tmp_path / "card.feature"
    feature.write_text("""Feature: cards
  Scenario: a high-risk card without lineage
    Given the policies in "policies/eu-ai-act"
    And a candidate "credit-scorer" version 3 with
      | metric  | value |
      | val_auc | 0.9   |
    And the model card
      | field         | value |
      | risk_category | high  |
      | datasets      | []    |
    When all policies are evaluated
    Then the rule "data_lineage" fails
    And the rule "risk_classified" passes
""")
    out = run_cli("test", str(feature), "-p", "policies/eu-ai-act")
    assert out.exit_code == 0 and "1 scenario: 1 passed" in out.stdout, out.output


def test_the_card_doc_names_every_rule_of_the_pack():
    doc = (ROOT / "docs" / "eu-ai-act.md").read_text()
    pack = (ROOT / "policies" / "eu-ai-act" / "high-risk.pml").read_text()
    import re

    rules = re.findall(r"^\s*rule (\w+) ", pack, re.M)
    assert len(rules) == 8 and all(f"`{r}`" in doc for r in rules)
    assert "not legal advice" in doc.lower() and "does not cover" in doc
    assert Path(ROOT / "docs" / "language.md").read_text().count("`card.…`") >= 1
