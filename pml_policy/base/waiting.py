"""How long an operation waits for registries, in total, and how many registry calls may wait at
once. A registry that accepts connections but never answers (or trickles a byte at a time) fails
the operation within its budget, with exit 3, instead of hanging a CI job or a service thread:
per-request timeouts alone cannot promise that (retries and slow reads add up).

No signal is used, so the budget holds in any thread (the service's workers and request threads
as in the CLI): each call runs in a thread of its own and is waited for at most what is left of
the budget; a call that outlives it is abandoned to finish on its own (its client's socket
timeouts end it), and nothing waits for it. In the service, `Slots` bounds how many calls may be
in flight at once, abandoned ones included, so a hanging registry cannot take every thread: a
call beyond the bound is refused at once (`Busy`: 429 with Retry-After).

>>> budget = Deadline(15.0)
>>> budget.run("MLflow at http://mlflow:5000", lambda: 2 + 2)
4
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from .errors import EvidenceError

DEFAULT_SECONDS = 15.0
RETRY_AFTER = 5  # seconds a refused caller is told to wait (Busy)
T = TypeVar("T")


class Busy(EvidenceError):
    """Every registry slot is taken (a registry that hangs, or a burst): try again shortly."""


class Slots:
    """At most `size` registry calls in flight at once in this process. A call holds its slot until
    it really ends, an abandoned one too: a registry that never answers fills the slots, and later
    calls are refused at once rather than queued behind it."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._free = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self.taken = 0

    def take(self, what: str) -> None:
        if not self._free.acquire(blocking=False):
            raise Busy(
                f"{what}: {self.size} registry calls are already waiting; not one more now",
                f"try again in {RETRY_AFTER} s; a registry that does not answer fills every slot",
            )
        with self._lock:
            self.taken += 1

    def give(self) -> None:
        with self._lock:
            self.taken -= 1
        self._free.release()


class Deadline:
    """One operation's budget for waiting on registries, counted from its first use."""

    def __init__(self, seconds: float = DEFAULT_SECONDS, slots: Slots | None = None) -> None:
        self.seconds = seconds
        self.slots = slots
        self.ends: float | None = None

    def remaining(self) -> float:
        if self.ends is None:
            self.ends = time.monotonic() + self.seconds
        return self.ends - time.monotonic()

    def run(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """fn(*args, **kwargs) within what is left of the budget, or EvidenceError naming `what`
        (Busy when no slot is free); fn's own exceptions come back as they were raised."""
        left = self.remaining()
        if left <= 0:
            raise self.expired(what)
        if self.slots is not None:
            self.slots.take(what)
        box: dict[str, Any] = {}

        def call() -> None:
            try:
                box["value"] = fn(*args, **kwargs)
            except BaseException as exc:  # handed to the caller, whatever it is
                box["error"] = exc
            finally:
                if self.slots is not None:
                    self.slots.give()

        thread = threading.Thread(target=call, name="pml-registry-call", daemon=True)
        thread.start()
        thread.join(left)
        if thread.is_alive():
            raise self.expired(what)
        if "error" in box:
            raise box["error"]
        result: T = box["value"]
        return result

    def expired(self, what: str) -> EvidenceError:
        return EvidenceError(
            f"{what}: no answer within {self.seconds:g} s (the time an operation waits for registries in total)",
            "check that the server is up and answering; raise the limit with --registry-timeout / PML_REGISTRY_TIMEOUT",
        )
