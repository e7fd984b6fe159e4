"""The parse cache: a policy file parsed once per text, and never a pickle this user's pml-policy
did not write (a cache entry can run code when loaded)."""

from __future__ import annotations

import hashlib
import pickle

from pml_policy.engine import load, parse_cache

from ..support.parse_cache import STARTER, _entries


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
