"""The check gate as a library call: fetch each subject, evaluate, return the decisions."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from .errors import UsageError


def load_data(path: str | None) -> dict[str, Any]:
    """Context data for `data.…` from a YAML or JSON file (a mapping at the top)."""
    if path is None:
        return {}
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--data {path}: cannot read: {exc.strerror or exc}") from None
    try:
        if p.suffix == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as exc:  # json and yaml errors both say where
        raise UsageError(f"--data {path}: malformed: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UsageError(f"--data {path}: the top level must be a mapping, found {type(data).__name__}")
    return data


@dataclass
class CheckRun:
    """The decisions of one `check`, with the evidence they were made on (what the audit log keeps)."""

    decisions: list[Any]
    subjects: list[Any]
    champions: list[Any | None]  # each subject's champion: --champion, else its registry's alias holder
    adapters: list[Any]  # what each subject was read through (and `--apply` writes through)


def run_check(refs: list[str], policy_paths: list[str], champion_ref: str | None = None, data_file: str | None = None, engine: str = "python") -> CheckRun:
    """Load and check the policies first (a bad policy fails before any evidence is read)."""
    from .adapters import adapter_for, fetch
    from .engine import backend, load

    policies = load(policy_paths)
    data = load_data(data_file)
    evaluator = backend(engine)
    given = fetch(champion_ref) if champion_ref else None
    held: dict[tuple[Any, ...], Any | None] = {}  # one registry read per model, however many of its versions are checked
    run = CheckRun([], [], [], [])
    for ref in refs:
        adapter = adapter_for(ref)
        subject = adapter.fetch(ref)
        if champion_ref:
            champion = given
        else:
            key = (type(adapter), subject.source, subject.model.name, subject.model.version is None)
            if key not in held:
                held[key] = _champion_of(adapter, subject)
            champion = held[key]
        run.decisions.append(evaluator.evaluate(policies, subject, champion, data))
        run.subjects.append(subject)
        run.champions.append(champion)
        run.adapters.append(adapter)
    return run


def _champion_of(adapter: Any, subject: Any) -> Any | None:
    """The champion a registry names for the subject's model (MLflow: the alias holder); none for a folder."""
    champion_of = getattr(adapter, "champion_of", None)
    return champion_of(subject) if champion_of else None


@dataclass
class Recorded:
    store: str
    records: list[tuple[str, int, str]]  # (decision id, seq, hash)

    def note(self) -> str:
        seqs = ", ".join(f"#{seq}" for _, seq, _ in self.records)
        return f"recorded in the audit log {self.store} as {seqs}; head {self.records[-1][2]}"

    @staticmethod
    def report(recorded: Recorded | None) -> tuple[str, dict[str, Any]]:
        """The line for people and the `audit` object for machines (JSON output)."""
        if recorded is None:
            return "NOT RECORDED: --no-audit was given; these decisions are not in the audit log", {"recorded": False, "store": None, "records": []}
        records = [{"decision": i, "seq": n, "hash": h} for i, n, h in recorded.records]
        return recorded.note(), {"recorded": True, "store": recorded.store, "records": records}


class Decided(Protocol):
    """Decisions with the evidence and the champion each was made on: a CheckRun, or a govern pass."""

    decisions: list[Any]
    subjects: list[Any]
    champions: list[Any | None]


def record(run: Decided, url: str) -> Recorded:
    """Append the decisions to the audit log in one transaction (raises AuditError, PolicyConflict)."""
    from .audit import AuditStore, Entry
    from .audit.context import actor, ci_context

    store = AuditStore(url)
    try:
        entries = [Entry(d, s, c) for d, s, c in zip(run.decisions, run.subjects, run.champions)]
        appended = store.append(entries, actor(), ci_context())
    finally:
        store.close()
    return Recorded(store.shown, [(d.id, seq, h) for d, (seq, h) in zip(run.decisions, appended)])
