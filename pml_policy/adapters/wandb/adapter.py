"""Weights & Biases: a subject from an offline run folder, `wandb/latest-run`, or an online run.

References: a run folder (`wandb/offline-run-…/`, `wandb/latest-run`, or its `run-ID.wandb` file),
and `wandb:ENTITY/PROJECT/RUN_ID` for a run on a W&B server (through `wandb.Api`, with the key from
`WANDB_API_KEY`). The wandb package is the extra `pml-policy[wandb]`, imported only here.

The subject: metrics are the run's numeric summary values (nested ones flattened with dots), and
the last history value of any metric the summary never had (`define_metric(summary="none")`); params are the
config, unwrapped from
`{value: …}` and flattened with dots; tags are the run's W&B tags (each `"true"`), with
`wandb.notes`, `wandb.group`, `wandb.job_type` and `wandb.state` (finished, failed, or crashed when
the log has no exit record); the model name is the W&B project; the run's id, start time and git
commit; the artifacts are the files under the run's `files/` (path, size, sha256) and the
artifacts it logged (`wandb-artifacts/TYPE/NAME`, size from the manifest).

Offline runs are read from the binary log (log.py), replaying its run, config, summary,
history, artifact and exit records; where an older wandb wrote `files/wandb-summary.json` and
`files/config.yaml`, those are used instead.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from pathlib import Path
from typing import Any

from pml_policy.base.dates import in_utc
from pml_policy.base.errors import EvidenceError, UsageError
from pml_policy.base.files import EvidenceFolder, sha256_file
from pml_policy.base.mappings import LIMITS, loads_bounded, read_document
from pml_policy.base.mappings import flatten as flatten_mapping
from pml_policy.engine.subject import ArtifactInfo, ModelInfo, RunInfo, Subject

from ..base import AdapterConfig
from ..cards import card_among
from .log import read_records

PREFIX = "wandb:"


def is_wandb_run(ref: str) -> bool:
    """A W&B reference, a run folder holding a run-ID.wandb log, or such a log itself (cheap: no wandb import)."""
    if ref.startswith(PREFIX):
        return True
    path = Path(ref)
    if path.suffix == ".wandb":
        return True
    return path.is_dir() and (any(path.glob("run-*.wandb")) or (path / "files" / "wandb-metadata.json").exists())


class WandbAdapter:
    name = "wandb"

    def __init__(self, config: AdapterConfig | None = None) -> None:
        self.config = config or AdapterConfig.from_env()

    @classmethod
    def handles(cls, ref: str) -> bool:
        return is_wandb_run(ref)

    def fetch(self, ref: str) -> Subject:
        if ref.startswith(PREFIX):
            return self._online(ref)
        return subject_from_folder(ref)

    # ---- online -------------------------------------------------------------------------------

    def _online(self, ref: str) -> Subject:
        path = ref[len(PREFIX) :].strip("/")
        if path.count("/") != 2:
            raise UsageError(f"{ref}: a W&B run is wandb:ENTITY/PROJECT/RUN_ID")
        try:
            import wandb
        except ImportError:
            raise UsageError("W&B references need the wandb package", "pip install 'pml-policy[wandb]'") from None
        if not os.environ.get("WANDB_API_KEY"):
            raise UsageError(
                f"{ref}: reading a run online needs a W&B API key",
                "set WANDB_API_KEY (the key is never logged or recorded)",
            )
        try:
            run = self.config.deadline.run(
                f"W&B: run {path}", lambda: wandb.Api(timeout=math.ceil(self.config.timeout)).run(path)
            )
        except EvidenceError:
            raise
        except Exception as exc:  # wandb raises its own CommError and requests' errors alike
            raise EvidenceError(
                f"W&B: run {path}: {str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}",
                "check the entity/project/run id, your network, and WANDB_API_KEY",
            ) from None
        return subject_from_api_run(ref, run)


# ---- offline ----------------------------------------------------------------------------------


def subject_from_folder(ref: str) -> Subject:
    """A run folder (or its run-ID.wandb log), read without leaving the folder (files.EvidenceFolder)."""
    path = Path(ref)
    folder = EvidenceFolder(str(path.parent) if path.suffix == ".wandb" else ref)  # wandb/latest-run is a link
    logs = [path.name] if path.suffix == ".wandb" else sorted(p.name for p in folder.root.glob("run-*.wandb"))
    if not logs:
        raise EvidenceError(
            f"{ref}: no run-ID.wandb log in this W&B run folder", "point at a folder under wandb/ that a run wrote"
        )
    log = folder.file(logs[0])
    if log is None:
        raise EvidenceError(f"{ref}: does not exist")
    replay = Replay()
    for n, record in enumerate(read_records(log), 1):
        try:
            replay.apply(record)
        except ValueError as exc:
            raise EvidenceError(f"{log}: corrupt W&B log: record {n}: {exc}") from None
    summary = _older_file(folder.file("files/wandb-summary.json"))
    config = _older_file(folder.file("files/config.yaml"))
    saved = _saved(folder)
    artifacts = [ArtifactInfo(path=relative, size=size, sha256=p and sha256_file(p)) for relative, size, p in saved]
    # a card linked from outside the run folder (run.save()) is not read
    readable = {relative: p for relative, _, p in saved if p is not None}
    card = card_among(readable, lambda name: folder.shown(f"files/{name}"))
    return replay.subject(ref, artifacts, summary, config, card)


def _saved(run: EvidenceFolder) -> list[tuple[str, int, Path | None]]:
    """The files a run saved (files/; wandb links its own debug logs elsewhere, and they are no
    evidence), with their sizes. `run.save()` links a file kept outside the run folder: it is listed
    by name and size (None: never read or hashed)."""
    files = run.root / "files"
    if files.is_symlink() or not files.is_dir():
        return []
    return [
        (relative, (files / relative).stat().st_size, p)
        for relative, p in EvidenceFolder(run.shown("files")).files(links_out=True)
    ]


class Replay:
    """The state of a run, rebuilt record by record from its log."""

    def __init__(self) -> None:
        self.run: Any = None
        self.config: dict[str, Any] = {}
        self.summary: dict[str, Any] = {}
        self.history: dict[str, Any] = {}  # last value of each history key
        self.summarised: set[str] = set()  # keys the summary ever set or removed: history never overrides those
        self.logged: list[ArtifactInfo] = []
        self.exit_code: int | None = None

    def apply(self, record: Any) -> None:
        kind = record.WhichOneof("record_type")
        if kind == "run":
            self.run = record.run
            self._items(self.config, record.run.config.update, record.run.config.remove)
            self._items(self.summary, record.run.summary.update, record.run.summary.remove)
        elif kind == "config":
            self._items(self.config, record.config.update, record.config.remove)
        elif kind == "summary":
            self._items(self.summary, record.summary.update, record.summary.remove)
            self.summarised.update(
                ".".join(list(i.nested_key) or [i.key]) for i in (*record.summary.update, *record.summary.remove)
            )
        elif kind == "history":
            self._items(self.history, record.history.item, [])
        elif kind == "artifact":
            a = record.artifact
            size = sum(e.size for e in a.manifest.contents)
            self.logged.append(ArtifactInfo(path=f"wandb-artifacts/{a.type}/{a.name}", size=size))
        elif kind == "exit":
            self.exit_code = record.exit.exit_code

    @staticmethod
    def _items(target: dict[str, Any], updates: Any, removes: Any) -> None:
        """Apply update and remove items (`key`, or `nested_key` for a path into nested values)."""
        for item in updates:
            *parents, last = list(item.nested_key) or [item.key]
            if len(parents) >= LIMITS.depth:
                raise ValueError(f"a key nested {len(parents) + 1} deep; the limit is {LIMITS.depth}")
            node = target
            for k in parents:
                if not isinstance(node.get(k), dict):
                    node[k] = {}
                node = node[k]
            try:
                node[last] = loads_bounded(item.value_json) if item.value_json else None
            except ValueError as exc:
                raise ValueError(f'the value of "{".".join([*parents, last])}" does not decode: {exc}') from None
        for item in removes:
            *parents, last = list(item.nested_key) or [item.key]
            found: dict[str, Any] = target
            for k in parents:
                inner = found.get(k)
                found = inner if isinstance(inner, dict) else {}
            found.pop(last, None)

    def subject(
        self,
        ref: str,
        artifacts: list[ArtifactInfo],
        summary_file: dict | None,
        config_file: dict | None,
        card: dict[str, Any] | None = None,
    ) -> Subject:
        run = self.run
        if run is None:
            raise EvidenceError(
                f"{ref}: the W&B log holds no run record", "the run did not start; nothing to decide on"
            )
        history = {
            k: v
            for k, v in flatten(_public(self.history)).items()
            if not any(k == s or k.startswith(s + ".") for s in self.summarised)
        }
        metrics = numeric(history)
        metrics.update(numeric(flatten(_public(summary_file if summary_file is not None else self.summary))))
        params = flatten(unwrap(_public(config_file if config_file is not None else self.config)))
        state = "crashed" if self.exit_code is None else ("finished" if self.exit_code == 0 else "failed")
        tags = dict.fromkeys(run.tags, "true")
        tags.update(
            {
                k: v
                for k, v in (
                    ("wandb.notes", run.notes),
                    ("wandb.group", run.run_group),
                    ("wandb.job_type", run.job_type),
                )
                if v
            }
        )
        tags["wandb.state"] = state
        start = _start(run, ref) if run.HasField("start_time") else None
        return Subject(
            source="wandb",
            reference=ref,
            model=ModelInfo(name=run.project or None),
            run=RunInfo(id=run.run_id, start_time=start, user=run.entity or None, git_commit=run.git.commit or None),
            metrics=metrics,
            params=params,
            tags=tags,
            artifacts=sorted(artifacts + self.logged, key=lambda a: a.path),
            card=card,
        )


def _start(run: Any, ref: str) -> dt.datetime:
    """The run's start time; EvidenceError for one no calendar holds."""
    try:
        return run.start_time.ToDatetime(tzinfo=dt.UTC)
    except (OverflowError, ValueError):
        raise EvidenceError(
            f"{ref}: the run's start time ({run.start_time.seconds} s since 1970) is out of range"
        ) from None


