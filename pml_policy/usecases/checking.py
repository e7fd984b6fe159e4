"""`check`, the CI gate, as one operation: fetch each subject, decide it, record the decisions, and
with apply make each subject's registry changes. The result carries its exit code.

>>> import pml_policy
>>> with pml_policy.Workspace.open(["policies/starter"], audit_url=None) as ws:
...     checked = pml_policy.check(ws, ["examples/credit-fail"])
>>> checked.outcome, checked.exit_code
('fail', 1)
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pml_policy.adapters.base import Adapter, MonitoringSource, Registry
from pml_policy.adapters.local import LocalAdapter
from pml_policy.adapters.lookup import adapter_for
from pml_policy.adapters.monitoring import read_report
from pml_policy.base.errors import EXIT_EVIDENCE, EXIT_PASS, EXIT_POLICY_FAILED, UsageError
from pml_policy.base.mappings import read_mapping
from pml_policy.engine import Decision, PolicySet, Subject

from . import recording
from .approving import attach
from .plan import Change, plan, unranked
from .recording import Recorded, apply_changes
from .workspace import Workspace

FailOn = Literal["fail", "warn"]
OUTCOME_ORDER = ("pass", "warn", "pending", "fail")  # worst last


def load_data(path: str | None) -> dict[str, Any]:
    """Context data for `data.…` from a YAML or JSON file (a mapping at the top)."""
    if path is None:
        return {}
    try:
        return read_mapping(Path(path), UsageError, "the top level")
    except UsageError as exc:
        raise UsageError(f"--data {exc.message}", exc.hint) from None


@dataclass
class Checked:
    """What one `check` decided, on what evidence, where it was recorded and what it applied."""

    decisions: list[Decision] = field(default_factory=list)
    subjects: list[Subject] = field(default_factory=list)
    champions: list[Subject | None] = field(default_factory=list)  # --champion, else the registry's alias holder
    adapters: list[Adapter] = field(default_factory=list)  # what each subject was read (and is applied) through
    recorded: Recorded | None = None  # None: not recorded (--no-audit, or a workspace without a log)
    applied: list[tuple[Subject, list[Change]]] | None = None  # with apply: each subject's changes, in order
    fail_on: FailOn = "fail"
    seconds: list[float] = field(default_factory=list)  # each decision's evaluation, for JUnit's `time`

    @property
    def outcome(self) -> str:
        """The worst outcome of the decisions (pass < warn < pending < fail)."""
        return max((d.outcome for d in self.decisions), key=OUTCOME_ORDER.index, default="pass")

    @property
    def applied_ok(self) -> bool:
        return not any(c.state == "failed" for _, changes in self.applied or [] for c in changes)

    @property
    def exit_code(self) -> int:
        """3 when a registry change failed; 1 when a decision failed or is pending (or warned,
        with fail_on warn); else 0."""
        if not self.applied_ok:
            return EXIT_EVIDENCE
        blocking = {"fail", "pending", "warn"} if self.fail_on == "warn" else {"fail", "pending"}
        return EXIT_POLICY_FAILED if {d.outcome for d in self.decisions} & blocking else EXIT_PASS


def check(
    ws: Workspace,
    refs: list[str] | tuple[str, ...] = (),
    *,
    subjects: list[Subject] | tuple[Subject, ...] = (),
    champion: str | None = None,
    data: Mapping[str, Any] | None = None,
    monitoring: str | Path | None = None,
    record: bool = True,
    apply: bool = False,
    fail_on: FailOn = "fail",
) -> Checked:
    """Decide each reference (read through its adapter) and each subject given as evidence (the
    service's pushed evidence) under the workspace's policies; record the decisions before
    anything is reported; with apply, make each subject's registry changes, recorded as made.

    champion: the reference of the champion to compare with (default: each subject's registry's
    alias holder). data: context data for `data.…` (default: the workspace's). monitoring: a
    report file for every subject (default: the newest one its registry has, where a policy reads
    `monitoring.…`). Raises EvidenceError (exit 3) for evidence that cannot be read, UsageError for
    apply without a registry or without recording."""
    if isinstance(refs, str):  # a string is a sequence of one-letter references: never what was meant
        raise TypeError("check() takes a list of references, not one string: check(ws, [ref])")
    if apply and not record:
        raise UsageError(
            "--apply and --no-audit cannot go together: every registry change is recorded in the audit log"
        )
    if apply:
        _registries(ws, refs)
    report = read_report(Path(monitoring)) if monitoring is not None else None
    checked = decide(ws, refs, subjects, champion, dict(data) if data is not None else ws.data, report)
    checked.fail_on = fail_on
    if record and ws.audit_url is not None:
        checked.recorded = recording.record(ws, checked)
    if apply:
        checked.applied = _apply(ws, checked)
    return checked


def decide(
    ws: Workspace,
    refs: Sequence[str],
    inline: Sequence[Subject] = (),
    champion_ref: str | None = None,
    data: dict[str, Any] | None = None,
    monitoring: dict[str, Any] | None = None,
) -> Checked:
    """The decisions alone, nothing recorded: each subject with the approvals recorded for it, its
    monitoring evidence where a policy reads it, and its champion (one registry read per model)."""
    given = adapter_for(champion_ref, ws.adapters).fetch(champion_ref) if champion_ref else None
    held: dict[tuple[Any, ...], Subject | None] = {}
    read: list[tuple[Subject, Subject | None, Adapter]] = []
    for ref in refs:
        adapter = adapter_for(ref, ws.adapters)
        subject = adapter.fetch(ref)
        champion = given
        if not champion_ref:
            key = (type(adapter), subject.source, subject.model.name, subject.model.version is None)
            if key not in held:
                held[key] = adapter.champion_of(subject) if isinstance(adapter, Registry) else None
            champion = held[key]
        read.append((subject, champion, adapter))
    read += [(s, given, LocalAdapter()) for s in inline]  # never a registry: nothing to apply to
    read = [(with_monitoring(s, a, ws.policies, monitoring), c, a) for s, c, a in read]
    attach(ws, [s for s, _, _ in read])
    checked = Checked()
    for subject, champion, adapter in read:
        started = time.perf_counter()
        checked.decisions.append(
            ws.evaluator.evaluate(ws.policies, subject, champion, data if data is not None else ws.data)
        )
        checked.seconds.append(time.perf_counter() - started)
        checked.subjects.append(subject)
        checked.champions.append(champion)
        checked.adapters.append(adapter)
    return checked


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


def _registries(ws: Workspace, refs: Sequence[str]) -> None:
    """--apply needs references a registry stands behind (a folder has none)."""
    for ref in refs:
        if not isinstance(adapter_for(ref, ws.adapters), Registry):
            raise UsageError(
                f"--apply: {ref} is not in a model registry, so there is nothing to apply to",
                "use --apply with models:/… (MLflow) or sagemaker:… (SageMaker) references",
            )


def _apply(ws: Workspace, checked: Checked) -> list[tuple[Subject, list[Change]]]:
    """Each subject's own actions, through the adapter it was read with, each change recorded as
    it is made; it stops at the first subject whose registry fails."""
    done: list[tuple[Subject, list[Change]]] = []
    for decision, subject, adapter in zip(checked.decisions, checked.subjects, checked.adapters):
        assert isinstance(adapter, Registry)  # _registries refused anything else before the run
        state = adapter.state(subject.model.name or "", [subject.model.version or ""])
        changes = plan([(subject, decision)], state, unranked)
        apply_changes(ws, changes, adapter)
        done.append((subject, changes))
        if any(c.state == "failed" for c in changes):
            break  # stop: the registry is not answering
    return done
