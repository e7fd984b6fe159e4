"""The workspace: what every operation needs, opened once by a front and handed to the use cases.

A workspace holds the policy set in force, the adapter configuration (where the registries are,
the time budget for waiting on them), the audit log (opened on first use, once, closed once), the
signer, the actor the log records, the evaluator backend, the context data (`data.…`) and the CI
run. The CLI builds one per command from its options, the service one at start (and one per
policy reload, sharing the log), a library user one from arguments:

>>> import pml_policy
>>> with pml_policy.Workspace.open(["policies/starter"], audit_url=None) as ws:
...     [p.name for p in ws.policies.policies]
['documentation', 'fairness-high-risk', 'promotion-gate', 'reproducibility']

No use case opens the log or reads configuration on its own: they take a workspace.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from pml_policy.adapters.base import AdapterConfig, Registry
from pml_policy.audit import AuditStore, Entry
from pml_policy.audit.context import actor as default_actor
from pml_policy.audit.context import ci_context
from pml_policy.audit.database import WAIT
from pml_policy.audit.registered import Used
from pml_policy.audit.signing import Signer
from pml_policy.base.config import DEFAULT_AUDIT_URL
from pml_policy.base.errors import NoAuditLog, UsageError
from pml_policy.engine import PolicySet, load
from pml_policy.engine.backends import Backend, backend
from pml_policy.engine.waivers import WaiverIndex

# How decisions reach the log: (entries, actor) -> each record's (seq, hash). The service plugs in
# its group commit; everyone else appends directly.
Appender = Callable[[list[Entry], str], list[tuple[int, str]]]


class AuditLog:
    """The audit log of a workspace: opened on first use and shared by the workspace's views (one
    per request in the service), closed once by the workspace that opened it."""

    def __init__(self, url: str | None, signer: Signer | None = None, wait: float = WAIT) -> None:
        self.url = url
        self.signer = signer
        self.wait = wait
        self._store: AuditStore | None = None
        self._lock = threading.Lock()

    def store(self, create: bool = True) -> AuditStore:
        """The store, opened once. create=False: a reader's open, which never creates a log (nor
        its folder) and raises NoAuditLog where there is none yet; a later writer may create it."""
        if self.url is None:
            raise UsageError(
                "this workspace has no audit log", "open it with an audit_url (sqlite:///… or postgresql://…)"
            )
        with self._lock:
            if self._store is None:
                self._store = AuditStore(self.url, create=create, signer=self.signer, wait=self.wait)
            return self._store

    def existing(self) -> AuditStore | None:
        """The store if there is a log to read, else None (no log yet: nothing recorded)."""
        if self.url is None:
            return None
        try:
            return self.store(create=False)
        except NoAuditLog:
            return None

    def admit(self, policies: PolicySet) -> None:
        """PolicyConflict when a policy version this log has recorded has another digest in
        `policies`: a set that could not record a single decision is refused whole, up front."""
        store = self.existing()
        if store is not None:
            store.refuse_changed([Used(p.name, p.version, p.digest, p.source) for p in policies.policies])

    def close(self) -> None:
        with self._lock:
            store, self._store = self._store, None
        if store is not None:
            store.close()


@dataclass
class Workspace:
    """What an operation needs; use cases take it. Build it with `Workspace.open`."""

    policies: PolicySet
    log: AuditLog
    adapters: AdapterConfig = field(default_factory=AdapterConfig.from_env)
    actor: str = "unknown"
    engine: str = "python"
    data: dict[str, Any] = field(default_factory=dict)
    registry_kind: str = "mlflow"  # the registry a bare model name is on, and the service sweeps
    ci: dict[str, str] = field(default_factory=dict)
    appender: Appender | None = None  # None: append directly to the log
    _evaluator: Backend | None = field(default=None, repr=False, compare=False)

    @classmethod
    def open(
        cls,
        policies: Sequence[str | Path] | PolicySet = (),
        *,
        audit_url: str | None = DEFAULT_AUDIT_URL,
        signing_key: str | Path | None = None,
        adapters: AdapterConfig | None = None,
        actor: str | None = None,
        engine: str = "python",
        data: Mapping[str, Any] | None = None,
        registry_kind: str = "mlflow",
        audit_wait: float = WAIT,
    ) -> Workspace:
        """Load and check the policies (every error at once: a bad policy fails before anything is
        read), read the signing key, and name the log; it opens on first use. No policies: an
        empty set (commands that only read the log). `audit_url=None`: no log at all (nothing is
        recorded, no approval is found). `audit_wait`: seconds a write waits for another writer's
        lock on a SQLite log before it fails (the service's --write-wait)."""
        backend(engine)  # an unknown engine is a usage error now, not at the first decision
        loaded = policies if isinstance(policies, PolicySet) else _load(list(policies))
        signer = Signer(signing_key) if signing_key else None
        return cls(
            policies=loaded,
            log=AuditLog(audit_url, signer, audit_wait),
            adapters=adapters or AdapterConfig.from_env(),
            actor=actor or default_actor(),
            engine=engine,
            data=dict(data or {}),
            registry_kind=registry_kind,
            ci=ci_context(),
        )

    # ---- what use cases ask of it ---------------------------------------------------------------

    @property
    def audit_url(self) -> str | None:
        return self.log.url

    @property
    def evaluator(self) -> Backend:
        """The evaluator backend the workspace was opened with, built once."""
        if self._evaluator is None:
            self._evaluator = backend(self.engine)
        return self._evaluator

    def registry(self, kind: str | None = None) -> Registry:
        """A registry adapter (the workspace's kind unless told), configured with its adapters."""
        return self.registry_with(self.adapters, kind)

    def registry_with(self, adapters: AdapterConfig, kind: str | None = None) -> Registry:
        """A registry adapter under other adapter settings (a shorter time budget)."""
        from pml_policy.adapters.lookup import registry_named

        return registry_named(kind or self.registry_kind, adapters)

    def append(self, entries: list[Entry]) -> list[tuple[int, str]]:
        """Record entries in one transaction, as this workspace's actor; each record's (seq, hash)."""
        if self.appender is not None:
            return self.appender(entries, self.actor)
        return self.log.store().append(entries, self.actor, self.ci)

    # ---- views ---------------------------------------------------------------------------------

    def acting_as(self, actor: str) -> Workspace:
        """The same workspace for another actor (a service token's name), with a registry time
        budget of its own: one per request or job. It shares the log; close the one it came from."""
        return dataclasses.replace(self, actor=actor, adapters=self.adapters.renewed())

    def with_policies(self, policies: PolicySet) -> Workspace:
        """The same workspace under another policy set (a reload), sharing the log."""
        return dataclasses.replace(self, policies=policies, _evaluator=None)

    # ---- life ----------------------------------------------------------------------------------

    def close(self) -> None:
        self.log.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


def _load(paths: list[str | Path]) -> PolicySet:
    if not paths:
        return PolicySet([], WaiverIndex([]), [])
    return load([str(p) for p in paths])
