"""`pml-policy impact` on decisions recorded in PostgreSQL."""

from __future__ import annotations

import shutil

from ..helpers import ROOT, run_cli
from ..support.impact import EXAMPLES, _proposed


def test_impact_reads_postgresql_too(postgres_url, tmp_path, monkeypatch):
    monkeypatch.setenv("PML_AUDIT_URL", postgres_url)
    current = tmp_path / "current"
    shutil.copytree(ROOT / "policies" / "starter", current)
    for example in EXAMPLES:
        run_cli("check", f"examples/{example}", "--champion", "examples/credit-champion", "-p", str(current))
    proposed = _proposed(tmp_path, current, "0.855")
    out = run_cli("impact", "-p", str(proposed))
    assert out.stdout.splitlines()[-1] == "1 of 3 versions would now fail: credit-scorer v9", out.output
