"""pml-policy: decide which trained model may go to production, with policies as code.

The operations the CLI and the service run, as library calls:

>>> import pml_policy
>>> policies = pml_policy.load(["policies/starter"])                          # doctest: +SKIP
>>> subject = pml_policy.fetch("examples/credit-pass")                        # doctest: +SKIP
>>> pml_policy.evaluate(policies, subject).outcome                           # doctest: +SKIP
'pass'
>>> run = pml_policy.check(["examples/credit-fail"], ["policies/starter"])   # doctest: +SKIP
>>> pml_policy.record(run, "sqlite:///.pml/audit.db").note()                 # doctest: +SKIP
'recorded in the audit log sqlite:///.pml/audit.db as #1; head 9f1c…'
>>> pml_policy.AuditStore("sqlite:///.pml/audit.db").verify().ok            # doctest: +SKIP
True

`govern(model, policies, registry)` decides every version of a registered model and plans the
registry changes; `replay(record, policy_paths)` re-evaluates a recorded decision's evidence;
`approve(ref, role, reason, policies, audit_url, by)` records a sign-off bound to the evidence.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"  # the one place the version is written; pyproject.toml reads it from here

# name -> module. Resolved on first use (PEP 562): every front imports this package first, and
# `pml-policy --version` or `audit verify` must not pay for the engine, pydantic and lark.
_API = {
    "load": "pml_policy.engine",
    "evaluate": "pml_policy.engine",
    "Decision": "pml_policy.engine",
    "PolicySet": "pml_policy.engine",
    "Subject": "pml_policy.engine",
    "fetch": "pml_policy.adapters",
    "AdapterConfig": "pml_policy.adapters",
    "check": "pml_policy.usecases.checking",
    "record": "pml_policy.usecases.checking",
    "govern": "pml_policy.usecases.governing",
    "replay": "pml_policy.usecases.replaying",
    "approve": "pml_policy.usecases.approving",
    "revoke": "pml_policy.usecases.approving",
    "AuditStore": "pml_policy.audit",
    "PmlError": "pml_policy.base.errors",
}


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'pml_policy' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = ["__version__", *_API]
