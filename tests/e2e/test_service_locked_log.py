"""Readiness that means it (the service as a real process, its SQLite log locked by another
process): /readyz turns 503 with the reason while a write cannot start, a decision waits at most
--write-wait and then answers 503 with Retry-After (never a minute's hang), and both recover when
the lock is let go."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from .serving import INLINE, Service


def test_a_log_locked_elsewhere_is_not_ready_and_a_decision_waits_a_bounded_time(workspace: Path):
    service = Service(workspace, "--write-wait", "2")
    try:
        assert service.call("POST", "/v1/check", json={"subjects": [INLINE]}).status_code == 200  # the log exists
        assert service.call("GET", "/readyz").status_code == 200
        holder = sqlite3.connect(workspace / "audit.db", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another process's write transaction, left open
        try:
            ready = service.call("GET", "/readyz")
            assert ready.status_code == 503 and "another process holds its lock" in ready.json()["detail"]
            started = time.monotonic()
            check = service.call("POST", "/v1/check", json={"subjects": [INLINE]})
            waited = time.monotonic() - started
            assert check.status_code == 503 and int(check.headers["retry-after"]) > 0, check.text
            assert "not recorded" in check.json()["detail"], check.text
            assert 1.5 < waited < 20, waited  # about --write-wait, not SQLite's minute
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert service.call("GET", "/readyz").status_code == 200
        after = service.call("POST", "/v1/check", json={"subjects": [INLINE]})
        assert after.status_code == 200, after.text
        assert service.call("GET", "/v1/audit/verify").json()["ok"] is True
    finally:
        service.stop()
