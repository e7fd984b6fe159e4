"""The governance service's throughput and latency, beside what CI does today, in one run.

  * `POST /v1/check` with pushed evidence (one recorded decision per request) at 1, 8 and 32
    concurrent clients: recorded decisions per second, p50 and p99 latency; on SQLite and on
    PostgreSQL. Clients are plain keep-alive HTTP connections in threads of this process, which
    shares the machine's two cores with the service (so the figures are a floor for the service);
  * the anchor: one `pml-policy check` process per decision, as a CI job runs it, same evidence,
    same policies, same log;
  * with --mlflow: webhook to applied tag on a real MLflow server (create_model_version returns ->
    the version's governance.status tag is visible), p50 and p99.

Every decision the clients got back is checked to be in the log (counted after each level), so a
rate never counts answers that were not recorded.

    python bench/service.py [--requests 600] [--stores sqlite,postgresql] [--mlflow]

Targets (the service issue): >= 300 recorded decisions/s at 8 clients on either store, p99 <= 100 ms,
>= 30x the process-per-decision rate; webhook to applied tag p99 <= 2 s.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# This folder's mlflow.py (the MLflow bench) would shadow the mlflow package: the root instead.
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent)]
PG_ADMIN = os.environ.get("PML_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TARGETS = {"rate_8": 300.0, "p99_8_ms": 100.0, "speedup": 30.0, "webhook_p99_s": 2.0}
SUBJECT = {
    "reference": "bench",
    "model": {"name": "credit-scorer", "version": "12"},
    "run": {"git_commit": "3e1d0c9f77ab", "user": "ana"},
    "metrics": {"val_auc": 0.86, "val_auc_slice_young": 0.8, "val_ece": 0.02, "dp_gap": 0.01, "eo_gap": 0.01},
    "params": {"data_version": "v1"},
    "tags": {"use_case": "credit", "owner": "risk", "data.version": "v1"},
    "artifacts": [{"path": "model_card.md", "size": 10}],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pml() -> list[str]:
    return [sys.executable, "-m", "pml_policy.cli"]


class Serve:
    def __init__(self, root: Path, audit_url: str, *args: str, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("PML_", "MLFLOW_"))}
        environment.update({"PML_AUDIT_URL": audit_url, **(env or {})})
        self.process = subprocess.Popen(
            [
                *pml(),
                "serve",
                "--port",
                str(self.port),
                "--local-admin",
                "-p",
                str(ROOT / "policies" / "starter"),
                *args,
            ],
            cwd=root,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise SystemExit("the service did not start")

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=30)


def load(port: int, clients: int, requests: int) -> tuple[float, list[float], list[str]]:
    """`requests` POST /v1/check spread over `clients` keep-alive connections; (wall seconds,
    latencies, decision ids answered)."""
    body = json.dumps({"subjects": [SUBJECT]}).encode()
    latencies: list[float] = []
    ids: list[str] = []
    lock = threading.Lock()
    per_client = [requests // clients + (1 if n < requests % clients else 0) for n in range(clients)]

    def client(count: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine, got = [], []
        for _ in range(count):
            started = time.perf_counter()
            connection.request("POST", "/v1/check", body, {"Content-Type": "application/json"})
            response = connection.getresponse()
            payload = response.read()
            mine.append(time.perf_counter() - started)
            if response.status != 200:
                raise SystemExit(f"POST /v1/check answered {response.status}: {payload[:300]!r}")
            got.extend(r["decision"] for r in json.loads(payload)["audit"]["records"])
        with lock:
            latencies.extend(mine)
            ids.extend(got)

    threads = [threading.Thread(target=client, args=(n,)) for n in per_client]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started, latencies, ids


def recorded(audit_url: str) -> set[str]:
    from pml_policy.audit import AuditStore

    store = AuditStore(audit_url, create=False)
    try:
        return {r["id"] for r in store.records(limit=None)}
    finally:
        store.close()


def met(ok: bool) -> str:
    return "met" if ok else "MISSED"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def process_per_decision(root: Path, audit_url: str, runs: int) -> float:
    """Decisions per second when each is a `pml-policy check` process (what a CI step does)."""
    folder = root / "evidence"
    if not folder.exists():
        shutil.copytree(ROOT / "examples" / "credit-pass", folder)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PML_")} | {"PML_AUDIT_URL": audit_url}
    command = [*pml(), "check", str(folder), "-p", str(ROOT / "policies" / "starter")]
    started = time.perf_counter()
    for _ in range(runs):
        subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return runs / (time.perf_counter() - started)


def fresh_store(store: str, root: Path) -> tuple[str, Callable[[], None]]:
    """A throwaway log: bench/audit.py's, loaded by path (this folder is off sys.path, see above)."""
    spec = importlib.util.spec_from_file_location("bench_audit", Path(__file__).with_name("audit.py"))
    assert spec is not None and spec.loader is not None
    audit = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(audit)
    return audit.fresh_url(store, root)


