"""What one evaluation reads and records: the Env a compiled expression is a function of, and the
facts computed once per evaluation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from . import ast
from .signoffs import SignOffs
from .values import ABSENT, EvalError, EvalTypeError, Missing, show


class Env:
    """What one evaluation reads: the subject, the champion, context data, facts; what it saw."""

    __slots__ = ("subject", "champion", "data", "facts", "observed", "absent", "signoffs", "now")

    def __init__(
        self,
        subject: dict,
        champion: dict | None,
        data: dict,
        signoffs: SignOffs | None = None,
        now: dt.datetime | None = None,
    ) -> None:
        self.subject = subject
        self.champion = champion
        self.data = data
        self.signoffs = signoffs  # the approvals given on the subject, for `approved by` (1.1)
        self.now = now  # the time of the decision, fixed once and recorded with it (1.1)
        self.facts: dict[str, Any] = {}
        self.observed: dict[str, Any] = {}  # path -> value read by the current rule (None when absent)
        self.absent: set[str] = set()  # paths found absent in this evaluation, to say "absent", not "null"

    def missing(self, text: str, v: Any) -> Missing:
        """Record a path that cannot be read, and the exception that makes its rule an error."""
        if v is ABSENT:
            self.absent.add(text)
            v = None
        self.observed[text] = v
        return Missing(text, ABSENT if text in self.absent else v)

    def seen(self) -> str:
        """The observed values as a message lists them (the first six)."""
        parts = []
        for k, v in self.observed.items():
            parts.append(f"{k} = absent" if k in self.absent else f"{k} = {show(v)}")
            if len(parts) == 6:
                break
        return ", ".join(parts)


Fn = Callable[[Env], Any]


class FactFailed:
    """A fact that could not be computed: rules that read it fail with its reason."""

    __slots__ = ("error", "observed")

    def __init__(self, error: EvalError, observed: dict) -> None:
        self.error = error
        self.observed = observed


class FactValue:
    """A computed fact with the evidence it read, which becomes evidence of every rule using it."""

    __slots__ = ("value", "observed")

    def __init__(self, value: Any, observed: dict) -> None:
        self.value = value
        self.observed = observed


def is_param(node: ast.Expr) -> bool:
    if not isinstance(node, ast.Path):
        return False
    parts = node.parts[1:] if node.parts[0] == "champion" else node.parts
    return bool(parts) and parts[0] == "params"


def decision_time(env: Env) -> dt.datetime:
    if env.now is None:  # an evaluation always has one; ranking candidates does not
        raise EvalTypeError("now is not known here (rank by cannot read the time)")
    return env.now
