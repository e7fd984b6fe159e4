"""Inbox workers: threads that take jobs from the durable inbox and hand each to the reaction use
case, one model at a time (the inbox's claim sees to that, across replicas too). A job that fails
is retried with backoff, then kept as a dead letter; a worker never dies of a job."""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from collections.abc import Callable

from pml_policy.audit.database import Database
from pml_policy.audit.inbox import claim, fail, finish
from pml_policy.base.errors import PmlError
from pml_policy.base.secrets import redact
from pml_policy.usecases.reacting import Governance, react

from .metrics import Metrics

log = logging.getLogger("pml_policy.service")


class Workers:
    def __init__(self, audit_url: str, governance: Callable[[], Governance], metrics: Metrics, poll: float) -> None:
        self.audit_url = audit_url
        self.governance = governance  # fresh per job: the policies in force then, a fresh registry budget
        self.metrics = metrics
        self.poll = poll
        self.wakeup = threading.Event()
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self, count: int) -> None:
        prefix = f"{socket.gethostname()}:{os.getpid()}"
        for n in range(count):
            thread = threading.Thread(target=self._run, args=(f"{prefix}:{n}",), name=f"pml-worker-{n}", daemon=True)
            thread.start()
            self.threads.append(thread)

    def wake(self) -> None:
        self.wakeup.set()

    def stop(self) -> None:
        self.stopping.set()
        self.wakeup.set()
        for thread in self.threads:
            thread.join(timeout=30)

    def _run(self, name: str) -> None:
        db = Database(self.audit_url)  # a connection of its own (sqlite3 connections stay in their thread)
        try:
            while not self.stopping.is_set():
                if not self.run_one(db, name):
                    self.wakeup.wait(self.poll)
                    self.wakeup.clear()
        finally:
            db.close()

    def run_one(self, db: Database, name: str) -> bool:
        """Handle the next job, if any; False when there was none to take."""
        try:
            job = claim(db, name)
        except db.errors() as exc:  # the database went away: try again at the next poll
            log.warning(json.dumps({"event": "inbox unreachable", "error": redact(str(exc).splitlines()[0])}))
            return False
        if job is None:
            return False
        ctx = self.governance()
        try:
            result = react(ctx, job.event, json.loads(job.body).get("data") or {})
        except PmlError as exc:
            state = fail(db, job, redact(exc.message))
            self.metrics.jobs.labels("failed" if state == "pending" else "dead").inc()
            log.warning(json.dumps({"job": job.id, "event": job.event, "state": state, "error": redact(exc.message)}))
            return True
        except Exception as exc:  # a bug or a library's surprise: the job is retried, the worker lives on
            message = f"{type(exc).__name__}: {redact(str(exc).splitlines()[0] if str(exc) else '')}"
            state = fail(db, job, message)
            self.metrics.jobs.labels("failed" if state == "pending" else "dead").inc()
            log.exception(json.dumps({"job": job.id, "event": job.event, "state": state}))
            return True
        finish(db, job, result)
        self.metrics.jobs.labels("done").inc()
        for change in ctx.changes:
            self.metrics.changes.labels(change.state).inc()
        for outcome in ctx.outcomes:
            self.metrics.decisions.labels(outcome).inc()
        log.info(json.dumps({"job": job.id, "event": job.event, "model": job.model, "result": result}))
        return True
