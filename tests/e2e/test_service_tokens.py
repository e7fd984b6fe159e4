"""Tokens with a life cycle (the service as a real process): `pml-policy token revoke` and an
expiry take effect at the token's next request, with no restart; a tokens file that cannot be read
accepts no token until it is fixed; `token list` never shows a hash."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from .serving import INLINE, Service, _wait


def _pml(workspace: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pml_policy.cli", *args], cwd=workspace, capture_output=True, text=True, timeout=60
    )


def _create(workspace: Path, name: str, *options: str) -> str:
    made = _pml(workspace, "token", "create", name, "--role", "read", "--tokens", "tokens.yaml", *options)
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


def test_a_revoked_or_expired_token_is_refused_at_its_next_request(workspace: Path):
    kept, revoked = _create(workspace, "dashboard"), _create(workspace, "contractor")
    expiring = _create(workspace, "temp", "--expires", "4s")
    service = Service(workspace, "--tokens", "tokens.yaml")
    try:
        for token in (kept, revoked, expiring):
            assert service.call("GET", "/v1/decisions", token).status_code == 200

        assert _pml(workspace, "token", "revoke", "contractor", "--tokens", "tokens.yaml").returncode == 0
        refused = service.call("GET", "/v1/decisions", revoked)
        assert refused.status_code == 401 and "revoked" in refused.json()["detail"], refused.text
        assert service.call("GET", "/v1/decisions", kept).status_code == 200

        added = _create(workspace, "newcomer")  # and a token made while it runs is taken as well
        assert service.call("GET", "/v1/decisions", added).status_code == 200

        expired = _wait(lambda: (a := service.call("GET", "/v1/decisions", expiring)).status_code == 401 and a, 10)
        assert "token 'temp' expired at" in expired.json()["detail"]
    finally:
        service.stop()


def test_a_tokens_file_that_cannot_be_read_accepts_no_token_until_fixed(workspace: Path):
    token = _create(workspace, "dashboard")
    service = Service(workspace, "--tokens", "tokens.yaml")
    try:
        good = (workspace / "tokens.yaml").read_text()
        (workspace / "tokens.yaml").write_text("tokens: [{name: broken\n")  # a hand edit gone wrong
        refused = service.call("GET", "/v1/decisions", token)
        assert refused.status_code == 503 and int(refused.headers["retry-after"]) > 0
        assert "no token is accepted while the tokens file cannot be read" in refused.json()["detail"]
        assert service.call("GET", "/healthz").status_code == 200

        (workspace / "tokens.yaml").write_text(good)
        os.killpg(service.process.pid, signal.SIGHUP)  # SIGHUP reads it again too
        _wait(lambda: service.call("GET", "/v1/decisions", token).status_code == 200, 10, "the fixed file is read")
    finally:
        service.stop()


def test_token_list_shows_names_roles_and_times_never_a_hash(workspace: Path):
    _create(workspace, "dashboard")
    _create(workspace, "temp", "--expires", "2099-01-01T00:00:00Z")
    listed = _pml(workspace, "token", "list", "--tokens", "tokens.yaml", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)["tokens"]
    assert [(r["name"], r["roles"], r["expires"], r["expired"]) for r in rows] == [
        ("dashboard", ["read"], None, False),
        ("temp", ["read"], "2099-01-01T00:00:00Z", False),
    ]
    assert all(r["created"].endswith("Z") for r in rows) and "sha256" not in listed.stdout
    text = _pml(workspace, "token", "list", "--tokens", "tokens.yaml").stdout
    assert "dashboard" in text and "until revoked" in text and "expires 2099-01-01T00:00:00Z" in text
    stored = (workspace / "tokens.yaml").read_text()
    assert all(line.split(":")[-1].strip() not in text for line in stored.splitlines() if "sha256" in line)


def test_token_list_says_when_the_log_last_recorded_each_token(workspace: Path):
    ci = _pml(workspace, "token", "create", "ci", "--role", "decide", "--tokens", "tokens.yaml").stdout.strip()
    _create(workspace, "idle")
    service = Service(workspace, "--tokens", "tokens.yaml")
    try:
        assert service.call("POST", "/v1/check", ci, json={"subjects": [INLINE]}).status_code == 200
    finally:
        service.stop()
    listing = ("token", "list", "--tokens", "tokens.yaml")
    listed = _pml(workspace, *listing, "--audit", "sqlite:///audit.db", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    used = {r["name"]: r["last_recorded"] for r in json.loads(listed.stdout)["tokens"]}
    assert used["idle"] is None and used["ci"] is not None and used["ci"].startswith("20"), used
    no_log = _pml(workspace, *listing, "--audit", "sqlite:///none.db")
    assert no_log.returncode == 0 and "last recorded never" in no_log.stdout, no_log.stderr
    assert not (workspace / "none.db").exists()  # listing never creates a log