def subject_from_api_run(ref: str, run: Any) -> Subject:
    """The same mapping for a run read through wandb's public API (wandb.apis.public.Run, whose
    fields are those of its GraphQL RunFragment: summaryMetrics, config, tags, commit, …)."""
    metrics = numeric(flatten(_public(dict(run.summary_metrics or {}))))
    params = flatten(
        unwrap(_public(dict(run.config or {})))
    )  # the API unwraps {value: …} already; older servers may not
    tags = dict.fromkeys(run.tags or [], "true")
    tags.update(
        {
            k: v
            for k, v in (("wandb.notes", run.notes), ("wandb.group", run.group), ("wandb.job_type", run.job_type))
            if v
        }
    )
    tags["wandb.state"] = run.state
    start = _created(run.created_at, ref) if run.created_at else None
    if start is not None and start.tzinfo is None:
        start = start.replace(tzinfo=dt.UTC)  # the API's createdAt is UTC without a zone
    user = getattr(run, "user", None)
    return Subject(
        source="wandb",
        reference=ref,
        model=ModelInfo(name=run.project),
        run=RunInfo(
            id=run.id,
            start_time=start,
            user=getattr(user, "username", None) or run.entity,
            git_commit=run.commit or None,
        ),
        metrics=metrics,
        params=params,
        tags=tags,
    )


