"""Prometheus metrics (`GET /metrics`): decisions by outcome, request latency by route, webhook
deliveries by result, registry changes by state, audit appends (their time, and the records they
wrote, from requests and jobs alike), the inbox's depth and age (read from the database at each
scrape, so every replica reports the shared inbox), and the process's own (CPU, memory, open files,
garbage collections: prometheus_client's default collectors)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import GC_COLLECTOR, PLATFORM_COLLECTOR, PROCESS_COLLECTOR, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily

from pml_policy.audit.inbox import Depth


class Metrics:
    def __init__(self, depth: Callable[[], Depth], rechecks: Callable[[], list[Any]] | None = None) -> None:
        self.registry = CollectorRegistry()
        self.decisions = Counter("pml_decisions", "Decisions recorded, by outcome", ["outcome"], registry=self.registry)
        self.requests = Histogram(
            "pml_request_seconds", "Request latency by route", ["route", "method", "status"], registry=self.registry
        )
        self.deliveries = Counter(
            "pml_webhook_deliveries", "Webhook deliveries, by result", ["result"], registry=self.registry
        )
        self.events = Counter(
            "pml_events",
            "Registry events, by what came of them: queued, merged (into the model's pending job), duplicate, "
            "own_change (the echo of the service's own change), ignored (not an event governance acts on)",
            ["result"],
            registry=self.registry,
        )
        self.changes = Counter("pml_registry_changes", "Registry changes, by state", ["state"], registry=self.registry)
        self.append = Histogram(
            "pml_audit_append_seconds", "Time to record one batch of decisions", registry=self.registry
        )
        self.appended = Counter("pml_audit_records_appended", "Audit records appended", registry=self.registry)
        self.jobs = Counter("pml_inbox_jobs", "Inbox jobs handled, by result", ["result"], registry=self.registry)
        self.registry.register(_InboxCollector(depth))
        for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):  # the process's own
            self.registry.register(collector)
        if rechecks is not None:
            self.registry.register(_ChampionCollector(rechecks))


class _ChampionCollector:
    """pml_champion_failing{model}: 1 while a model's latest re-check of its champion did not pass."""

    def __init__(self, rechecks: Callable[[], list[Any]]) -> None:
        self.rechecks = rechecks

    def collect(self) -> Iterator[Any]:
        failing = GaugeMetricFamily(
            "pml_champion_failing", "1 while the latest re-check of a model's champion did not pass", labels=["model"]
        )
        for r in self.rechecks():
            failing.add_metric([r.model], 0 if r.outcome in ("pass", "warn") else 1)
        yield failing


class _InboxCollector:
    def __init__(self, depth: Callable[[], Depth]) -> None:
        self.depth = depth

    def collect(self) -> Iterator[Any]:
        d = self.depth()
        jobs = GaugeMetricFamily("pml_inbox_jobs_waiting", "Inbox jobs by state", labels=["state"])
        for state, count in (("pending", d.pending), ("running", d.running), ("dead", d.dead)):
            jobs.add_metric([state], count)
        yield jobs
        yield GaugeMetricFamily("pml_inbox_oldest_pending_seconds", "Age of the oldest pending job", value=d.age())
