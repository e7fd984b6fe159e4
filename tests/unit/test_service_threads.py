"""The service's own threads outlive any fault of one item: the recorder answers each caller with its
own error and goes on; a caller never waits on a recorder that is gone; the registry budget holds
in any thread (no signal) and a bounded number of calls may wait at once."""

from __future__ import annotations

import threading
import time

import pytest

from pml_policy.audit import AuditStore
from pml_policy.base.errors import AuditError, EvidenceError
from pml_policy.base.waiting import Busy, Deadline, Slots
from pml_policy.service.recorder import Recorder

from ..support.audit import _decision


def test_the_recorder_survives_a_fault_it_never_expected(tmp_path, monkeypatch):
    store = AuditStore(f"sqlite:///{tmp_path}/a.db")
    recorder = Recorder(store, {})
    real = store.append
    faults = iter([RuntimeError("a driver's surprise")])

    def append_once_broken(*args, **kwargs):
        fault = next(faults, None)
        if fault is not None:
            raise fault
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "append", append_once_broken)
    with pytest.raises(AuditError, match="not recorded: RuntimeError: a driver's surprise"):
        recorder.append([_decision()], "tester")
    assert recorder.alive
    assert [seq for seq, _ in recorder.append([_decision()], "tester")] == [1]  # the next caller is served
    recorder.close()
    with pytest.raises(AuditError, match="recorder has stopped"):
        recorder.append([_decision()], "tester")  # refused at once, never a wait on a thread that is gone
    store.close()


def test_the_registry_budget_holds_off_the_main_thread():
    """No signal: a call that never returns fails the caller at the budget, in any thread."""
    outcome: dict[str, object] = {}

    def caller() -> None:
        started = time.monotonic()
        try:
            Deadline(0.5).run("a registry", time.sleep, 60)
        except EvidenceError as exc:
            outcome["error"], outcome["took"] = exc.message, time.monotonic() - started

    thread = threading.Thread(target=caller)
    thread.start()
    thread.join(10)
    assert "a registry: no answer within 0.5 s" in str(outcome["error"]) and float(outcome["took"]) < 2  # type: ignore[arg-type]


def test_calls_beyond_the_slots_are_refused_at_once_and_a_slot_frees_when_its_call_ends():
    slots, release = Slots(1), threading.Event()
    held = threading.Thread(target=lambda: Deadline(5, slots).run("first", release.wait))
    held.start()
    time.sleep(0.2)
    started = time.monotonic()
    with pytest.raises(Busy, match="1 registry calls are already waiting"):
        Deadline(5, slots).run("second", lambda: None)
    assert time.monotonic() - started < 0.5
    with pytest.raises(EvidenceError, match="no answer within 0.3 s"):  # abandoned: it still holds its slot
        Deadline(0.3, Slots(1)).run("slow", time.sleep, 2)
    release.set()
    held.join()
    assert Deadline(5, slots).run("third", lambda: 42) == 42 and slots.taken == 0
