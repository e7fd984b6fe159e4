"""pml-policy: decide which trained model may go to production, with policies as code.

>>> import pml_policy
>>> policies = pml_policy.load(["policies/starter"])                       # doctest: +SKIP
>>> subject = pml_policy.fetch("examples/credit-pass")                     # doctest: +SKIP
>>> pml_policy.evaluate(policies, subject).outcome                        # doctest: +SKIP
'pass'
"""
from __future__ import annotations

from typing import Any

__version__ = "0.1.0"  # the one place the version is written; pyproject.toml reads it from here

_API = {
    "load": "pml_policy.engine",
    "evaluate": "pml_policy.engine",
    "Decision": "pml_policy.engine",
    "Subject": "pml_policy.engine",
    "fetch": "pml_policy.adapters",
}


def __getattr__(name: str) -> Any:
    # The public API, imported on first use so that `pml-policy --help` stays fast.
    if name in _API:
        import importlib

        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(name)


__all__ = ["__version__", *_API]
