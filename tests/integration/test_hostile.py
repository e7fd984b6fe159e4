"""Hostile input, every class of it (evidence written by the real evidently and wandb libraries
among it), against the real command in its own process: each case ends in one `error:` line with
its documented exit code, within a time and a memory limit, with no traceback and nothing
half-written."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ..helpers import ROOT
from ..support.hostile import (
    CHECK,
    STARTER,
    Fifo,
    Link,
    Sparse,
    assert_one_error,
    evidence,
    lay_out,
    pml,
    policy,
    wandb_log_with,
)

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
