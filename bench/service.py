"""The governance service's throughput and latency, beside what CI does today, in one run.

  * `POST /v1/check` with pushed evidence (one recorded decision per request) at 1, 8 and 32
    concurrent clients, each level lasting --seconds (10 by default), on SQLite and PostgreSQL:
    recorded decisions per second, p50 and p99 latency. The load comes from `wrk` where it is
    installed (a Lua script posts the body; one thread, so it takes little of the cores it shares
    with the service), else from keep-alive connections in threads of this process (--client);
  * the anchor: one `pml-policy check` process per decision, as a CI job runs it (from an
    installed wheel with its .pyc files), same evidence, same policies, same log;
  * the levels and the anchor interleaved round by round (bench/measure.py), the ratio taken
    within each round;
  * with --mlflow: webhook to applied tag on a real MLflow server (create_model_version returns ->
    the version's governance.status tag is visible), p50 and p99.

Every answered decision is checked to be in the log after each level (a rate never counts answers
that were not recorded): with the Python client by id, with wrk by count (every 200 it counted
must be a new record; one still in flight when wrk stops may be recorded too).

    python bench/service.py [--seconds 10] [--rounds 3] [--stores sqlite,postgresql] [--client auto]
                            [--mlflow] [--quick]

Targets (the service issue): >= 300 recorded decisions/s at 8 clients on either store, p99 <= 100 ms,
>= 30x the process-per-decision rate; webhook to applied tag p99 <= 2 s.
"""

from __future__ import annotations

import argparse
import http.client
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

from bulk_logs import fresh_log
from measure import ROOT, Figures, Row, Spread, arguments, duration, interleaved, percentile, positive, stores, verdict
from pml_runs import installed_wheel, pml_command, timed_command

TARGETS = {"rate_8": 300.0, "p99_8_ms": 100.0, "speedup": 30.0, "webhook_p99_s": 2.0}
LEVELS = (1, 8, 32)
SUBJECT = {
    "reference": "bench",
    "model": {"name": "credit-scorer", "version": "12"},
    "run": {"git_commit": "3e1d0c9f77ab", "user": "ana"},
    "metrics": {"val_auc": 0.86, "val_auc_slice_young": 0.8, "val_ece": 0.02, "dp_gap": 0.01, "eo_gap": 0.01},
    "params": {"data_version": "v1"},
    "tags": {"use_case": "credit", "owner": "risk", "data.version": "v1"},
    "artifacts": [{"path": "model_card.md", "size": 10}],
}
BODY = json.dumps({"subjects": [SUBJECT]})
WRK_SCRIPT = """wrk.method = "POST"
wrk.body = [==[%s]==]
wrk.headers["Content-Type"] = "application/json"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"answered": %%d, "status_errors": %%d, "socket_errors": %%d, "seconds": %%f, "p50": %%f, "p99": %%f}\\n',
    summary.requests, e.status, e.connect + e.read + e.write + e.timeout, summary.duration / 1e6,
    latency:percentile(50) / 1e6, latency:percentile(99) / 1e6))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Serve:
    """`pml-policy serve` from the installed wheel, in a process group of its own."""

    def __init__(
        self, root: Path, wheel: dict[str, str], audit_url: str, *args: str, env: dict[str, str] | None = None
    ) -> None:
        self.port = free_port()
        command = pml_command(
            "serve", "--port", str(self.port), "--local-admin", "-p", str(ROOT / "policies" / "starter"), *args
        )
        self.process = subprocess.Popen(
            command,
            cwd=root,
            env={**wheel, "PML_AUDIT_URL": audit_url, **(env or {})},
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
        self.stop()
        raise SystemExit("the service did not start within 60 s")

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=30)


class Level:
    """One concurrency level's rounds: decisions per second, p50 and p99 in seconds."""

    def __init__(self) -> None:
        self.rates: list[float] = []
        self.p50: list[float] = []
        self.p99: list[float] = []


