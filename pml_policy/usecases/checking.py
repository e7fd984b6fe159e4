"""The check gate as library calls: fetch each subject, evaluate, record; with apply, act on the registry.

>>> import pml_policy
>>> run = pml_policy.check(["examples/credit-pass"], ["policies/starter"])  # doctest: +SKIP
>>> pml_policy.record(run, "sqlite:///.pml/audit.db").records              # doctest: +SKIP
[('2cee3ef7-…', 1, '9f1c…')]
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pml_policy.adapters.base import Adapter, AdapterConfig, MonitoringSource, Registry
from pml_policy.adapters.local import LocalAdapter
from pml_policy.adapters.lookup import adapter_for
from pml_policy.adapters.monitoring import read_report
from pml_policy.audit import AuditStore, Entry
from pml_policy.audit.context import actor, ci_context
from pml_policy.audit.signing import Signer
from pml_policy.base.errors import UsageError
from pml_policy.base.mappings import read_mapping
from pml_policy.engine import Decision, PolicySet, Subject, backend, load

from .approving import attach
from .plan import Change, apply, plan, unranked


def load_data(path: str | None) -> dict[str, Any]:
    """Context data for `data.…` from a YAML or JSON file (a mapping at the top)."""
    if path is None:
        return {}
    try:
        return read_mapping(Path(path), UsageError, "the top level")
    except UsageError as exc:
        raise UsageError(f"--data {exc.message}", exc.hint) from None


@dataclass
class CheckRun:
    """The decisions of one `check`, with the evidence they were made on (what the audit log keeps)."""

    decisions: list[Decision]
    subjects: list[Subject]
    champions: list[Subject | None]  # each subject's champion: --champion, else its registry's alias holder
    adapters: list[Adapter]  # what each subject was read through (and `--apply` writes through)


def check(
    refs: list[str],
    policy_paths: list[str],
    champion_ref: str | None = None,
    data_file: str | None = None,
    engine: str = "python",
    config: AdapterConfig | None = None,
    audit_url: str | None = None,
    monitoring_file: str | None = None,
) -> CheckRun:
    """Load and check the policies first (a bad policy fails before any evidence is read)."""
    policies = load(policy_paths)
    report = read_report(Path(monitoring_file)) if monitoring_file else None
    return decide(
        refs, policies, champion_ref, load_data(data_file), engine, config, audit_url=audit_url, monitoring=report
    )


def decide(
    refs: list[str],
    policies: PolicySet,
    champion_ref: str | None = None,
    data: dict[str, Any] | None = None,
    engine: str = "python",
    config: AdapterConfig | None = None,
    inline: list[Subject] | None = None,
    audit_url: str | None = None,
    monitoring: dict[str, Any] | None = None,
) -> CheckRun:
    """Decide each reference (read through its adapter) and each subject given inline (the
    service's pushed evidence) under policies already loaded; nothing is recorded yet. The
    approvals recorded in the log at `audit_url` are handed to sign-off rules; `monitoring` (a
    report given with --monitoring) to every subject, else each adapter that finds reports looks
    for one where a policy reads `monitoring.…`."""
    data = data or {}
    evaluator = backend(engine)
    given = adapter_for(champion_ref, config).fetch(champion_ref) if champion_ref else None
    held: dict[
        tuple[Any, ...], Subject | None
    ] = {}  # one registry read per model, however many of its versions are checked
    result = CheckRun([], [], [], [])
    read: list[tuple[Subject, Subject | None, Adapter]] = []
    for ref in refs:
        adapter = adapter_for(ref, config)
        subject = adapter.fetch(ref)
        if champion_ref:
            champion = given
        else:
            key = (type(adapter), subject.source, subject.model.name, subject.model.version is None)
            if key not in held:
                held[key] = adapter.champion_of(subject) if isinstance(adapter, Registry) else None
            champion = held[key]
        read.append((subject, champion, adapter))
    read += [(s, given, LocalAdapter()) for s in inline or []]  # never a registry: nothing to apply to
    read = [(with_monitoring(s, a, policies, monitoring), c, a) for s, c, a in read]
    attach([s for s, _, _ in read], policies, audit_url)
    for subject, champion, adapter in read:
        result.decisions.append(evaluator.evaluate(policies, subject, champion, data))
        result.subjects.append(subject)
        result.champions.append(champion)
        result.adapters.append(adapter)
    return result


def with_monitoring(
    subject: Subject, adapter: Adapter, policies: PolicySet, given: dict[str, Any] | None = None
) -> Subject:
    """The subject with its monitoring evidence: the report given, else the newest one its
    adapter finds, when a policy that applies to it reads `monitoring.…`."""
    if given is not None:
        return subject.with_monitoring(given)
    if isinstance(adapter, MonitoringSource) and policies.monitoring_needed(subject.model.name, subject.model.aliases):
        return subject.with_monitoring(adapter.monitoring(subject))
    return subject


@dataclass
class Recorded:
    store: str
    records: list[tuple[str, int, str]]  # (decision id, seq, hash)

    @classmethod
    def of(cls, store: str, decided: Decided, appended: list[tuple[int, str]]) -> Recorded:
        return cls(store, [(d.id, seq, h) for d, (seq, h) in zip(decided.decisions, appended)])

    def note(self) -> str:
        seqs = ", ".join(f"#{seq}" for _, seq, _ in self.records)
        return f"recorded in the audit log {self.store} as {seqs}; head {self.records[-1][2]}"

    @staticmethod
    def report(recorded: Recorded | None) -> tuple[str, dict[str, Any]]:
        """The line for people and the `audit` object for machines (JSON output)."""
        if recorded is None:
            return "NOT RECORDED: --no-audit was given; these decisions are not in the audit log", {
                "recorded": False,
                "store": None,
                "records": [],
            }
        records = [{"decision": i, "seq": n, "hash": h} for i, n, h in recorded.records]
        return recorded.note(), {"recorded": True, "store": recorded.store, "records": records}


class Decided(Protocol):
    """Decisions with the evidence and the champion each was made on: a CheckRun, or a govern pass."""

    decisions: list[Decision]
    subjects: list[Subject]
    champions: list[Subject | None]


def record(decided: Decided, url: str, signing_key: str | None = None, by: str | None = None) -> Recorded:
    """Append the decisions to the audit log in one transaction (raises AuditError, PolicyConflict);
    with a signing key (an Ed25519 private key file), each record is signed. `by`: the actor (the
    service's token name); default: as audit.context.actor reads it."""
    store = AuditStore(url, signer=Signer(signing_key) if signing_key else None)
    try:
        appended = store.append(entries_of(decided), by or actor(), ci_context())
    finally:
        store.close()
    return Recorded.of(store.shown, decided, appended)


def entries_of(decided: Decided) -> list[Entry]:
    """What the log keeps of each decision: the decision, its evidence and its champion's."""
    return [Entry(d, s, c) for d, s, c in zip(decided.decisions, decided.subjects, decided.champions)]


def registries(refs: list[str], config: AdapterConfig | None = None) -> None:
    """--apply needs references a registry stands behind (a folder has none)."""
    for ref in refs:
        if not isinstance(adapter_for(ref, config), Registry):
            raise UsageError(
                f"--apply: {ref} is not in a model registry, so there is nothing to apply to",
                "use --apply with models:/… (MLflow) or sagemaker:… (SageMaker) references",
            )


@dataclass
class Applied:
    """What `check --apply` did to each subject's registry, in order; it stops at the first failure."""

    changes: list[tuple[Subject, list[Change]]]

    @property
    def ok(self) -> bool:
        return not any(c.state == "failed" for _, changes in self.changes for c in changes)


def apply_run(checked: CheckRun, audit_url: str, signing_key: str | None = None) -> Applied:
    """`check --apply`: each subject's own actions, through the adapter it was read with, each
    change recorded in the audit log as it is made."""
    done = Applied([])
    for decision, subject, adapter in zip(checked.decisions, checked.subjects, checked.adapters):
        assert isinstance(adapter, Registry)  # registries() refused anything else before the run
        state = adapter.state(subject.model.name or "", [subject.model.version or ""])
        changes = plan([(subject, decision)], state, unranked)
        apply_recorded(changes, adapter, audit_url, signing_key)
        done.changes.append((subject, changes))
        if not done.ok:
            break  # stop: the registry is not answering
    return done


def apply_recorded(
    changes: list[Change], adapter: Registry, audit_url: str, signing_key: str | None = None, by: str | None = None
) -> list[Change]:
    """Apply the planned changes, recording each in the audit log as it happens."""
    store = AuditStore(audit_url, signer=Signer(signing_key) if signing_key else None)
    try:
        return apply(changes, adapter, lambda c: record_change(store, c, by))
    finally:
        store.close()


def record_change(store: AuditStore, change: Change, by: str | None = None) -> None:
    store.record_change(
        change.decision_id, change.policy, change.kind, change.name, change.value, change.state, change.detail, by
    )
