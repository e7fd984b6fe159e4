"""The evaluator backends by name: one table, so that no backend imports the module that picks it.

>>> from pml_policy.adapters import fetch
>>> from pml_policy.engine import load, evaluate
>>> policies = load(["policies/starter"])
>>> champion = fetch("examples/credit-champion")
>>> evaluate(policies, fetch("examples/credit-pass"), champion).outcome
'pass'
>>> backend("durable").evaluate(policies, fetch("examples/credit-fail"), champion).outcome
'fail'
"""

from __future__ import annotations

import datetime as dt
import importlib
from typing import Any, Protocol

from pml_policy.base.errors import UsageError

from .decision import Decision
from .loader import PolicySet
from .subject import Subject

# name -> (module, class). durable_rules is an extra (pml-policy[durable]): imported only when chosen.
BACKENDS: dict[str, tuple[str, str]] = {
    "python": ("pml_policy.engine.python_backend", "PythonBackend"),
    "durable": ("pml_policy.engine.durable_backend", "DurableBackend"),
}


class Backend(Protocol):
    name: str

    def evaluate(
        self,
        policies: PolicySet,
        subject: Subject,
        champion: Subject | None = None,
        data: dict[str, Any] | None = None,
        now: dt.datetime | None = None,
    ) -> Decision: ...


def backend(name: str = "python") -> Backend:
    """The evaluator by name: 'python' (default) or 'durable' (needs pml-policy[durable])."""
    if name not in BACKENDS:
        raise UsageError(f"no evaluator backend {name!r}", f"choose one of: {', '.join(BACKENDS)}")
    module, cls = BACKENDS[name]
    backend_class: type[Backend] = getattr(importlib.import_module(module), cls)
    return backend_class()


def evaluate(
    policies: PolicySet,
    subject: Subject,
    champion: Subject | None = None,
    data: dict[str, Any] | None = None,
    now: dt.datetime | None = None,
    engine: str = "python",
) -> Decision:
    """The decision on a subject (and its champion) under the policies."""
    return backend(engine).evaluate(policies, subject, champion, data, now)
