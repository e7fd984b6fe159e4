"""Faults are contained, budgets hold in threads (the service as a real process): a registry that
trickles a byte at a time fails each request within its budget, fills a bounded number of slots
and no more (429 with Retry-After beyond them), while health, readiness, pushed evidence and
webhooks keep answering."""

from __future__ import annotations

import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from .serving import INLINE, SECRET, Service, signed


class Trickler:
    """A registry that answers every request with an HTTP status line, then one byte every second,
    forever: no read timeout ever fires, so only a total budget ends a call."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.stopped = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn: socket.socket) -> None:
        try:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
            while not self.stopped.is_set():
                conn.sendall(b" ")
                time.sleep(1)
        except OSError:
            pass
        finally:
            conn.close()

    def stop(self) -> None:
        self.stopped.set()
        self.listener.close()


def test_a_trickling_registry_fails_each_request_in_its_budget_and_fills_only_its_slots(workspace):
    registry = Trickler()
    service = Service(
        workspace,
        "--tracking-uri",
        f"http://127.0.0.1:{registry.port}",
        "--registry-timeout",
        "3",
        "--registry-calls",
        "2",
        "--reconcile-every",
        "0",
        env={"PML_WEBHOOK_SECRET": SECRET},
    )
    try:

        def check_ref(_: int) -> tuple[int, float, httpx.Response]:
            started = time.monotonic()
            answer = service.call("POST", "/v1/check", json={"refs": ["models:/credit-scorer/1"]})
            return answer.status_code, time.monotonic() - started, answer

        with ThreadPoolExecutor(6) as pool:
            waiting = [pool.submit(check_ref, n) for n in range(6)]
            time.sleep(1)  # the registry holds every slot now: the rest of the service still answers
            for path in ("/healthz", "/readyz"):
                started = time.monotonic()
                assert service.call("GET", path).status_code == 200 and time.monotonic() - started < 1
            pushed = service.call("POST", "/v1/check", json={"subjects": [INLINE]})
            assert pushed.status_code == 200, pushed.text
            body = json.dumps({"entity": "model_version", "action": "created", "data": {"name": "m", "version": "1"}})
            delivered = service.call("POST", "/v1/webhooks/mlflow", content=body, headers=signed(body.encode()))
            assert delivered.status_code == 200 and delivered.json()["accepted"] is True
            results = [w.result() for w in waiting]
        statuses = sorted(status for status, _, _ in results)
        assert set(statuses) <= {422, 429} and 429 in statuses and 422 in statuses, statuses
        for status, took, answer in results:
            assert took < 3 + 5, took  # within the budget, never the trickle's forever
            if status == 422:
                assert "no answer within 3 s" in answer.json()["detail"]
            else:
                assert answer.headers["Retry-After"] == "5" and "registry calls are already waiting" in answer.text
    finally:
        service.stop()
        registry.stop()