# ---- values -----------------------------------------------------------------------------------


def _created(text: str, ref: str) -> dt.datetime:
    try:
        return in_utc(dt.datetime.fromisoformat(text.replace("Z", "+00:00")), f"{ref}: created_at")
    except ValueError:
        raise EvidenceError(f"{ref}: created_at {text[:40]!r} is not an ISO 8601 time") from None


def _public(values: dict[str, Any]) -> dict[str, Any]:
    """Without wandb's own keys (_wandb, _step, _runtime, _timestamp)."""
    return {k: v for k, v in values.items() if not k.startswith("_")}


def unwrap(config: dict[str, Any]) -> dict[str, Any]:
    """config.yaml's `{desc: …, value: …}` wrappers, removed."""
    out = {}
    for k, v in config.items():
        out[k] = v["value"] if isinstance(v, dict) and "value" in v and set(v) <= {"value", "desc"} else v
    return out


def flatten(values: dict[str, Any]) -> dict[str, Any]:
    """Nested values with dotted keys; a dict with a _type is a media object and stays whole."""
    return flatten_mapping(values, keep=lambda v: "_type" in v)


def numeric(values: dict[str, Any]) -> dict[str, Any]:
    """The numbers among the values (NaN included: a rule reading it errors, never passes)."""
    return {k: v for k, v in values.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def _older_file(path: Path | None) -> dict | None:
    """wandb-summary.json or config.yaml, read as other evidence is (bounded); None when absent."""
    if path is None:
        return None
    value = read_document(path, EvidenceError)
    return value if isinstance(value, dict) else None
