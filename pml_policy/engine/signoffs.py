"""Approvals as a rule sees them (DSL 1.1, "Approvals"): which recorded sign-offs count for
`approved by [N of] "ROLE"`. The use cases read approvals from the audit log and hand them over on
the subject; this module never reads the log.

An approval counts only when it was given for this model version, on exactly this evidence (the
digest the approver saw: `bound_digest`), before its expiry (the end of that day, UTC), by a member of the
role as the policy files declare it now, and not by the person who trained the model (`run.user`).
`N of` needs N distinct approvers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field

from .subject import Approval, Subject

# Tags the registry or governance itself sets on a version, besides the `set tag` keys of the
# policies: a revert's flag, SageMaker's approval status.
REGISTRY_TAGS = frozenset({"governance.violation", "sagemaker.approval_status"})


def bound_digest(subject: Subject, managed: frozenset[str]) -> str:
    """What an approval binds: the subject's evidence without the registry state governance itself
    changes (its aliases; the tags in `managed`: the policies' `set tag` keys and REGISTRY_TAGS).
    Otherwise promoting an approved version, or tagging it approved, would void its approval."""
    body = subject.evidence_body(leave_out=frozenset({"monitoring"}))
    body["model"]["aliases"] = []
    body["tags"] = {k: v for k, v in body["tags"].items() if k not in managed}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Tally:
    """For one role: who counts, and why the others do not."""

    role: str
    needed: int
    approvers: list[str]
    void: list[str] = field(default_factory=list)  # "who (why)"

    @property
    def met(self) -> bool:
        return len(self.approvers) >= self.needed

    def message(self) -> str:
        got = f"({len(self.approvers)} of {self.needed})"
        if self.met:
            text = f'approved by "{self.role}": {", ".join(self.approvers)} {got}'
        else:
            text = f'awaiting approval by "{self.role}" {got}'
            if self.approvers:
                text += f"; approved by {', '.join(self.approvers)}"
        if self.void:
            text += "; not counted: " + ", ".join(self.void)
        return text


class SignOffs:
    """The approvals given on one subject, and the roles they are checked against."""

    __slots__ = ("approvals", "roles", "subject_digest", "model", "version", "trainer", "now")

    def __init__(
        self,
        subject: Subject | None,
        roles: dict[str, list[str]],
        now: dt.datetime,
        managed: frozenset[str] = REGISTRY_TAGS,
    ) -> None:
        self.approvals: list[Approval] = list(subject.approvals) if subject else []
        self.roles = roles
        self.subject_digest = bound_digest(subject, managed) if subject and self.approvals else ""
        self.model = subject.model.name if subject else None
        self.version = subject.model.version if subject else None
        self.trainer = subject.run.user if subject else None
        self.now = now

    def tally(self, role: str, needed: int) -> Tally:
        members = set(self.roles.get(role, []))
        approvers: list[str] = []
        void: list[str] = []
        for a in sorted(self.approvals, key=lambda a: a.time):
            if a.role != role or a.approver in approvers:
                continue
            why = self._void(a, members)
            if why:
                void.append(f"{a.approver} ({why})")
            else:
                approvers.append(a.approver)
        return Tally(role, needed, approvers, [v for v in void if v.split(" (")[0] not in approvers])

    def _void(self, a: Approval, members: set[str]) -> str | None:
        if (a.model, a.version) != (self.model, self.version):
            return f"given for {a.model} version {a.version}"
        if a.approver not in members:
            return f'not a member of "{a.role}"'
        if self.trainer and a.approver == self.trainer:
            return "trained the model"
        if a.digest != self.subject_digest:
            return "evidence changed since"
        if a.expires is not None and self.now.astimezone(dt.UTC).date() > a.expires:
            return f"expired {a.expires.isoformat()}"
        return None
