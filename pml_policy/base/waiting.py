"""How long a command waits for registries, in total: a registry that accepts connections but never
answers (or trickles bytes) fails the command within the budget, with exit 3, instead of hanging a
CI job. Per-request timeouts alone cannot promise that: retries and slow reads add up.

>>> budget = Deadline(15.0)
>>> with budget.bounded("MLflow at http://mlflow:5000"):   # doctest: +SKIP
...     client.get_model_version("credit-scorer", "3")
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .errors import EvidenceError

DEFAULT_SECONDS = 15.0


class _Expired(BaseException):
    """Raised by the alarm inside a library call; a BaseException, so that a library's own
    `except Exception` (retry loops) cannot swallow it."""


class Deadline:
    """One command's budget for waiting on registries, counted from its first use."""

    def __init__(self, seconds: float = DEFAULT_SECONDS) -> None:
        self.seconds = seconds
        self.ends: float | None = None

    def remaining(self) -> float:
        if self.ends is None:
            self.ends = time.monotonic() + self.seconds
        return self.ends - time.monotonic()

    @contextmanager
    def bounded(self, what: str) -> Iterator[None]:
        """Run the block within what is left of the budget, or raise EvidenceError naming `what`.
        The alarm (SIGALRM) can interrupt a blocking read only in the main thread; elsewhere (the
        service's workers) the per-request timeouts the adapters set are the bound."""
        left = self.remaining()
        if left <= 0:
            raise self._expired(what)
        if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
            yield
            return
        previous = signal.signal(signal.SIGALRM, _raise_expired)
        signal.setitimer(signal.ITIMER_REAL, left)
        try:
            yield
        except _Expired:
            raise self._expired(what) from None
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

    def _expired(self, what: str) -> EvidenceError:
        return EvidenceError(
            f"{what}: no answer within {self.seconds:g} s (the time a command waits for registries in total)",
            "check that the server is up and answering; raise the limit with --registry-timeout / PML_REGISTRY_TIMEOUT",
        )


def _raise_expired(_signum: int, _frame: Any) -> None:
    raise _Expired
