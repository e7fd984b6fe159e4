"""`operational tags` (1.3): tags other tools write on a version (a deployment tool's
`deploy.region`) are left out of what approvals and decisions bind."""

from __future__ import annotations

import pytest

from pml_policy.engine.formatter import fmt
from pml_policy.engine.parser import parse
from pml_policy.engine.signoffs import bound_digest

from ..helpers import policies, run_cli, subject

GATE = (
    'policy "gate" version "1.0.0" {\n  operational tags "deploy.*", "argo.sync"\n\n'
    "  rule r {\n    require metrics.auc > 0.8\n  }\n}\n"
)


def test_operational_tags_parse_format_and_are_unbound(tmp_path):
    assert fmt(parse(GATE, "gate.pml"), GATE) == GATE  # canonical form, kept as written
    managed = policies(tmp_path, GATE).managed_tags
    assert "deploy.region" in managed and "argo.sync" in managed and "argo.health" not in managed
    before = subject(tags={"use_case": "credit"})
    shipped = subject(tags={"use_case": "credit", "deploy.region": "prod-eu"})
    retrained = subject(tags={"use_case": "credit", "data.version": "v2"})
    assert bound_digest(before, managed) == bound_digest(shipped, managed)
    assert bound_digest(before, managed) != bound_digest(retrained, managed)


@pytest.mark.parametrize(
    "text", ['operational tags ""', 'operational tags "*"', "operational tags", 'operational "deploy.*"']
)
def test_a_malformed_operational_clause_is_a_located_error(tmp_path, text):
    broken = tmp_path / "broken.pml"
    broken.write_text(f'policy "p" version "1.0.0" {{\n  {text}\n  rule r {{ require metrics.auc > 0.8 }}\n}}\n')
    checked = run_cli("validate", str(broken))
    assert checked.exit_code == 2 and "broken.pml:" in checked.output and "Traceback" not in checked.output


def test_diff_says_when_operational_tags_change(tmp_path):
    old, new = tmp_path / "old.pml", tmp_path / "new.pml"
    old.write_text(GATE)
    new.write_text(GATE.replace(', "argo.sync"', ""))
    shown = run_cli("diff", str(old), str(new))
    assert shown.exit_code == 1 and "`operational tags` changed (argo.sync, deploy.* -> deploy.*)" in shown.stdout