def python_clients(port: int, clients: int, seconds: float) -> tuple[int, float, float, float, set[str]]:
    """Keep-alive connections in threads posting for `seconds`: (answered, wall, p50, p99, ids)."""
    latencies: list[float] = []
    ids: set[str] = set()
    lock = threading.Lock()
    failures: list[str] = []
    stop_at = time.perf_counter() + seconds

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine, got = [], []
        while time.perf_counter() < stop_at and not failures:
            started = time.perf_counter()
            connection.request("POST", "/v1/check", BODY, {"Content-Type": "application/json"})
            response = connection.getresponse()
            payload = response.read()
            mine.append(time.perf_counter() - started)
            if response.status != 200:
                failures.append(f"POST /v1/check answered {response.status}: {payload[:300]!r}")
                break
            got.extend(r["decision"] for r in json.loads(payload)["audit"]["records"])
        with lock:
            latencies.extend(mine)
            ids.update(got)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise SystemExit(failures[0])
    return len(latencies), time.perf_counter() - started, percentile(latencies, 50), percentile(latencies, 99), ids


def wrk_clients(port: int, clients: int, seconds: float, script: Path) -> tuple[int, float, float, float]:
    """wrk, one thread, `clients` connections, for `seconds`: (answered, wall, p50, p99)."""
    command = ["wrk", "-t1", f"-c{clients}", f"-d{max(1, round(seconds))}s", "--timeout", "30s", "-s", str(script)]
    done = subprocess.run(
        [*command, f"http://127.0.0.1:{port}/v1/check"], capture_output=True, text=True, timeout=seconds + 60
    )
    found = json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else None
    if found is None or found["status_errors"] or found["socket_errors"]:
        raise SystemExit(f"wrk: {done.stdout[-600:]}{done.stderr[-300:]}")
    return found["answered"], found["seconds"], found["p50"], found["p99"]


def recorded(audit_url: str) -> set[str]:
    from pml_policy.audit import AuditStore

    store = AuditStore(audit_url, create=False)
    try:
        return {r["id"] for r in store.records(limit=None)}
    finally:
        store.close()


def level(port: int, url: str, clients: int, seconds: float, wrk: Path | None, into: Level) -> Callable[[], None]:
    def run() -> None:
        before = recorded(url)
        if wrk is not None:
            answered, wall, p50, p99 = wrk_clients(port, clients, seconds, wrk)
            new = len(recorded(url) - before)
            if not answered <= new <= answered + clients:
                raise SystemExit(f"wrk counted {answered} answers at {clients} clients; the log gained {new} records")
        else:
            answered, wall, p50, p99, ids = python_clients(port, clients, seconds)
            missing = ids - (recorded(url) - before)
            if missing:
                raise SystemExit(f"{len(missing)} answered decisions are not in the log")
        into.rates.append(answered / wall)
        into.p50.append(p50)
        into.p99.append(p99)

    return run


def bench_store(figures: Figures, store: str, tmp: Path, wheel: dict[str, str], options: argparse.Namespace) -> None:
    seconds, rounds, runs, wrk = options.seconds, options.rounds, options.runs, options.wrk
    folder = tmp / "evidence"
    if not folder.exists():
        shutil.copytree(ROOT / "examples" / "credit-pass", folder)
    check = pml_command("check", str(folder), "-p", str(ROOT / "policies" / "starter"))
    with fresh_log(store, tmp) as url:
        serve = Serve(tmp, wheel, url)
        try:
            python_clients(serve.port, 4, 1.0)  # warm up: imports, first policy registrations
            levels = {n: Level() for n in LEVELS}
            env = {**wheel, "PML_AUDIT_URL": url}
            anchor_runs = lambda: [timed_command(check, env=env, cwd=tmp) for _ in range(runs)]  # noqa: E731
            contenders = {f"{n} clients": (1, level(serve.port, url, n, seconds, wrk, levels[n])) for n in LEVELS}
            series = interleaved({**contenders, "anchor": (runs, anchor_runs)}, rounds)
        finally:
            serve.stop()
    table = f"service ({store})"
    anchor = series["anchor"]
    for n, found in levels.items():
        rate, p99 = Spread.of(found.rates), Spread.of([p * 1000 for p in found.p99])
        beside, target = "", ""
        if n == 8:
            times = Spread.of([a / b for a, b in zip(found.rates, anchor.rates)])
            beside = f"{times.show('.0f', 'x')} a check process per decision ({anchor.rate().show('.1f')}/s)"
            target = "; ".join(
                (
                    verdict(rate.median, TARGETS["rate_8"], figures.quick, unit="/s"),
                    verdict(p99.median, TARGETS["p99_8_ms"], figures.quick, higher_is_better=False, unit=" ms p99"),
                    verdict(times.median, TARGETS["speedup"], figures.quick, unit="x"),
                )
            )
        figures.row(
            table,
            Row(
                f"POST /v1/check, {n} client{'s' if n > 1 else ''}",
                f"{rate.show(unit=' decisions/s')}, p50 {Spread.of([p * 1000 for p in found.p50]).show('.1f', ' ms')}, "
                f"p99 {p99.show('.1f', ' ms')}",
                beside,
                target,
                series[f"{n} clients"].loads().show(".1f"),
            ),
        )


