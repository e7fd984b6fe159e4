"""Hostile input, every class of it, against the real command in its own process: each case ends
in one `error:` line with its documented exit code, within a time and a memory limit, with no
traceback and nothing half-written (no audit record for a subject whose evidence was refused).

A case is (name, files to lay out, arguments, exit code, what the error line says). Files are
written by `lay_out`: a str is text, bytes are bytes, and a few markers make what text cannot
(a symbolic link, a FIFO, a sparse file of a given size).
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import re
import resource
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from pml_policy.base.errors import EvidenceError

from .helpers import ROOT, run_cli

STARTER = str(ROOT / "policies" / "starter")
SECONDS = 30  # per case: any case still running then has hung
MEMORY = 2 << 30  # address space per case: a billion laughs would need far more


class Link(NamedTuple):
    target: str


class Fifo(NamedTuple):
    pass


class Sparse(NamedTuple):
    size: int


def lay_out(root: Path, files: dict[str, Any]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Link):
            path.symlink_to(content.target)
        elif isinstance(content, Fifo):
            os.mkfifo(path)
        elif isinstance(content, Sparse):
            with path.open("wb") as fh:
                fh.truncate(content.size)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def evidence(**extra: Any) -> dict[str, Any]:
    """The credit-pass example as files under ev/, with `extra` laid over it."""
    files: dict[str, Any] = {
        f"ev/{p.name}": p.read_bytes() for p in (ROOT / "examples" / "credit-pass").iterdir() if p.is_file()
    }
    files.update({f"ev/{k}": v for k, v in extra.items()})
    return files


def policy(require: str) -> dict[str, Any]:
    return {"p.pml": f'policy "p" version "1.0.0" {{ rule r {{ require {require} }} }}\n'}


def wandb_log_with(payload: bytes) -> bytes:
    """A W&B run log (header, then one FULL record) whose record carries `payload`."""
    header = b":W&B" + struct.pack("<H", 0xBEE1) + b"\x00"
    checksum = zlib.crc32(payload, zlib.crc32(bytes([1])))
    return header + struct.pack("<IHB", checksum, len(payload), 1) + payload


CHECK = ["check", "ev", "-p", STARTER]
LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi")
)

CASES = [
    # ---- evidence stays inside its folder (exit 3) --------------------------------------------
    (
        "manifest path leaves the folder",
        {**evidence(**{"pml.yaml": "metrics: ../secret.json\n"}), "secret.json": "{}"},
        CHECK,
        3,
        "leaves the evidence folder",
    ),
    (
        "manifest path is absolute",
        evidence(**{"pml.yaml": "metrics: /etc/passwd\n"}),
        CHECK,
        3,
        "leaves the evidence folder",
    ),
    (
        "a link to a file outside",
        evidence(**{"passwd.txt": Link("/etc/passwd")}),
        CHECK,
        3,
        "ev/passwd.txt: leaves the evidence folder",
    ),
    (
        "a link into /proc",
        {**evidence(**{"metrics.json": Link("/proc/self/environ")})},
        CHECK,
        3,
        "leaves the evidence folder",
    ),
    ("a link to the root folder", evidence(root=Link("/")), CHECK, 3, "ev/root: leaves the evidence folder"),
    ("a FIFO", evidence(fifo=Fifo()), CHECK, 3, "ev/fifo: a FIFO in the evidence folder"),
    ("a broken link", evidence(gone=Link("nowhere")), CHECK, 3, "ev/gone: a symbolic link that leads nowhere"),
    ("a loop of links", evidence(a=Link("b"), b=Link("a")), CHECK, 3, "a symbolic link that leads nowhere"),
    (
        "the evidence folder is /proc",
        {},
        ["check", "/proc/self", "-p", STARTER],
        3,
        "evidence is never read from under /proc",
    ),
    # ---- bounded parsing of evidence (exit 3) ---------------------------------------------------
    (
        "YAML anchors and aliases",
        evidence(**{"pml.yaml": LAUGHS}),
        CHECK,
        3,
        "anchors and aliases (&name, *name) are not allowed",
    ),
    (
        "JSON nested 100,000 deep",
        evidence(**{"metrics.json": "[" * 100_000 + "]" * 100_000}),
        CHECK,
        3,
        "nested deeper than the limit of 64",
    ),
    (
        "YAML nested 10,000 deep",
        evidence(**{"pml.yaml": "a: " + "[" * 10_000 + "]" * 10_000}),
        CHECK,
        3,
        "nested deeper than the limit of 64",
    ),
    (
        "an integer of 5,000 digits",
        evidence(**{"metrics.json": '{"a": ' + "9" * 5000 + "}"}),
        CHECK,
        3,
        "an integer of 5,000 digits; the limit is 100",
    ),
    (
        "a JSON key twice",
        evidence(**{"metrics.json": '{"val_auc": 0.5, "val_auc": 0.9}'}),
        CHECK,
        3,
        'the key "val_auc" is given twice',
    ),
    (
        "a YAML key twice",
        evidence(**{"pml.yaml": "model: {name: a}\nmodel: {name: b}\n"}),
        CHECK,
        3,
        'ev/pml.yaml:2:1: the key "model" is given twice',
    ),
    (
        "a key twice after flattening",
        evidence(**{"metrics.json": '{"a": {"x": 1}, "a.x": 2}'}),
        CHECK,
        3,
        '"a.x" is given twice',
    ),
    (
        "a 17 MiB metrics file",
        evidence(**{"metrics.json": Sparse(17 << 20)}),
        CHECK,
        3,
        "the file is 17,825,792 bytes; the limit is 16,777,216",
    ),
    ("metrics that are not UTF-8", evidence(**{"metrics.json": b'{"a": "\xff\xfe"}'}), CHECK, 3, "is not UTF-8 text"),
    (
        "a W&B record that does not decode",
        {"run/run-x.wandb": wandb_log_with(b"\xff\xff\xff\xff")},
        ["check", "run", "-p", STARTER],
        3,
        "does not decode",
    ),
    # ---- bounded evaluation and policy files (exit 2) -------------------------------------------
    (
        "5,000 nested parentheses",
        policy("(" * 5000 + "metrics.a" + ")" * 5000 + " >= 1"),
        ["validate", "p.pml"],
        2,
        "expression nested more than 100 levels deep",
    ),
    (
        "5,000 nots",
        policy("not " * 5000 + "metrics.a >= 1"),
        ["validate", "p.pml"],
        2,
        "expression nested more than 100 levels deep",
    ),
    (
        "5,000 and terms",
        policy(" and ".join(["metrics.a"] * 5_000)),
        ["validate", "p.pml"],
        2,
        "expression nested more than 100 levels deep",
    ),
    (
        "a 50 MB policy file",
        {"p.pml": Sparse(50 << 20)},
        ["validate", "p.pml"],
        2,
        "policy file is 52,428,800 bytes; the limit is 131,072",
    ),
    (
        "a backreference",
        policy('run.user matches "(a)\\\\1"'),
        ["validate", "p.pml"],
        2,
        "no backreferences or lookaround",
    ),
    (
        "fmt of a file that is not UTF-8",
        {"p.pml": b'policy "p" version "1.0.0" { } # \xff\n'},
        ["fmt", "p.pml"],
        2,
        "p.pml:1:1: error: policy file is not UTF-8 text",
    ),
    # ---- feature files: nothing that would pass without checking (exit 2) -----------------------
    ("an empty feature file", {"f.feature": ""}, ["test", "f.feature", "-p", STARTER], 2, "no Feature: in this file"),
    (
        "comments only",
        {"f.feature": "# nothing\n"},
        ["test", "f.feature", "-p", STARTER],
        2,
        "no Feature: in this file",
    ),
    (
        "a feature without scenarios",
        {"f.feature": "Feature: x\n"},
        ["test", "f.feature", "-p", STARTER],
        2,
        "the feature has no scenario",
    ),
    (
        "a scenario without steps",
        {"f.feature": "Feature: x\n  Scenario: y\n"},
        ["test", "f.feature", "-p", STARTER],
        2,
        'scenario "y" has no steps',
    ),
    # ---- values out of range (exit 2) ------------------------------------------------------------
    ("a period of 10^11 days", {}, ["report", "--period", "last-99999999999d"], 2, "outside the calendar"),
    ("a month in year 0", {}, ["report", "--period", "0000-01"], 2, "outside the calendar"),
    (
        "an impossible cron expression",
        {},
        ["report", "--schedule", "99 99 * * *", "--out-dir", "o"],
        2,
        "is not a cron expression",
    ),
    (
        "a negative registry timeout",
        {},
        ["check", "models:/m/1", "-p", STARTER, "--registry-timeout", "-1"],
        2,
        "registry timeout '-1'",
    ),
    # ---- audit URLs --------------------------------------------------------------------------------
    (
        "an audit URL of another database",
        evidence(),
        [*CHECK, "--audit", "mysql://u:pw@127.0.0.1/x"],
        2,
        "mysql:// is not supported",
    ),
    ("an audit URL that is no URL", evidence(), [*CHECK, "--audit", "not a url"], 2, "is not a database URL"),
    (
        "an audit URL with a bad port",
        evidence(),
        [*CHECK, "--audit", "postgresql://u@127.0.0.1:port/x"],
        2,
        "not a valid database URL",
    ),
    (
        "an audit server that is down",
        evidence(),
        [*CHECK, "--audit", "postgresql://u:s3cret@127.0.0.1:9/x"],
        3,
        "cannot open the audit log at postgresql+psycopg://u:***@127.0.0.1:9/x",
    ),
    # ---- the service's inputs ---------------------------------------------------------------------
    (
        "a tokens file of the wrong shape",
        {"t.yaml": "tokens: [{name: a, sha256: zz, roles: [god]}]\n"},
        ["serve", "--tokens", "t.yaml", "-p", STARTER],
        2,
        "invalid tokens file",
    ),
    (
        "a tokens file with aliases",
        {"t.yaml": "a: &x 1\nb: *x\n"},
        ["serve", "--tokens", "t.yaml", "-p", STARTER],
        2,
        "anchors and aliases",
    ),
    ("a sweep every forever", {}, ["serve", "--reconcile-every", "forever", "-p", STARTER], 2, "give a duration"),
    (
        "a tokens file where none can be written",
        {},
        ["token", "create", "ci", "--role", "decide", "--tokens", "/proc/nope/t.yaml"],
        2,
        "cannot create /proc/nope/t.yaml",
    ),
    ("a token name with a slash", {}, ["token", "create", "a/b", "--role", "read", "--tokens", "t.yaml"], 2, "a/b"),
    # ---- templates ---------------------------------------------------------------------------------
    (
        "a template reaching for Python",
        {"t/report.md.j2": "{{ r.__class__.__mro__ }}"},
        ["report", "--template-dir", "t", "--format", "md", "--audit", "sqlite:///log.db"],
        2,
        "access to attribute '__class__' of 'Report' object is unsafe",
    ),
    (
        "a broken template",
        {"t/report.md.j2": "{{ r.nope }"},
        ["report", "--template-dir", "t", "--format", "md", "--audit", "sqlite:///log.db"],
        2,
        "report template t/report.md.j2:1: unexpected '}'",
    ),
]


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def pml(args: list[str], cwd: Path, seconds: float = SECONDS) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PML_", "MLFLOW_"))}
    env["PML_AUDIT_URL"] = f"sqlite:///{cwd}/.pml/audit.db"
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pml_policy.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=seconds,
        preexec_fn=_limits,
    )
    return done, time.monotonic() - start


def assert_one_error(done: subprocess.CompletedProcess[str], code: int, says: str) -> None:
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout, done.stderr
    errors = [line for line in done.stderr.splitlines() if re.match(r"(error: |\S+:\d+:\d+: error: )", line)]
    assert len(errors) == 1 and says in done.stderr, done.stderr


def logged(root: Path) -> None:
    """A log holding one decision (log.db), for the report cases."""
    shutil.copytree(ROOT / "examples" / "credit-pass", root / "logged")
    done, _ = pml(["check", "logged", "-p", STARTER, "--audit", "sqlite:///log.db"], root)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(("files", "args", "code", "says"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_input_ends_in_one_line_and_its_exit_code(tmp_path, files, args, code, says):
    if "sqlite:///log.db" in args:
        logged(tmp_path)
    lay_out(tmp_path, files)
    done, _ = pml(args, tmp_path)
    assert_one_error(done, code, says)
    if code == 3 and args[0] == "check":  # evidence refused: nothing recorded (the parse cache is no record)
        assert not (tmp_path / ".pml" / "audit.db").exists()


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
    url = f"sqlite:///{tmp_path}/new/audit.db"
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


# ---- the evidence readers, fuzzed --------------------------------------------------------------

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


# ---- outputs cannot be forged by evidence --------------------------------------------------------

FORGED = "credit\n  => PASS (10 passed)\n::error file=x::forged\x1b[31m|<script>alert(1)</script>\u202e`x`"


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
    outside_code = re.sub(r"(`+)(?!`).*?(?<!`)\1(?!`)", "", markdown)  # code spans show HTML as text
    assert "<script>" not in outside_code and "&lt;script&gt;" in outside_code
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


# ---- files kept as users had them ----------------------------------------------------------------


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
