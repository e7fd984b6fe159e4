"""The local adapter: a folder of evidence becomes a subject; anything unreadable fails closed."""

from __future__ import annotations

import hashlib
import json

import pytest

from pml_policy.adapters import adapter_for, fetch
from pml_policy.base.errors import EvidenceError, UsageError

from ..helpers import ROOT, run_cli


def test_manifest_conventions_and_artifacts(tmp_path):
    (tmp_path / "pml.yaml").write_text(
        "model: {name: credit-scorer, version: 7, aliases: [challenger]}\n"
        "run: {id: r1, user: ana, git_commit: abc1234, start_time: '2026-11-20T10:00:00Z'}\n"
        "tags: {use_case: credit, data.version: v3}\n"
    )
    (tmp_path / "metrics.json").write_text(json.dumps({"val_auc": 0.81, "eval": {"loss": 0.2}}))
    (tmp_path / "params.yaml").write_text("lr: 0.01\nuse_gpu: true\nlayers: [64, 32]\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "model_card.md").write_text("# card\n")
    s = fetch(str(tmp_path))
    assert (s.model.name, s.model.version, s.model.aliases) == ("credit-scorer", "7", ["challenger"])
    assert (s.run.id, s.run.user, s.run.git_commit, s.run.start_time.year) == ("r1", "ana", "abc1234", 2026)
    assert s.metrics == {"val_auc": 0.81, "eval.loss": 0.2}
    assert s.params == {"lr": "0.01", "use_gpu": "true", "layers": "[64, 32]"}
    assert s.tags == {"use_case": "credit", "data.version": "v3"}
    card = next(a for a in s.artifacts if a.path == "sub/model_card.md")
    assert card.size == 7 and card.sha256 == hashlib.sha256(b"# card\n").hexdigest()
    assert {a.path for a in s.artifacts} == {"pml.yaml", "metrics.json", "params.yaml", "sub/model_card.md"}


def test_the_digest_changes_with_any_evidence(tmp_path):
    (tmp_path / "metrics.json").write_text('{"a": 1}')
    first = fetch(str(tmp_path)).digest
    assert fetch(str(tmp_path)).digest == first
    (tmp_path / "notes.txt").write_text("x")
    assert fetch(str(tmp_path)).digest != first


def test_dvc_layout():
    s = fetch(str(ROOT / "examples" / "churn-dvc"))
    assert s.metrics["val_auc"] == 0.83 and s.metrics["train.loss"] == 0.31
    assert s.params["data_version"] == "v12" and s.params["train.lr"] == "0.01"


def test_manifest_names_its_files(tmp_path):
    (tmp_path / "pml.yaml").write_text("metrics: out/scores.json\nparams: {depth: 4}\n")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "scores.json").write_text('{"f1": 0.7}')
    s = fetch(str(tmp_path))
    assert s.metrics == {"f1": 0.7} and s.params == {"depth": "4"}


@pytest.mark.parametrize(
    "files, fragment",
    [
        ({"metrics.json": '{"a": 1,'}, "metrics.json:1:9: malformed JSON"),
        ({"pml.yaml": "model: [unclosed"}, "pml.yaml:1:17: malformed YAML"),
        ({"pml.yaml": "modle: {name: x}"}, "invalid manifest: modle: Extra inputs are not permitted"),
        ({"pml.yaml": "metrics: nope.json"}, "nope.json: the metrics file named in pml.yaml does not exist"),
        ({"metrics.json": "[1, 2]"}, "metrics must be a mapping"),
    ],
)
def test_unreadable_evidence_is_an_evidence_error(tmp_path, files, fragment):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(EvidenceError) as info:
        fetch(str(tmp_path))
    assert fragment in info.value.message


def test_missing_folder_and_unknown_scheme(tmp_path):
    with pytest.raises(EvidenceError, match="does not exist"):
        fetch(str(tmp_path / "nope"))
    with pytest.raises(
        UsageError,
        match="no installed adapter reads this kind of reference \\(installed: local, mlflow, sagemaker, wandb\\)",
    ):
        adapter_for("s3://bucket/run")


def test_check_exits_3_on_unreadable_evidence_and_writes_nothing(tmp_path):
    (tmp_path / "metrics.json").write_text("{broken")
    out = tmp_path / "report.json"
    result = run_cli("check", str(tmp_path), "-p", "policies/starter", "--format", "json", "-o", str(out))
    assert result.exit_code == 3
    assert "malformed JSON" in result.stderr and "Traceback" not in result.output
    assert not out.exists()
