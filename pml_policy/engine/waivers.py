"""Waivers: which one covers a failed rule, and which have expired (reported, never applied)."""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections import defaultdict
from dataclasses import dataclass

from . import ast


@dataclass(frozen=True)
class WaiverSpec:
    id: str
    policy: str
    rule: str
    model: str
    version: str  # "*" for every version
    reason: str
    approved_by: str
    expires: dt.date
    source: str

    def covers(self, model: str | None, version: str | None) -> bool:
        if model is None or not fnmatch.fnmatchcase(model, self.model):
            return False
        return self.version == "*" or (version is not None and str(version) == self.version)

    def expired(self, now: dt.datetime) -> bool:
        """Valid through the end of its expiry day, UTC."""
        return now.astimezone(dt.UTC).date() > self.expires


def from_ast(w: ast.Waiver, source: str) -> WaiverSpec:
    assert w.target and w.model and w.reason and w.approved and w.expires, "checked before"
    return WaiverSpec(
        id=w.id,
        policy=w.target.policy,
        rule=w.target.rule,
        model=w.model.model,
        version=w.model.version,
        reason=w.reason.value,
        approved_by=w.approved.value,
        expires=w.expires.date,
        source=source,
    )


class WaiverIndex:
    def __init__(self, waivers: list[WaiverSpec]) -> None:
        self.all = waivers
        self._by_rule: dict[tuple[str, str], list[WaiverSpec]] = defaultdict(list)
        for w in waivers:
            self._by_rule[(w.policy, w.rule)].append(w)

    def lookup(
        self, policy: str, rule: str, model: str | None, version: str | None, now: dt.datetime
    ) -> tuple[WaiverSpec | None, list[WaiverSpec]]:
        """(a valid waiver covering the rule for this model version, the expired ones that would have)."""
        valid, expired = None, []
        for w in self._by_rule.get((policy, rule), ()):
            if w.covers(model, version):
                if w.expired(now):
                    expired.append(w)
                elif valid is None:
                    valid = w
        return valid, expired