def bench_store(store: str, root: Path, requests: int, runs: int) -> dict[int, tuple[float, float, float]]:
    url, drop = fresh_store(store, root)
    serve = Serve(root, url)
    results: dict[int, tuple[float, float, float]] = {}
    try:
        load(serve.port, 4, 40)  # warm up: imports, first policy registrations
        for clients in (1, 8, 32):
            before = recorded(url)
            wall, latencies, ids = load(serve.port, clients, requests)
            missing = set(ids) - (recorded(url) - before)
            if missing:
                raise SystemExit(f"{len(missing)} answered decisions are not in the log")
            results[clients] = (len(ids) / wall, percentile(latencies, 50) * 1000, percentile(latencies, 99) * 1000)
        anchor = process_per_decision(root, url, runs)
    finally:
        serve.stop()
        drop()
    print(f"\n{store}: POST /v1/check, pushed evidence, one recorded decision per request ({requests} per level)")
    print(f"  {'clients':>8} {'decisions/s':>12} {'p50 ms':>8} {'p99 ms':>8}")
    for clients, (rate, p50, p99) in results.items():
        print(f"  {clients:>8} {rate:>12.0f} {p50:>8.1f} {p99:>8.1f}")
    rate8, _, p99_8 = results[8]
    print(f"  anchor: one `pml-policy check` process per decision: {anchor:.1f} decisions/s")
    print(
        f"  at 8 clients: {rate8:.0f}/s (target >= {TARGETS['rate_8']:.0f}: {met(rate8 >= TARGETS['rate_8'])}), "
        f"p99 {p99_8:.1f} ms (target <= {TARGETS['p99_8_ms']:.0f}: {met(p99_8 <= TARGETS['p99_8_ms'])}), "
        f"{rate8 / anchor:.0f}x the process per decision (target >= {TARGETS['speedup']:.0f}x: "
        f"{met(rate8 / anchor >= TARGETS['speedup'])})"
    )
    return results


def bench_webhooks(root: Path, versions: int) -> None:
    """Webhook to applied tag on a real MLflow server."""
    from mlflow import MlflowClient

    from tests.mlflow_data import MlflowServer, log_version

    server = MlflowServer(root / "mlflow").start()
    secret = "bench-secret"
    serve = Serve(
        root,
        f"sqlite:///{root}/webhook.db",
        "--tracking-uri",
        server.uri,
        "--apply",
        "--reconcile-every",
        "0",
        env={"PML_WEBHOOK_SECRET": secret},
    )
    client = MlflowClient(server.uri)
    delays: list[float] = []
    try:
        client.create_webhook(
            name="bench",
            url=f"http://127.0.0.1:{serve.port}/v1/webhooks/mlflow",
            events=["model_version.created"],
            secret=secret,
        )
        time.sleep(1.5)
        good = {"val_auc_slice_young": 0.8, "val_ece": 0.02, "dp_gap": 0.01, "eo_gap": 0.01}
        tags = {"use_case": "credit", "owner": "risk", "data.version": "v1"}
        for n in range(versions):
            model = f"bench-{n}-{uuid.uuid4().hex[:6]}"
            run_model = log_version(server.uri, model, {"val_auc": 0.86, **good}, {"lr": "0.1"}, tags, {"card.md": "#"})
            registered = time.perf_counter()  # create_model_version has returned
            while "governance.status" not in client.get_model_version(model, run_model).tags:
                if time.perf_counter() - registered > 30:
                    raise SystemExit(f"{model}: no tag within 30 s")
                time.sleep(0.01)
            delays.append(time.perf_counter() - registered)
    finally:
        serve.stop()
        server.stop()
    p50, p99 = percentile(delays, 50), percentile(delays, 99)
    met = "met" if p99 <= TARGETS["webhook_p99_s"] else "MISSED"
    print(
        f"\nwebhook to applied tag on a real MLflow ({versions} versions): p50 {p50:.2f} s, p99 {p99:.2f} s "
        f"(target <= {TARGETS['webhook_p99_s']:.0f} s: {met})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=600, help="requests per concurrency level")
    parser.add_argument("--stores", default="sqlite,postgresql", help="comma-separated; empty: none")
    parser.add_argument("--runs", type=int, default=10, help="`pml-policy check` processes for the anchor")
    parser.add_argument("--mlflow", action="store_true", help="also measure webhook to tag on a real MLflow")
    parser.add_argument("--versions", type=int, default=20, help="versions registered for the webhook figure")
    options = parser.parse_args()
    print(f"pml-policy service bench: {os.cpu_count()} cores; clients and service share them")
    with tempfile.TemporaryDirectory() as tmp:
        for store in filter(None, options.stores.split(",")):
            bench_store(store, Path(tmp), options.requests, options.runs)
        if options.mlflow:
            bench_webhooks(Path(tmp), options.versions)


if __name__ == "__main__":
    main()
