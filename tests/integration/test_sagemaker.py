"""The SageMaker adapter and registry against moto's server mode: a real HTTP server on loopback that
emulates SageMaker and S3 (AWS itself is out of reach here; these tests say nothing about AWS's own
quirks beyond what moto reproduces). Packages are registered through boto3 with their reports in S3,
the way examples/sagemaker/register.py does it for a new user."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import time
import uuid

import pytest

from ..helpers import recorded_then, run_cli
from ..support.sagemaker import CREDENTIALS, GATE, MotoServer, approve, packages, sagemaker

pytestmark = pytest.mark.slow


def _register_one(group: str, statistics: bytes, digest: str | None = None) -> None:
    import boto3

    bucket = f"pml-{group}"
    boto3.client("s3").create_bucket(Bucket=bucket)
    boto3.client("s3").put_object(Bucket=bucket, Key="statistics.json", Body=statistics)
    source = {"ContentType": "application/json", "S3Uri": f"s3://{bucket}/statistics.json"}
    if digest:
        source["ContentDigest"] = digest
    sagemaker().create_model_package_group(ModelPackageGroupName=group)
    sagemaker().create_model_package(
        ModelPackageGroupName=group,
        ModelApprovalStatus="PendingManualApproval",
        InferenceSpecification={
            "Containers": [{"Image": "x"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        ModelMetrics={"ModelQuality": {"Statistics": source}},
    )


def test_a_package_becomes_a_subject_with_its_reports_metadata_and_model_data(group):
    from pml_policy.adapters.base import AdapterConfig
    from pml_policy.adapters.sagemaker import SageMakerAdapter

    adapter = SageMakerAdapter(AdapterConfig.from_env({**os.environ, "PML_HASH_ARTIFACTS": "1"}))
    s = adapter.fetch(f"sagemaker:{group}/2")
    assert (s.source, s.model.name, s.model.version, s.model.aliases) == ("sagemaker", group, "2", [])
    assert s.model.source == f"s3://pml-{group}/{group}/v2/model.tar.gz"
    assert s.metrics["auc"] == 0.871 and s.metrics["auc_std"] == 0.002 and s.metrics["item_count"] == 5000
    assert s.metrics["bias.age_group.DPPL"] == 0.024
    assert s.run.git_commit == "8a77c2e0b1d4" and s.run.user and s.run.start_time is not None
    assert s.run.start_time.utcoffset().total_seconds() == 0
    assert s.tags["use_case"] == "credit" and s.tags["sagemaker.approval_status"] == "PendingManualApproval"
    assert s.tags["sagemaker.repository"] == "https://git.example.com/risk/credit-scorer"
    (artifact,) = s.artifacts
    assert (artifact.path, artifact.size) == ("model.tar.gz", len(b"model weights " * 64))
    assert artifact.sha256 == hashlib.sha256(b"model weights " * 64).hexdigest()
    by_arn = adapter.fetch(f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{group}/2")
    assert by_arn.digest == s.digest  # the same evidence, whichever way it is named


def test_the_decision_is_the_same_as_on_a_local_folder_with_the_same_evidence(group, tmp_path):
    import yaml

    from pml_policy.adapters.lookup import fetch
    from pml_policy.engine import evaluate, load

    policies = load([GATE])
    remote = fetch(f"sagemaker:{group}/1")
    folder = tmp_path / "evidence"
    folder.mkdir()
    (folder / "metrics.json").write_text(json.dumps(remote.metrics))
    (folder / "model.tar.gz").write_bytes(b"model weights " * 64)
    (folder / "pml.yaml").write_text(
        yaml.safe_dump(
            {
                "model": {"name": group, "version": 1},
                "run": {"git_commit": remote.run.git_commit, "user": remote.run.user},
                "tags": remote.tags,
            }
        )
    )
    local = fetch(str(folder))
    one, other = evaluate(policies, remote), evaluate(policies, local)
    assert one.outcome == other.outcome == "pass"
    assert [(r.ref, r.outcome, r.message) for r in one.rules] == [(r.ref, r.outcome, r.message) for r in other.rules]


def test_govern_plans_then_approves_the_best_passing_package_and_tags_the_others(group, private_audit_log):
    plan = run_cli("govern", f"sagemaker:{group}", "-p", GATE)
    assert plan.exit_code == 0, plan.output
    assert 'PLAN  planned    alias "champion" -> version 2' in plan.stdout
    assert {v: status for v, (status, _) in packages(group).items()} == {
        "1": "PendingManualApproval",
        "2": "PendingManualApproval",
        "3": "PendingManualApproval",
    }  # a plan changes nothing

    applied = run_cli("govern", f"sagemaker:{group}", "-p", GATE, "--apply")
    assert applied.exit_code == 0, applied.output
    assert packages(group) == {
        "1": ("PendingManualApproval", {"use_case": "credit", "owner": "risk-models", "governance.status": "rejected"}),
        "2": ("Approved", {"use_case": "credit", "owner": "risk-models", "governance.status": "approved"}),
        "3": ("PendingManualApproval", {"use_case": "credit", "owner": "risk-models", "governance.status": "rejected"}),
    }
    again = run_cli("govern", f"sagemaker:{group}", "-p", GATE, "--apply")
    assert again.exit_code == 0 and "=> 4 unchanged" in again.stdout, again.output

    listed = run_cli("audit", "list", "--model", group)
    assert listed.exit_code == 0, listed.output
    assert f"sagemaker:{group}/2" in listed.stdout
    assert run_cli("audit", "verify").exit_code == 0


def test_approving_an_older_version_sends_newer_approved_ones_back_to_pending(group):
    approve(group, "3")  # by hand: the newest Approved version is the champion, and it fails the floor
    result = run_cli("govern", f"sagemaker:{group}", "-p", GATE, "--apply")
    assert result.exit_code == 0, result.output
    assert "champion version 3" in result.stdout
    assert 'alias "champion" -> version 2' in result.stdout and "version 3 set back to PendingManualApproval" in (
        result.stdout
    )
    statuses = {v: status for v, (status, _) in packages(group).items()}
    assert statuses == {"1": "PendingManualApproval", "2": "Approved", "3": "PendingManualApproval"}
    champion = run_cli("check", f"sagemaker:{group}@champion", "-p", GATE, "--format", "json")
    assert json.loads(champion.stdout)["decisions"][0]["subject"]["reference"] == f"sagemaker:{group}@champion"
    assert f"{group} v2" in run_cli("check", f"sagemaker:{group}@champion", "-p", GATE).stdout


def test_check_apply_acts_on_one_package(group):
    result = run_cli("check", f"sagemaker:{group}/3", "-p", GATE, "--apply")
    assert result.exit_code == 1, result.output
    assert packages(group)["3"] == (
        "PendingManualApproval",
        {"use_case": "credit", "owner": "risk-models", "governance.status": "rejected"},
    )
    assert packages(group)["1"][1].get("governance.status") is None  # only the package checked


def test_a_server_stopped_halfway_leaves_the_log_true_and_a_rerun_finishes(moto, group, private_audit_log):
    """The server stops answering (SIGSTOP) after the first change; the next change fails within the
    time budget; what the log says applied is what the registry has; a rerun finishes the job."""
    from pml_policy.adapters.base import AdapterConfig
    from pml_policy.adapters.sagemaker import SageMakerAdapter
    from pml_policy.engine import load
    from pml_policy.usecases.governing import decide_versions
    from pml_policy.usecases.plan import apply
    from pml_policy.usecases.recording import record
    from pml_policy.usecases.workspace import Workspace

    adapter = SageMakerAdapter(AdapterConfig(endpoint_url=moto.url, timeout=6))
    ws = Workspace.open(load([GATE]), audit_url=private_audit_log, actor="tester")
    governed = decide_versions(ws, group, adapter)  # decided and planned; recorded, then applied by hand
    record(ws, governed)
    store = ws.log.store()
    try:
        started = time.monotonic()
        attempted = apply(
            governed.changes, adapter, recorded_then(store, lambda: os.killpg(moto.process.pid, signal.SIGSTOP))
        )
        assert time.monotonic() - started < 30  # bounded by the budget, not minutes of retries
    finally:
        os.killpg(moto.process.pid, signal.SIGCONT)
    assert [c.state for c in attempted] == ["applied", "failed"]
    assert [r["state"] for r in store.changes(attempted[0].decision_id)] == ["planned", "applied"]
    assert f"SageMaker at {moto.url}" in store.changes(attempted[1].decision_id)[-1]["detail"]
    assert packages(group)["1"][1]["governance.status"] == "rejected"  # the one applied
    assert "governance.status" not in packages(group)["2"][1]  # never made
    assert packages(group)["2"][0] == "PendingManualApproval"  # never approved before its tags

    rerun = run_cli("govern", f"sagemaker:{group}", "-p", GATE, "--apply")
    assert rerun.exit_code == 0, rerun.output
    assert 'SAME  unchanged  tag governance.status = "rejected" on version 1' in rerun.stdout
    assert packages(group)["2"][0] == "Approved"


@pytest.mark.parametrize(
    ("ref", "words"),
    [
        ("sagemaker:no-such-group/1", 'model package group "no-such-group": ValidationException'),
        ("sagemaker:{group}/9", 'model package group "{group}" has no version 9'),
    ],
)
def test_what_is_not_there_is_named(group, ref, words):
    result = run_cli("check", ref.format(group=group), "-p", GATE)
    assert result.exit_code == 3
    assert words.format(group=group) in result.stderr and "hint:" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 2


def test_a_malformed_endpoint_or_no_region_is_a_usage_error(monkeypatch):
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    result = run_cli("check", "sagemaker:credit/1", "-p", GATE, "--endpoint-url", "not a url")
    assert result.exit_code == 2 and "Invalid endpoint: not a url" in result.stderr and "Traceback" not in result.output
    for key in ("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    result = run_cli("check", "sagemaker:credit/1", "-p", GATE)
    assert result.exit_code == 2 and "You must specify a region" in result.stderr


def test_the_only_alias_is_the_champion(group):
    result = run_cli("check", f"sagemaker:{group}@staging", "-p", GATE)
    assert result.exit_code == 2 and 'SageMaker has no alias "staging"' in result.stderr
    none_yet = run_cli("check", f"sagemaker:{group}@champion", "-p", GATE)
    assert none_yet.exit_code == 3 and "has no Approved version" in none_yet.stderr


@pytest.mark.parametrize(
    ("body", "digest", "words"),
    [
        (b'{"binary_classification_metrics": {"auc": {"value": 0.9}}}', "sha256:" + "0" * 64, "does not match its "),
        (b"{not json", None, "is not readable JSON"),
        (b"[" * 100 + b"]" * 100, None, "nested deeper than the limit"),
    ],
)
def test_a_report_that_cannot_be_trusted_or_read_is_exit_3(aws, body, digest, words):
    group = f"bad-{uuid.uuid4().hex[:8]}"
    _register_one(group, body, digest)
    result = run_cli("check", f"sagemaker:{group}/1", "-p", GATE)
    assert result.exit_code == 3, result.output
    assert words in result.stderr and f"s3://pml-{group}/statistics.json" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_endpoint_that_refuses_or_never_answers_is_exit_3_within_the_budget(aws, monkeypatch):
    import socket

    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens on the discard port
    started = time.monotonic()
    refused = run_cli("check", "sagemaker:credit/1", "-p", GATE)
    assert time.monotonic() - started < 30
    assert refused.exit_code == 3 and refused.stderr.startswith("error: SageMaker at http://127.0.0.1:9: ")

    with socket.socket() as silent:  # accepts connections and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{silent.getsockname()[1]}")
        started = time.monotonic()
        hung = run_cli("govern", "sagemaker:credit", "-p", GATE, "--registry-timeout", "2")
        assert time.monotonic() - started < 10
    assert hung.exit_code == 3 and "no answer within 2 s" in hung.stderr, hung.output


def test_missing_credentials_and_access_denied_are_exit_3_with_what_to_do(tmp_path, monkeypatch):
    """A second emulator with its IAM enforced: a user allowed only to list is denied the rest."""
    import boto3

    server = MotoServer(tmp_path, {"INITIAL_NO_AUTH_ACTION_COUNT": "3"})  # the three IAM calls below
    try:
        for key, value in {**CREDENTIALS, "AWS_ENDPOINT_URL": server.url}.items():
            monkeypatch.setenv(key, value)
        iam = boto3.client("iam")
        iam.create_user(UserName="reader")
        allowed = {"Effect": "Allow", "Action": ["sagemaker:ListModelPackages"], "Resource": "*"}
        iam.put_user_policy(
            UserName="reader",
            PolicyName="list-only",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [allowed]}),
        )
        key = iam.create_access_key(UserName="reader")["AccessKey"]
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
        denied = run_cli("check", "sagemaker:credit/1", "-p", GATE)
        assert denied.exit_code == 3, denied.output
        assert "AccessDenied: User: arn:aws:iam::123456789012:user/reader is not authorized" in denied.stderr
        assert "the credentials need sagemaker:ListModelPackages" in denied.stderr
        assert key["SecretAccessKey"] not in denied.output

        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            monkeypatch.delenv(name)
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
        monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
        monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
        anonymous = run_cli("check", "sagemaker:credit/1", "-p", GATE)
        assert anonymous.exit_code == 3 and "no AWS credentials" in anonymous.stderr, anonymous.output
    finally:
        server.stop()
