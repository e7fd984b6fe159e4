"""Inbox workers: threads that take jobs from the durable inbox and hand each to the reaction use
case, one model at a time (the inbox's claim sees to that, across replicas too). A job that fails
is retried with backoff, then kept as a dead letter (at once when retrying cannot heal it); a worker
never dies of a job."""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from typing import TYPE_CHECKING

from pml_policy.audit.database import Database
from pml_policy.audit.inbox import LEASE, Job, claim, fail, finish, renew
from pml_policy.base.errors import NoPolicyApplies, NotInRegistry, PmlError, UsageError
from pml_policy.base.secrets import redact
from pml_policy.usecases.reacting import react

if TYPE_CHECKING:
    from .runtime import Service

log = logging.getLogger("pml_policy.service")
# Errors no retry heals: a model or version the registry does not have, a model no policy covers,
# an event that names no model. A job that meets one is a dead letter at once, with the reason.
FINAL = (NotInRegistry, NoPolicyApplies, UsageError)


class Workers:
    def __init__(self, service: Service, poll: float) -> None:
        self.service = service  # each job acts through a fresh view: the policies in force then, its own budget
        self.metrics = service.metrics
        self.poll = poll
        self.wakeup = threading.Event()
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []
        self.running: dict[str, Job] = {}  # worker name -> the job it runs (its lease is renewed)
        self._running_lock = threading.Lock()

    def start(self, count: int) -> None:
        prefix = f"{socket.gethostname()}:{os.getpid()}"
        for n in range(count):
            thread = threading.Thread(target=self._run, args=(f"{prefix}:{n}",), name=f"pml-worker-{n}", daemon=True)
            thread.start()
            self.threads.append(thread)
        threading.Thread(target=self._renew_leases, name="pml-leases", daemon=True).start()

    @property
    def stopped(self) -> int:
        """How many worker threads have ended while the service runs (never, unless something is badly wrong)."""
        return 0 if self.stopping.is_set() else sum(not t.is_alive() for t in self.threads)

    def wake(self) -> None:
        self.wakeup.set()

    def stop(self) -> None:
        self.stopping.set()
        self.wakeup.set()
        for thread in self.threads:
            thread.join(timeout=30)

    def _run(self, name: str) -> None:
        db = self.service.database()  # this thread uses a connection of its own (the Database keeps one per thread)
        while not self.stopping.is_set():
            try:
                busy = self.run_one(db, name)
            except Exception:  # the inbox could not be written: the worker lives on and tries again
                log.exception("inbox job not settled", extra={"worker": name})
                busy = False
            if not busy:
                self.wakeup.wait(self.poll)
                self.wakeup.clear()

    def _renew_leases(self) -> None:
        """One thread renews the lease of every job the workers run, every third of it: a replica
        killed mid-job holds its model only until the lease runs out."""
        db = self.service.database()
        while not self.stopping.wait(LEASE.total_seconds() / 3):
            with self._running_lock:
                running = list(self.running.values())
            for job in running:
                try:
                    renew(db, job)
                except Exception:  # the database went away: the lease may run out; the job ends as it ends
                    log.warning("inbox lease not renewed", extra={"job": job.id})

    def run_one(self, db: Database, name: str) -> bool:
        """Handle the next job, if any; False when there was none to take."""
        try:
            job = claim(db, name)
        except db.errors() as exc:  # the database went away: try again at the next poll
            log.warning("inbox unreachable", extra={"error": redact(str(exc).splitlines()[0])})
            return False
        if job is None:
            return False
        with self._running_lock:
            self.running[name] = job
        try:
            return self._handle(db, job)
        finally:
            with self._running_lock:
                self.running.pop(name, None)

    def _handle(self, db: Database, job: Job) -> bool:
        ws = self.service.acting()
        try:
            reaction = react(ws, job.event, json.loads(job.body).get("data") or {}, self.service.controls)
        except PmlError as exc:
            final = isinstance(exc, FINAL)  # asking again cannot heal it: settled now, not in 13 minutes
            error = redact(exc.message) + (" (not retried: asking again cannot change this)" if final else "")
            state = fail(db, job, error, final=final)
            self.metrics.jobs.labels("failed" if state == "pending" else "dead").inc()
            log.warning("inbox job failed", extra={"job": job.id, "event": job.event, "state": state, "error": error})
            return True
        except Exception as exc:  # a bug or a library's surprise: the job is retried, the worker lives on
            message = f"{type(exc).__name__}: {redact(str(exc).splitlines()[0] if str(exc) else '')}"
            state = fail(db, job, message)
            self.metrics.jobs.labels("failed" if state == "pending" else "dead").inc()
            log.exception("inbox job failed", extra={"job": job.id, "event": job.event, "state": state})
            return True
        finish(db, job, reaction.message)
        # An echo the webhook route could not tell yet (its change was still being recorded) is an
        # own_change job: done, at no cost.
        self.metrics.jobs.labels("own_change" if reaction.own else "done").inc()
        self.service.count(reaction.decisions, reaction.changes)
        log.info(
            "inbox job done", extra={"job": job.id, "event": job.event, "model": job.model, "result": reaction.message}
        )
        return True
