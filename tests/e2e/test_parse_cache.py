"""A policy set loads from the parse cache in a fresh process without importing the parser, and
decides the same."""

from __future__ import annotations

import os
import subprocess
import sys

from ..helpers import ROOT
from ..support.parse_cache import STARTER, _entries


def test_a_policy_set_loads_from_the_cache_without_the_parser_and_decides_the_same(tmp_path):
    env = {**os.environ, "PML_CACHE_DIR": str(tmp_path / "cache"), "XDG_CACHE_HOME": str(tmp_path / "home")}
    script = (
        "import sys; from pml_policy.engine import load; from pml_policy.adapters import fetch; "
        "from pml_policy.engine import evaluate; p = load([sys.argv[1]]); "
        "d = evaluate(p, fetch(sys.argv[2])); "
        "print('lark' in sys.modules, d.outcome, *sorted(x.digest for x in p.policies))"
    )
    args = [sys.executable, "-c", script, str(STARTER), str(ROOT / "examples" / "credit-warn")]
    first = subprocess.run(args, env=env, capture_output=True, text=True, check=True).stdout.split()
    assert first[0] == "True" and len(_entries(tmp_path / "cache")) == 4  # parsed, one entry per file
    second = subprocess.run(args, env=env, capture_output=True, text=True, check=True).stdout.split()
    assert second[0] == "False"  # from the cache: lark never imported
    assert second[1:] == first[1:] and first[1] == "warn"  # same outcome, same policy digests
    key = tmp_path / "home" / "pml-policy" / "cache.key"
    assert key.stat().st_mode & 0o777 == 0o600
