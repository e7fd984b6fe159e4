"""pml-policy: decide which trained model may go to production, with policies as code.

The operations the CLI and the service run, as library calls over a workspace (the policies, the
audit log opened once, the registries, the actor), each returning a typed result with its exit code:

>>> import pml_policy
>>> with pml_policy.Workspace.open(["policies/starter"], audit_url=None) as ws:
...     checked = pml_policy.check(ws, ["examples/credit-pass"], champion="examples/credit-champion")
>>> checked.outcome, checked.exit_code
('pass', 0)
>>> [r.ref for r in checked.decisions[0].rules if r.outcome != "pass"]
[]

The engine alone, without a workspace:

>>> policies = pml_policy.load(["policies/starter"])
>>> subject = pml_policy.fetch("examples/credit-fail")
>>> pml_policy.evaluate(policies, subject).outcome
'fail'

`govern(ws, model)` decides every version of a registered model, plans and (with apply) makes the
registry changes; `recheck(ws)` re-checks the champions; `approve(ws, ref, role, reason)` records a
sign-off bound to the evidence; `replay(ws, ref)` re-evaluates a recorded decision under the
workspace's policies; `AuditStore(url).verify()` checks the chain.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"  # the one place the version is written; pyproject.toml reads it from here

if TYPE_CHECKING:  # what type checkers see: the real names, with their signatures
    from pml_policy.adapters import AdapterConfig, fetch
    from pml_policy.audit import AuditStore
    from pml_policy.base.errors import PmlError
    from pml_policy.engine import (
        Decision,
        PolicySet,
        Subject,
        evaluate,
        load,
    )
    from pml_policy.usecases.approving import Approved, approve, revoke
    from pml_policy.usecases.checking import Checked, check
    from pml_policy.usecases.governing import Governed, govern
    from pml_policy.usecases.rechecking import RecheckRun, recheck
    from pml_policy.usecases.replaying import Replay, replay
    from pml_policy.usecases.workspace import Workspace

# name -> module. Resolved on first use at run time (PEP 562): every front imports this package
# first, and `pml-policy --version` must not pay for the engine, pydantic and lark.
_API = {
    "load": "pml_policy.engine",
    "evaluate": "pml_policy.engine",
    "Decision": "pml_policy.engine",
    "PolicySet": "pml_policy.engine",
    "Subject": "pml_policy.engine",
    "fetch": "pml_policy.adapters",
    "AdapterConfig": "pml_policy.adapters",
    "Workspace": "pml_policy.usecases.workspace",
    "check": "pml_policy.usecases.checking",
    "Checked": "pml_policy.usecases.checking",
    "govern": "pml_policy.usecases.governing",
    "Governed": "pml_policy.usecases.governing",
    "recheck": "pml_policy.usecases.rechecking",
    "RecheckRun": "pml_policy.usecases.rechecking",
    "replay": "pml_policy.usecases.replaying",
    "Replay": "pml_policy.usecases.replaying",
    "approve": "pml_policy.usecases.approving",
    "Approved": "pml_policy.usecases.approving",
    "revoke": "pml_policy.usecases.approving",
    "AuditStore": "pml_policy.audit",
    "PmlError": "pml_policy.base.errors",
}

if not TYPE_CHECKING:  # a type checker sees the imports above; an unknown name is its error

    def __getattr__(name: str) -> Any:
        if name in _API:
            return getattr(importlib.import_module(_API[name]), name)
        raise AttributeError(f"module 'pml_policy' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "AdapterConfig",
    "Approved",
    "AuditStore",
    "Checked",
    "Decision",
    "Governed",
    "PmlError",
    "PolicySet",
    "RecheckRun",
    "Replay",
    "Subject",
    "Workspace",
    "__version__",
    "approve",
    "check",
    "evaluate",
    "fetch",
    "govern",
    "load",
    "recheck",
    "replay",
    "revoke",
]