def bench_webhooks(figures: Figures, tmp: Path, wheel: dict[str, str], versions: int) -> None:
    """Webhook to applied tag on a real MLflow server."""
    from mlflow import MlflowClient

    sys.path.insert(0, str(ROOT))  # the tests' MLflow helpers
    from tests.mlflow_data import MlflowServer, log_version

    server = MlflowServer(tmp / "mlflow").start()
    secret = "bench-secret"
    options = ("--tracking-uri", server.uri, "--apply", "--reconcile-every", "0")
    serve = Serve(tmp, wheel, f"sqlite:///{tmp}/webhook.db", *options, env={"PML_WEBHOOK_SECRET": secret})
    client = MlflowClient(server.uri)
    delays: list[float] = []
    started_load = os.getloadavg()[0]
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
            version = log_version(server.uri, model, {"val_auc": 0.86, **good}, {"lr": "0.1"}, tags, {"card.md": "#"})
            registered = time.perf_counter()  # create_model_version has returned
            while "governance.status" not in client.get_model_version(model, version).tags:
                if time.perf_counter() - registered > 30:
                    raise SystemExit(f"{model}: no tag within 30 s")
                time.sleep(0.01)
            delays.append(time.perf_counter() - registered)
    finally:
        serve.stop()
        server.stop()
    p99 = percentile(delays, 99)
    figures.row(
        "webhooks",
        Row(
            f"webhook to applied tag on a real MLflow, {versions} versions",
            f"p50 {percentile(delays, 50):.2f} s, p99 {p99:.2f} s",
            "",
            verdict(p99, TARGETS["webhook_p99_s"], figures.quick, higher_is_better=False, unit=" s"),
            Spread.of([started_load, os.getloadavg()[0]]).show(".1f"),
        ),
    )


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--seconds", type=duration, default=10.0, help="how long each concurrency level lasts")
    parser.add_argument("--rounds", type=positive, default=3)
    parser.add_argument("--stores", type=stores, default=["sqlite", "postgresql"], help="comma-separated; empty: none")
    parser.add_argument(
        "--runs", type=positive, default=10, help="`pml-policy check` processes per round for the anchor"
    )
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto", help="auto: wrk when installed")
    parser.add_argument("--mlflow", action="store_true", help="also measure webhook to tag on a real MLflow")
    parser.add_argument("--versions", type=positive, default=20, help="versions registered for the webhook figure")
    options = parser.parse_args()
    if options.quick:
        options.seconds, options.rounds, options.runs, options.versions = 1.0, 1, 2, 3
    if options.client == "wrk" and shutil.which("wrk") is None:
        raise SystemExit("--client wrk: wrk is not installed (apt-get install wrk)")
    use_wrk = options.client != "python" and shutil.which("wrk") is not None
    figures = Figures("service", options.quick)
    clients = "wrk, one thread" if use_wrk else "Python threads"
    print(f"pml-policy service bench: {os.cpu_count()} cores shared by the clients ({clients}) and the service")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        wheel = installed_wheel(tmp)
        options.wrk = None
        if use_wrk:
            options.wrk = tmp / "post.lua"
            options.wrk.write_text(WRK_SCRIPT % BODY)
        figures.note(f"load from {clients}, {options.seconds:g} s per level")
        for store in options.stores:
            bench_store(figures, store, tmp, wheel, options)
        if options.mlflow:
            bench_webhooks(figures, tmp, wheel, options.versions)
    figures.save(options.record)


if __name__ == "__main__":
    main()
