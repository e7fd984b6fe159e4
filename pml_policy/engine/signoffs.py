"""Approvals as a rule sees them (DSL 1.1, "Approvals"): which recorded sign-offs count for
`approved by [N of] "ROLE"`. The use cases read approvals from the audit log and hand them over on
the subject; this module never reads the log.

An approval counts only when it was given for this model version, on exactly this evidence (the
digest the approver saw: `bound_digest`), before its expiry (the end of that day, UTC), by a member of the
role as the policy files declare it now, and not by the person who trained the model (`run.user`);
for a member the role lists with a key (`"cro@bank.example" key "ed25519:…"`), only with that member's
own signature of what it binds (`statement`: `pml-policy approve --key`). `N of` needs N distinct
approvers. People are compared as base.identities says: trimmed and case-folded.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
from collections.abc import Container
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from pml_policy.base.identities import identity

from .subject import Approval, Subject

KEY_PREFIX = "ed25519:"

# Tags the registry or governance itself sets on a version, besides the `set tag` keys of the
# policies: a revert's flag, SageMaker's approval status.
REGISTRY_TAGS = frozenset({"governance.violation", "sagemaker.approval_status"})


@dataclass(frozen=True)
class Unbound:
    """Tag keys left out of the evidence approvals and decisions bind: the ones governance writes
    (exact keys) and the `operational tags` other tools write (globs, 1.3)."""

    keys: frozenset[str] = REGISTRY_TAGS
    patterns: tuple[str, ...] = ()

    def __contains__(self, key: object) -> bool:
        return key in self.keys or (isinstance(key, str) and any(fnmatchcase(key, p) for p in self.patterns))


def bound_digest(subject: Subject, managed: Container[str]) -> str:
    """What an approval binds: the subject's evidence without the registry state governance itself
    changes (its aliases; the tags in `managed`: the policies' `set tag` keys and REGISTRY_TAGS), and
    the operational tags other tools set (an Unbound's patterns).
    Otherwise promoting an approved version, or tagging it approved, would void its approval."""
    body = subject.evidence_body(leave_out=frozenset({"monitoring"}))
    body["model"]["aliases"] = []
    body["model"].pop("promoted_at", None)  # when governance moved an alias to it: its own state too
    body["tags"] = {k: v for k, v in body["tags"].items() if k not in managed}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def member_key_bytes(key: str) -> bytes | None:
    """The raw Ed25519 public key a role lists for a member (ed25519:BASE64), or None if it is not one."""
    if not key.startswith(KEY_PREFIX):
        return None
    try:
        raw = base64.b64decode(key[len(KEY_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == 32 else None


def statement(
    role: str, approver: str, model: str | None, version: str | None, digest: str, expires: str | None
) -> str:
    """What a member with a key signs when approving: everything the approval binds, canonical."""
    bound = {"approver": identity(approver), "digest": digest, "expires": expires, "model": model, "role": role}
    return json.dumps({**bound, "version": version}, sort_keys=True, separators=(",", ":"))


def signed_by(key: str, text: str, signature: str | None) -> bool:
    """Whether `signature` (base64) is the signature of `text` by the member's key."""
    raw = member_key_bytes(key)
    if raw is None or not signature:
        return False
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(raw).verify(base64.b64decode(signature, validate=True), text.encode())
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


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

    __slots__ = ("approvals", "roles", "keys", "subject_digest", "model", "version", "trainer", "now")

    def __init__(
        self,
        subject: Subject | None,
        roles: dict[str, list[str]],
        now: dt.datetime,
        managed: Container[str] = REGISTRY_TAGS,
        keys: dict[str, dict[str, str]] | None = None,
    ) -> None:
        self.approvals: list[Approval] = list(subject.approvals) if subject else []
        self.roles = roles
        self.keys = keys or {}  # role -> member (identity) -> key: whose approvals must be signed
        self.subject_digest = bound_digest(subject, managed) if subject and self.approvals else ""
        self.model = subject.model.name if subject else None
        self.version = subject.model.version if subject else None
        self.trainer = subject.run.user if subject else None
        self.now = now

    def tally(self, role: str, needed: int) -> Tally:
        members = {identity(m) for m in self.roles.get(role, [])}
        approvers: list[str] = []
        void: list[str] = []
        for a in sorted(self.approvals, key=lambda a: a.time):
            who = identity(a.approver)
            if a.role != role or who in approvers:
                continue
            why = self._void(a, who, members)
            if why:
                void.append(f"{who} ({why})")
            else:
                approvers.append(who)
        return Tally(role, needed, approvers, [v for v in void if v.split(" (")[0] not in approvers])

    def _void(self, a: Approval, who: str, members: set[str]) -> str | None:
        if (a.model, a.version) != (self.model, self.version):
            return f"given for {a.model} version {a.version}"
        if who not in members:
            return f'not a member of "{a.role}"'
        if self.trainer and who == identity(self.trainer):
            return "trained the model"
        key = self.keys.get(a.role, {}).get(who)
        expires = a.expires.isoformat() if a.expires else None
        if key and not signed_by(key, statement(a.role, who, a.model, a.version, a.digest, expires), a.signature):
            return "not signed with their own key"
        if a.digest != self.subject_digest:
            return "evidence changed since"
        if a.expires is not None and self.now.astimezone(dt.UTC).date() > a.expires:
            return f"expired {a.expires.isoformat()}"
        return None
