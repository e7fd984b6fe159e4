"""Hostile evidence read in process: a local folder, a W&B log and its records, lone surrogates in
evidence and policy text; each is read, or refused with one EvidenceError, never a crash."""

from __future__ import annotations

import contextlib
import json
import struct
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from pml_policy.base.errors import EvidenceError

from ..helpers import run_cli
from ..support.hostile import wandb_log_with

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)


DOCUMENTS = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=300),
    JSON_VALUES.map(lambda v: json.dumps(v, allow_nan=True)),
    JSON_VALUES.map(lambda v: yaml.safe_dump(v, allow_unicode=True)),
    st.sampled_from(["a: &x [1]\nb: *x\n", "{a: 1, a: 2}", "[" * 200, "model: {name: [1]}", "run: {start_time: x}"]),
)


def _write(path: Path, document: str | bytes) -> None:
    path.write_bytes(document if isinstance(document, bytes) else document.encode("utf-8", "surrogatepass"))


@given(metrics=DOCUMENTS, params=DOCUMENTS, manifest=DOCUMENTS)
def test_a_local_folder_is_read_or_refused_with_an_evidence_error(metrics, params, manifest):
    """Whatever the files hold: a subject, or an EvidenceError (exit 3); never anything else."""
    from pml_policy.adapters.local import LocalAdapter

    with tempfile.TemporaryDirectory() as root:
        folder = Path(root)
        _write(folder / "metrics.json", metrics)
        _write(folder / "params.yaml", params)
        _write(folder / "pml.yaml", manifest)
        try:
            subject = LocalAdapter().fetch(root)
        except EvidenceError as exc:
            assert "\n" not in exc.message and "Traceback" not in exc.message
        else:
            assert subject.digest  # a subject that can be evaluated and recorded


@given(records=st.binary(max_size=600))
def test_a_wandb_log_is_read_or_refused_with_an_evidence_error(records):
    pytest.importorskip("wandb")
    from pml_policy.adapters.wandb import subject_from_folder

    with tempfile.TemporaryDirectory() as root:
        header = b":W&B" + struct.pack("<H", 0xBEE1) + b"\x00"
        (Path(root) / "run-x.wandb").write_bytes(header + records)
        with contextlib.suppress(EvidenceError):  # and nothing else
            subject_from_folder(root)


@given(payload=st.binary(max_size=200))
def test_a_wandb_record_with_any_payload_is_read_or_refused_with_an_evidence_error(payload):
    """Records whose checksums hold, so that the payload reaches the protobuf and JSON decoding."""
    pytest.importorskip("wandb")
    from pml_policy.adapters.wandb import subject_from_folder

    with tempfile.TemporaryDirectory() as root:
        (Path(root) / "run-x.wandb").write_bytes(wandb_log_with(payload))
        with contextlib.suppress(EvidenceError):  # and nothing else
            subject_from_folder(root)


def test_a_lone_surrogate_is_refused_in_evidence_and_in_policy_text(tmp_path):
    """`\\ud800` is half of a character: JSON and YAML escapes can write it, nothing can store or hash it."""
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "metrics.json").write_text('{"auc": 0.9}')
    (tmp_path / "run" / "pml.yaml").write_text('tags: {owner: "\\ud800"}\n')
    policy = tmp_path / "p.pml"
    policy.write_text('policy "p" version "1.0.0" { rule r { require metrics.auc > 0.5 } }\n')
    evidence = run_cli("check", str(tmp_path / "run"), "-p", str(policy))
    assert evidence.exit_code == 3 and "lone surrogate" in evidence.stderr and "Traceback" not in evidence.output
    (tmp_path / "run" / "pml.yaml").write_text("tags: {owner: risk}\n")
    (tmp_path / "run" / "metrics.json").write_text('{"\\udc00": 0.9}')
    assert "lone surrogate" in run_cli("check", str(tmp_path / "run"), "-p", str(policy)).stderr
    policy.write_text('policy "p" version "1.0.0" { title "\\ud800" rule r { require metrics.auc > 0.5 } }\n')
    text = run_cli("validate", str(policy))
    assert text.exit_code == 2 and "p.pml:1:" in text.stderr and "lone surrogate" in text.stderr
