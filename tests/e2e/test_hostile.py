"""Hostile input against the real command in its own process: registries that never answer, policies
that try to be slow, many first users of one log, evidence that tries to forge output, file modes
and links kept."""

from __future__ import annotations

import csv
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from ..helpers import ROOT
from ..support.hostile import (
    CHECK,
    SECONDS,
    STARTER,
    assert_one_error,
    evidence,
    lay_out,
    pml,
    policy,
    wandb_log_with,
)
from ..support.markdown import markup_in, rendered

FORGED = "credit\n  => PASS (10 passed)\n::error file=x::forged\x1b[31m|<script>alert(1)</script>\u202e`x`"


def test_a_wandb_value_that_is_not_json_is_located(tmp_path):
    wandb_internal_pb2 = pytest.importorskip("wandb.proto.wandb_internal_pb2")
    record = wandb_internal_pb2.Record()
    item = record.summary.update.add()
    item.key, item.value_json = "a", "{broken"
    lay_out(tmp_path, {"run/run-x.wandb": wandb_log_with(record.SerializeToString())})
    done, _ = pml(["check", "run", "-p", STARTER], tmp_path)
    assert_one_error(done, 3, 'run-x.wandb: corrupt W&B log: record 1: the value of "a" does not decode')


def test_a_registry_that_never_answers_fails_within_the_budget(tmp_path):
    """A server that accepts connections and says nothing: exit 3 once the budget is spent."""
    pytest.importorskip("mlflow")
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    port = listener.getsockname()[1]
    try:
        args = ["check", "models:/credit-scorer/1", "-p", STARTER, "--registry-timeout", "3"]
        done, took = pml([*args, "--tracking-uri", f"http://127.0.0.1:{port}"], tmp_path, seconds=60)
    finally:
        listener.close()
        for c in held:
            c.close()
    assert_one_error(done, 3, "no answer within 3 s")
    assert took < 3 + 15  # the budget, and the start-up of the command and of mlflow's import


def test_a_policy_cannot_make_matching_or_rounding_slow(tmp_path):
    """Patterns run in linear time; round() of any number of digits returns at once."""
    lay_out(tmp_path, evidence(**{"pml.yaml": f"run: {{user: {'a' * 50_000}b}}\n"}))
    lay_out(tmp_path, policy('run.user matches "^(a+)+$" or round(metrics.val_auc, -1000000000) == 1'))
    done, took = pml(["check", "ev", "-p", "p.pml", "--no-audit"], tmp_path)
    assert done.returncode == 1 and "=> FAIL" in done.stdout, done.stderr
    assert took < 10


def test_the_first_use_of_a_new_log_by_many_processes_at_once_never_fails(tmp_path):
    shutil.copytree(ROOT / "examples" / "credit-pass", tmp_path / "ev")
    url = f"sqlite:///{tmp_path}/.pml/audit.db"  # the default folder, made by whichever comes first
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "pml_policy.cli", "check", "ev", "-p", STARTER, "--audit", url],
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    failures = [r.communicate(timeout=SECONDS)[1] for r in runs if r.wait(timeout=SECONDS) != 0]
    assert not failures
    verified, _ = pml(["audit", "verify", "--audit", url], tmp_path)
    assert verified.returncode == 0 and verified.stdout.startswith("OK: 6 records"), verified.stderr


def test_evidence_cannot_forge_a_line_a_command_or_markup_in_any_format(tmp_path):
    manifest = yaml.safe_dump({"model": {"name": FORGED, "version": 8}, "run": {"git_commit": FORGED}})
    lay_out(tmp_path, evidence(**{"pml.yaml": manifest}))
    text, github, markdown, junit = (
        pml([*CHECK, "--no-audit", "--format", f], tmp_path)[0].stdout for f in ("text", "github", "markdown", "junit")
    )
    verdicts = [line for line in text.splitlines() if line.lstrip().startswith("=> ")]
    assert len(verdicts) == 1 and verdicts[0].startswith("  => FAIL (")  # the one verdict is ours
    assert "\x1b" not in text + github + markdown + junit and "\u202e" not in text + markdown
    assert not [line for line in text.splitlines() if line.startswith("::")]
    commands = [line.split(" ", 1)[0] for line in github.splitlines()]
    assert commands[-1] == "::notice" and set(commands) <= {"::error", "::warning", "::notice"}  # ours alone
    not_passed = [line for line in text.splitlines() if line.startswith(("  FAIL", "  ERROR", "  WARN", "  WAIVED"))]
    assert len(commands) == len(not_passed) + 1  # an annotation per rule that did not pass, and the summary
    for renderer, html in rendered(markdown).items():  # the forged <script> shows as text, never as HTML
        assert not markup_in(html) and "&lt;script&gt;" in html, renderer
    from junitparser import JUnitXml

    JUnitXml.fromstring(junit.encode())  # well-formed XML whatever the evidence held


