"""Group commit: the decisions of requests that arrive together are appended in one transaction.

Appends serialise on the log's head (that is what keeps the chain from forking), so one request at
a time would hold the lock for its round trips and its commit. A single recorder thread takes
everything waiting, appends it at once, and answers each caller with its own records; throughput
grows with the load, and a lone request waits no longer than it would alone. When a batch fails
(a policy version recorded with other text, say), each caller's decisions are tried alone, so one
request's error is never another's.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field

from pml_policy.audit import AuditStore, Entry
from pml_policy.base.errors import AuditError, PmlError

BATCH = 256  # callers in one transaction at most


@dataclass
class _Slot:
    entries: list[Entry]
    actor: str
    done: threading.Event = field(default_factory=threading.Event)
    result: list[tuple[int, str]] | None = None
    error: PmlError | None = None


class Recorder:
    """The service's workspaces append through `append` (a workspace.Appender)."""

    def __init__(self, store: AuditStore, ci: dict[str, str]) -> None:
        self.store = store
        self.ci = ci
        self.waiting: queue.Queue[_Slot | None] = queue.Queue()
        self.thread = threading.Thread(target=self._run, name="pml-recorder", daemon=True)
        self.thread.start()

    def append(self, entries: list[Entry], by: str) -> list[tuple[int, str]]:
        """Append these entries (with the others waiting now); each record's (seq, hash); raises
        what the append raised."""
        slot = _Slot(entries, by)
        self._alive()
        self.waiting.put(slot)
        while not slot.done.wait(1.0):  # a caller never waits on a thread that is gone
            self._alive()
        if slot.error is not None:
            raise slot.error
        assert slot.result is not None
        return slot.result

    @property
    def alive(self) -> bool:
        return self.thread.is_alive()

    def _alive(self) -> None:
        if not self.alive:
            raise AuditError("the service's recorder has stopped: nothing can be recorded", "restart the service")

    def close(self) -> None:
        self.waiting.put(None)
        self.thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            first = self.waiting.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < BATCH:
                try:
                    more = self.waiting.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self.waiting.put(None)  # close after this batch
                    break
                batch.append(more)
            self._append(batch)

    def _append(self, batch: list[_Slot]) -> None:
        entries = [e for slot in batch for e in slot.entries]
        actors = [slot.actor for slot in batch for _ in slot.entries]
        try:
            appended = self.store.append(entries, actors, self.ci)
        except Exception as exc:  # the thread outlives any fault: each caller gets its own error
            if not isinstance(exc, PmlError):
                exc = AuditError(f"the decision was not recorded: {type(exc).__name__}: {str(exc)[:200]}")
            if len(batch) == 1:
                batch[0].error = exc
                batch[0].done.set()
                return
            for slot in batch:  # one caller's error is not the others'
                self._append([slot])
            return
        start = 0
        for slot in batch:
            slot.result = appended[start : start + len(slot.entries)]
            start += len(slot.entries)
            slot.done.set()
