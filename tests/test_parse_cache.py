"""The parse cache: a policy file parsed once per text, and never a pickle this user's pml-policy
did not write (a cache entry can run code when loaded)."""

from __future__ import annotations

import hashlib
import os
import pickle
import subprocess
import sys

from pml_policy.engine import load, parse_cache

from .helpers import ROOT

STARTER = ROOT / "policies" / "starter"


def _entries(cache) -> list:
    return sorted(p for p in (cache / "policies").rglob("*") if p.is_file())


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


def test_a_cache_entry_not_signed_here_is_never_unpickled(tmp_path, monkeypatch):
    monkeypatch.setenv("PML_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home"))
    load([STARTER])
    entries = _entries(tmp_path / "cache")
    marker = tmp_path / "ran"

    class Payload:  # what a hostile pickle does: run code when loaded
        def __reduce__(self):
            return (open, (str(marker), "w"))

    forged = pickle.dumps(Payload())
    for entry in entries:  # a committed .pml/ or another machine's cache: a MAC under another key
        entry.write_bytes(hashlib.sha256(b"other key").digest() + forged)
    policies = load([STARTER])
    assert not marker.exists()  # never loaded
    assert len(policies.policies) == 4  # parsed afresh
    assert all(e.read_bytes()[32:] != forged for e in entries)  # and the entries written anew


def test_an_edited_file_is_parsed_again_and_an_empty_cache_dir_turns_the_cache_off(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PML_CACHE_DIR", str(tmp_path / "cache"))
    policy = tmp_path / "p.pml"
    policy.write_text('policy "p" version "1.0.0" { rule r { enforce hard require metrics.auc >= 0.8 } }\n')
    assert load([policy]).policies[0].rules[0].required == "metrics.auc >= 0.8"
    policy.write_text('policy "p" version "1.0.0" { rule r { enforce hard require metrics.auc >= 0.9 } }\n')
    assert load([policy]).policies[0].rules[0].required == "metrics.auc >= 0.9"
    assert len(_entries(tmp_path / "cache")) == 2  # one per text
    monkeypatch.setenv("PML_CACHE_DIR", "")
    assert parse_cache.lookup(str(policy), policy.read_text()) is None
    load([policy])
    assert len(_entries(tmp_path / "cache")) == 2
