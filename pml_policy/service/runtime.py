"""The running service: its workspace (opened once at start; a policy reload swaps the policies and
keeps the log), its group-commit recorder, the inbox workers, the sweep and the re-check schedule.
Routes and workers act through a view of the workspace per request or job (`acting`)."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

from pml_policy.adapters.base import AdapterConfig
from pml_policy.audit import Entry
from pml_policy.audit import inbox as inbox_jobs
from pml_policy.audit.database import Database, reason
from pml_policy.base.errors import AuditError, PmlError, PolicyConflict
from pml_policy.base.secrets import redact
from pml_policy.base.waiting import Slots
from pml_policy.engine import Decision, PolicySet, load
from pml_policy.usecases.plan import Change
from pml_policy.usecases.reacting import HANDLED_EVENTS, Controls, merging, own_change, rechecks_due, sweep
from pml_policy.usecases.workspace import Workspace

from .auth import Gate, LiveTokens
from .guard import Guard
from .metrics import Metrics
from .recorder import Recorder
from .settings import ServiceSettings
from .worker import Workers

log = logging.getLogger("pml_policy.service")
SERVICE_ACTOR = "pml-policy service"  # who the log says acted, for what the service does on its own


class Service:
    def __init__(self, settings: ServiceSettings) -> None:
        """Loads the policies, the tokens and the log (created or upgraded now, not at the first
        request); raises PmlError for a bad policy set, tokens file or audit log."""
        self.settings = settings
        self.slots = Slots(settings.registry_calls)  # shared by every request and job: a hanging registry fills them
        self.gate = Gate(LiveTokens(settings.tokens) if settings.tokens else None, settings.local_admin)
        self.guard = Guard.of(
            settings.host, settings.port, settings.allowed_hosts, settings.allowed_origins, settings.tls
        )
        self._lock = threading.Lock()
        self._reached: tuple[float, str | None] = (-1e9, None)  # when the registry was last asked; why not ready
        self._workspace = Workspace.open(
            load(settings.policy_paths),
            audit_url=settings.audit_url,
            signing_key=settings.signing_key,
            adapters=self.adapters(),
            actor=SERVICE_ACTOR,
            data=settings.data,
            registry_kind=settings.registry,
            audit_wait=settings.write_wait,  # a request waits this long for the log, then 503, never a minute
        )
        store = self._workspace.log.store()
        self._workspace.log.admit(self._workspace.policies)  # a changed policy needs a new version: refused at start
        self.recorder = Recorder(store, self._workspace.ci)
        self._workspace.appender = self._append
        self.metrics = Metrics(self.depth, self.rechecks)
        self.controls = Controls(settings.apply, settings.enforce)
        self.workers = Workers(self, settings.poll_seconds)

    # ---- the workspace ---------------------------------------------------------------------------

    def adapters(self) -> AdapterConfig:
        s = self.settings
        return AdapterConfig(
            tracking_uri=s.tracking_uri,
            endpoint_url=s.endpoint_url,
            champion_alias=s.champion_alias,
            timeout=s.registry_timeout,
            local_artifacts=s.local_artifacts,
            slots=self.slots,
        )

    @property
    def policies(self) -> PolicySet:
        return self._workspace.policies

    def acting(self, actor: str = SERVICE_ACTOR) -> Workspace:
        """The workspace for one request or job: its actor, a registry budget of its own."""
        with self._lock:
            return self._workspace.acting_as(actor)

    def reload(self) -> PolicySet:
        """Load the tokens file and the policies again; a policy set with errors (PolicyError), or
        one that changed a recorded policy version without a new version (PolicyConflict), is
        refused and the old one stays."""
        if self.gate.tokens is not None:
            self.gate.tokens.refresh()
        fresh = load(self.settings.policy_paths)
        self._workspace.log.admit(fresh)
        with self._lock:
            self._workspace = self._workspace.with_policies(fresh)
        return fresh

    def close(self) -> None:
        self.workers.stop()
        self.recorder.close()
        self._workspace.close()

    def _append(self, entries: list[Entry], by: str) -> list[tuple[int, str]]:
        """Every append the service makes (requests and jobs): through the group commit, timed."""
        started = time.perf_counter()
        try:
            recorded = self.recorder.append(entries, by)
        finally:
            self.metrics.append.observe(time.perf_counter() - started)
        self.metrics.appended.inc(len(recorded))
        return recorded

    def count(self, decisions: Iterable[Decision], changes: Iterable[Change] = ()) -> None:
        for d in decisions:
            self.metrics.decisions.labels(d.outcome).inc()
        for c in changes:
            self.metrics.changes.labels(c.state).inc()

    # ---- the inbox ------------------------------------------------------------------------------

    def database(self) -> Database:
        """The audit database, where the inbox lives (a connection per thread on SQLite)."""
        return self._workspace.log.store().db

    @contextlib.contextmanager
    def inbox(self) -> Iterator[Database]:
        """The inbox's database; one that fails is an AuditError (503)."""
        db = self.database()
        try:
            yield db
        except db.errors() as exc:
            raise AuditError(f"the inbox in {db.shown} cannot be read or written: {reason(exc)}") from None

    def depth(self) -> inbox_jobs.Depth:
        with self.inbox() as db:
            return inbox_jobs.depth(db)

    def enqueue(self, delivery_id: str, event: str, model: str | None, body: str, source: str = "mlflow") -> str:
        """queued, duplicate (a replay), or merged into the model's pending govern job."""
        merge, into = merging(self.controls.enforce)
        with self.inbox() as db:
            return inbox_jobs.enqueue(db, delivery_id, source, event, model, body, merge=merge, into=into)

    def receive(self, delivery_id: str, event: str, data: dict[str, Any], body: str) -> str:
        """A registry event: ignored (not one governance acts on), own_change (the echo of the
        service's own change, from its change records), or what `enqueue` made of it; counted."""
        if event not in HANDLED_EVENTS:
            result = "ignored"
        elif own_change(self.acting(), event, data):
            result = "own_change"
        else:
            model = data.get("name")
            result = self.enqueue(delivery_id, event, str(model) if model else None, body)
        self.metrics.events.labels(result).inc()
        return result

    def registry_unreachable(self) -> str | None:
        """With --apply, why the registry the service changes does not answer now, or None; asked
        at most every 10 s (a readiness probe every second does not become a request every second)."""
        if not (self.settings.apply and self.settings.governs):
            return None
        now = time.monotonic()
        if now - self._reached[0] >= 10:
            try:
                quick = dataclasses.replace(self.adapters(), timeout=min(2.0, self.settings.registry_timeout)).renewed()
                self._workspace.registry_with(quick).reachable()  # 2 s at most: a probe waits on nothing
                self._reached = (now, None)
            except PmlError as exc:
                self._reached = (now, f"the registry does not answer, and this service applies changes: {exc.message}")
        return self._reached[1]

    def policies_refused(self) -> str | None:
        """Why the policy set in force cannot record a decision now (another process registered one
        of its versions with another digest since it was loaded), or None."""
        try:
            self._workspace.log.admit(self.policies)
        except PolicyConflict as exc:
            return f"the policies in force cannot be recorded: {exc.message}"
        return None

    def write_blocked(self) -> str | None:
        """Why a decision could not be recorded now (the log's lock held elsewhere past a second)."""
        with self.inbox() as db:
            return db.write_blocked(min(1.0, self.settings.write_wait))

    def unfit(self) -> str | None:
        """Why the service cannot decide now (a thread it needs has stopped), or None."""
        if not self.recorder.alive:
            return "the recorder thread has stopped: no decision can be recorded"
        if self.workers.stopped:
            return f"{self.workers.stopped} inbox worker thread(s) stopped: registry events are not handled"
        return None

    def rechecks(self) -> list[Any]:
        """Each model's latest re-check, from the log (every replica reports the same)."""
        store = self._workspace.log.existing()
        return store.latest_rechecks() if store is not None else []

    # ---- what runs on its own -------------------------------------------------------------------

    def sweep(self) -> int:
        """Compare the registry with the log; enqueue what was missed. Returns the jobs added."""
        return self._enqueue_all(sweep(self.acting()), "sweep")

    def rechecking(self, stop: threading.Event) -> None:
        """At each time of --recheck CRON, a re-check job per champion into the inbox (named by the
        time: replicas enqueue each once); the workers run them like any registry event."""
        from croniter import croniter

        assert self.settings.recheck is not None
        schedule = croniter(self.settings.recheck, dt.datetime.now(dt.UTC))
        while not stop.is_set():
            slot = schedule.get_next(dt.datetime)
            if stop.wait(max(0.0, (slot - dt.datetime.now(dt.UTC)).total_seconds())):
                return
            try:
                added = self._enqueue_all(rechecks_due(self.acting(), slot.isoformat()), "schedule")
                log.info("recheck scheduled", extra={"slot": slot.isoformat(), "jobs": added})
            except PmlError as exc:
                log.warning("recheck not scheduled", extra={"error": redact(exc.message)})
            except Exception:
                log.exception("recheck not scheduled")

    def sweeping(self, stop: threading.Event) -> None:
        """At start, then every --reconcile-every; a failed sweep is logged and tried at the next."""
        while not stop.is_set():
            try:
                added = self.sweep()
                log.info("sweep", extra={"jobs": added})
            except PmlError as exc:
                log.warning("sweep failed", extra={"error": redact(exc.message)})
            except Exception:
                log.exception("sweep failed")
            if stop.wait(self.settings.reconcile_every):
                return

    def _enqueue_all(self, jobs: list[tuple[str, str, dict[str, Any]]], source: str) -> int:
        added = 0
        for delivery_id, event, data in jobs:
            body = json.dumps({"source": source, "event": event, "data": data})
            added += self.enqueue(delivery_id, event, data["name"], body, source=source) == "queued"
        if added:
            self.workers.wake()
        return added