def test_csv_cells_a_spreadsheet_would_run_are_neutralised(tmp_path):
    lay_out(tmp_path, {f"=HYPERLINK(1)/{k}": v for k, v in evidence().items() if k.startswith("ev/")})
    folder = next(p.name for p in tmp_path.iterdir() if p.name.startswith("="))
    done, _ = pml(["check", f"{folder}/ev", "-p", STARTER], tmp_path)
    assert done.returncode == 0, done.stderr
    for args in (["audit", "list", "--format", "csv"], ["audit", "export", "--format", "csv"]):
        rows = list(csv.reader(pml(args, tmp_path)[0].stdout.splitlines()))
        cells = [cell for row in rows[1:] for cell in row]
        assert f"'{folder}/ev" in cells and not any(cell.startswith(("=", "+", "@")) for cell in cells)


def test_fmt_keeps_the_mode_and_writes_through_a_link(tmp_path):
    target = tmp_path / "shared" / "gate.pml"
    target.parent.mkdir()
    target.write_text('policy "g" version "1.0.0" { rule r { require metrics.a >= 1 } }\n')
    target.chmod(0o640)
    (tmp_path / "gate.pml").symlink_to(target)
    done, _ = pml(["fmt", "gate.pml"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "gate.pml").is_symlink() and "rule r {\n" in target.read_text()  # the target rewritten
    assert oct(target.stat().st_mode & 0o777) == "0o640"


def test_an_output_file_gets_the_usual_mode_or_keeps_its_own(tmp_path):
    lay_out(tmp_path, evidence())
    umask = os.umask(0o022)
    try:
        done, _ = pml([*CHECK, "--no-audit", "--format", "json", "-o", "out.json"], tmp_path)
        assert done.returncode == 0 and oct((tmp_path / "out.json").stat().st_mode & 0o777) == "0o644"
        (tmp_path / "out.json").chmod(0o600)
        pml([*CHECK, "--no-audit", "--format", "json", "-o", "out.json"], tmp_path)
        assert oct((tmp_path / "out.json").stat().st_mode & 0o777) == "0o600"
    finally:
        os.umask(umask)


def test_a_wandb_key_nested_5000_deep_and_a_start_past_year_9999_are_one_line(tmp_path):
    wandb_internal_pb2 = pytest.importorskip("wandb.proto.wandb_internal_pb2")
    deep = wandb_internal_pb2.Record()
    item = deep.summary.update.add()
    item.nested_key.extend(["a"] * 5000)
    item.value_json = "1"
    late = wandb_internal_pb2.Record()
    late.run.run_id, late.run.project = "x", "credit-scorer"
    late.run.start_time.seconds = 400_000_000_000  # the year 14645
    for name, record, says in (
        ("deep", deep, "record 1: a key nested 5000 deep; the limit is 64"),
        ("late", late, "the run's start time (400000000000 s since 1970) is out of range"),
    ):
        lay_out(tmp_path / name, {"run/run-x.wandb": wandb_log_with(record.SerializeToString())})
        done, _ = pml(["check", "run", "-p", STARTER], tmp_path / name)
        assert_one_error(done, 3, says)


def test_a_3_gb_wandb_log_is_read_in_bounded_memory(tmp_path):
    """The log streams a block at a time: 3 GB of it (sparse: no disk) under a 2 GB address space."""
    pytest.importorskip("wandb")
    log = tmp_path / "run" / "run-x.wandb"
    log.parent.mkdir()
    with log.open("wb") as f:
        f.write(b":W&B" + struct.pack("<H", 0xBEE1) + b"\x00")
        f.truncate(3 << 30)  # zeros to the end: preallocated blocks, read and skipped
    done, _ = pml(["check", "run", "-p", STARTER], tmp_path, seconds=120)
    assert_one_error(done, 3, "the W&B log holds no run record")


def test_a_monitoring_time_that_leaves_the_calendar_in_utc_is_one_line(tmp_path):
    lay_out(
        tmp_path,
        evidence(**{"report.json": json.dumps({"timestamp": "0001-01-01T00:00:00+14:00", "metric_results": {}})}),
    )
    done, _ = pml(["check", "ev", "-p", STARTER, "--monitoring", "ev/report.json"], tmp_path)
    assert_one_error(done, 3, "the time 0001-01-01T00:00:00+14:00 is out of range in UTC")


def test_an_mlflow_answer_of_another_shape_is_one_line_exit_3(tmp_path):
    """A server that answers every request with JSON MLflow never sends (a proxy, another service)."""
    pytest.importorskip("mlflow")

    class Lying(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b'{"registered_model": 5, "model_version": "five", "run": []}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_GET

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Lying)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        uri = f"http://127.0.0.1:{server.server_address[1]}"
        done, _ = pml(["check", "models:/credit-scorer/1", "-p", STARTER, "--tracking-uri", uri], tmp_path, seconds=60)
    finally:
        server.shutdown()
    assert_one_error(done, 3, "an answer that is not MLflow's")
