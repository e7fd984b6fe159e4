"""Sign-offs (DSL 1.1, "Approvals") as library calls: give one, withdraw one, list them, and hand a
subject the ones recorded for it before it is evaluated (the engine never reads the log).

>>> ws = Workspace.open(["policies"], actor="cro@bank.example")                            # doctest: +SKIP
>>> approve(ws, "models:/credit-scorer/8", "model-risk", "Reviewed the validation pack").record  # doctest: +SKIP
12
>>> [(a["approver"], state) for a, state in listed(ws, "credit-scorer")]                  # doctest: +SKIP
[('cro@bank.example', 'valid')]
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pml_policy.adapters.lookup import adapter_for
from pml_policy.audit.queries import ApprovalRow
from pml_policy.audit.signing import Signer
from pml_policy.base.errors import EXIT_PASS, PmlError, Refused, UsageError
from pml_policy.base.identities import identity, same
from pml_policy.engine import PolicySet, Subject
from pml_policy.engine.diagnostics import did_you_mean
from pml_policy.engine.signoffs import bound_digest, signed_by, statement
from pml_policy.engine.subject import Approval

from .workspace import Workspace

if TYPE_CHECKING:
    from .governing import Governed

MAX_REASON = 2000  # characters: a reason is a sentence or a paragraph, never a document


@dataclass
class Approved:
    """A sign-off as recorded: its record, the subject as approved, the digest it binds; and, when
    asked, the govern pass of its model that followed."""

    record: int
    subject: Subject
    role: str
    approver: str
    digest: str
    expires: dt.date | None
    governed: Governed | None = None

    @property
    def exit_code(self) -> int:
        """0: recorded (a refusal is an exception: Refused, exit 2); 3 when the govern pass that
        followed could not make a registry change."""
        return self.governed.exit_code if self.governed is not None else EXIT_PASS


def approve(
    ws: Workspace,
    ref: str,
    role: str,
    reason: str,
    expires: dt.date | None = None,
    *,
    key: str | Path | None = None,
    then_govern: bool = False,
    apply: bool = False,
) -> Approved:
    """Record the workspace actor's sign-off of the evidence behind `ref` for `role`. Refused
    (UsageError): an undeclared role, a non-member, whoever trained the model, a subject with no
    model version, an expiry in the past, an empty reason, a member the role lists with a key who
    gives no key or another one. key: the approver's private key (audit keygen's .key): the
    approval then carries their own signature of what it binds. then_govern: a version in the
    workspace's registry may pass now, so its model is governed at once (the one govern
    sequence), its changes made with apply. People are compared trimmed and case-folded."""
    by, policies = identity(ws.actor), ws.policies
    members = _members(policies, role)
    if by not in {identity(m) for m in members}:
        raise Refused(
            f'{by} is not a member of the role "{role}" ({", ".join(members)})',
            "approve as a member (the actor is PML_ACTOR, else your git user.email), or change the role in the "
            "policy files through review",
        )
    reason = _reason(reason)
    if expires is not None and expires < dt.datetime.now(dt.UTC).date():
        raise UsageError(f"--expires {expires.isoformat()} is in the past", "give today or a later day")
    subject = adapter_for(ref, ws.adapters).fetch(ref)
    if not subject.model.name or not subject.model.version:
        raise UsageError(
            f"{ref}: the evidence names no model version, and an approval binds one",
            "name it in the folder's pml.yaml (model: {name, version}) or approve a registry reference",
        )
    if same(subject.run.user, by):
        raise Refused(
            f"{by} trained {subject.model.name} version {subject.model.version} (run.user), and cannot approve it",
            f'another member of "{role}" must sign off',
        )
    digest = bound_digest(subject, policies.managed_tags)
    until = expires.isoformat() if expires else None
    approval = {
        "role": role,
        "approver": by,
        "digest": digest,
        "model": subject.model.name,
        "version": subject.model.version,
        "reason": reason,
        "expires": until,
        "revokes": None,
    }
    text = statement(role, by, subject.model.name, subject.model.version, digest, until)
    signature = _member_signature(policies.member_keys.get(role, {}).get(by), key, text, by, role)
    if signature is not None:
        approval["signature"] = signature
    seq = ws.log.store().record_approval(approval, ref, by)
    approved = Approved(seq, subject, role, by, digest, expires)
    if then_govern and subject.source == ws.registry_kind:
        from .governing import govern

        approved.governed = govern(ws, subject.model.name or "", apply=apply)
    return approved


def revoke(ws: Workspace, seq: int, reason: str) -> int:
    """Withdraw an approval with a new record (never an edit): by its approver or a member of its role."""
    by, policies = identity(ws.actor), ws.policies
    given = next((a for a in ws.log.store(create=False).approvals(None) if a["seq"] == seq), None)
    if given is None or given["revoked_by"] is not None:
        what = "is not an approval" if given is None else f"was revoked by record #{given['revoked_by']}"
        raise UsageError(f"record #{seq} {what}", "`pml-policy approvals` lists the approvals and their records")
    if not same(by, given["approver"]) and by not in {identity(m) for m in policies.roles.get(given["role"], [])}:
        raise Refused(f'{by} neither gave approval #{seq} nor is a member of "{given["role"]}"')
    withdrawal: dict[str, Any] = {
        "role": given["role"],
        "approver": by,
        "digest": given["digest"],
        "model": given["model"],
        "version": given["version"],
        "reason": _reason(reason),
        "expires": None,
        "revokes": seq,
    }
    return ws.log.store().record_approval(withdrawal, given["subject_ref"], by)


def attach(ws: Workspace, subjects: Iterable[Subject], policies: PolicySet | None = None) -> None:
    """Give each subject the approvals recorded for its model version, where a policy that applies
    to it has a sign-off rule: one read per model. No log yet: no approvals (none can exist). A log
    that cannot be read is an AuditError: a decision never goes ahead without the approvals it needs.
    With a signing key, an approval (or a withdrawal) whose record is unsigned, signed by another
    key, or edited since does not count."""
    policies = policies or ws.policies
    subjects = list(subjects)
    for s in subjects:  # only the log says who approved: never evidence pushed or read from a folder
        s.approvals = []
    wanted = [s for s in subjects if s.model.name and s.model.version and policies.approvals_needed(s.model.name)]
    store = ws.log.existing() if wanted else None
    if store is None:
        return
    signed = store.signer is not None  # a signed log: an approval counts only if its record is ours, intact
    by_model = {
        name: store.approvals(name, signed_only=signed) for name in sorted({s.model.name or "" for s in wanted})
    }
    for s in wanted:
        s.approvals = [
            _approval(a)
            for a in by_model[s.model.name or ""]
            if a["version"] == s.model.version and a["revoked_by"] is None
        ]


def listed(
    ws: Workspace, model: str | None = None, version: str | None = None, live: bool = False
) -> list[tuple[ApprovalRow, str]]:
    """Each approval with its state: valid; void: evidence changed (the evidence the approval was
    given for is not the version's now: with `live`, read from its registry or folder as `check`
    would read it, else the latest decision recorded on it; the tags governance sets and the
    operational tags, as the workspace's policies say, are left out of it); void: not signed with
    their own key (the role lists the approver with a key); expired; revoked."""
    store = ws.log.store(create=False)
    managed = ws.policies.managed_tags
    rows = store.approvals(model, version)
    evidence = {m: store.latest_evidence(m) for m in sorted({a["model"] for a in rows})}
    latest = {
        m: {v: bound_digest(Subject.model_validate_json(e), managed) for v, e in by_version.items()}
        for m, by_version in evidence.items()
    }
    if live:
        for ref, (m, v) in {a["subject_ref"]: (a["model"], a["version"]) for a in rows}.items():
            found = _read_now(ws, ref)
            if found is not None:
                latest[m][v] = bound_digest(found, managed)
    today = dt.datetime.now(dt.UTC).date().isoformat()
    out = []
    for a in rows:
        current = latest[a["model"]].get(a["version"])
        if a["revoked_by"] is not None:
            state = f"revoked (#{a['revoked_by']})"
        elif a["expires"] is not None and a["expires"] < today:
            state = "expired"
        elif current is not None and current != a["digest"]:
            state = "void: evidence changed"
        elif not _signed_as_listed(ws.policies, a):
            state = "void: not signed with their own key"
        else:
            state = "valid"
        out.append((a, state))
    return out


def _read_now(ws: Workspace, ref: str) -> Subject | None:
    """The evidence behind `ref` as `check` reads it now, or None where it cannot be read (the
    recorded evidence stands in, and the state says as recorded)."""
    try:
        return adapter_for(ref, ws.adapters).fetch(ref)
    except PmlError:
        return None


def _signed_as_listed(policies: PolicySet, a: ApprovalRow) -> bool:
    """An approval by a member the role lists with a key carries that member's signature."""
    listed = policies.member_keys.get(a["role"], {}).get(identity(a["approver"]))
    if listed is None:
        return True
    text = statement(a["role"], a["approver"], a["model"], a["version"], a["digest"], a["expires"])
    return signed_by(listed, text, a["signature"])


def _members(policies: PolicySet, role: str) -> list[str]:
    if role not in policies.roles:
        known = sorted(policies.roles)
        raise UsageError(
            f'no role "{role}" is declared in the policy files',
            did_you_mean(role, known)
            or (f"declared: {', '.join(known)}" if known else 'declare one: role "NAME" { members [...] }'),
        )
    return policies.roles[role]


def _reason(text: str) -> str:
    reason = " ".join(text.split())
    if not reason:
        raise UsageError("--reason is empty", "say what was reviewed: it is recorded with the approval")
    if len(reason) > MAX_REASON:
        raise UsageError(f"--reason is {len(reason)} characters; the limit is {MAX_REASON}")
    return reason


def _member_signature(listed: str | None, key: str | Path | None, text: str, by: str, role: str) -> str | None:
    """The approver's own signature of what the approval binds: required (and checked against the
    key the role lists) for a member listed with a key; recorded when a key is given anyway."""
    if key is None:
        if listed is not None:
            raise Refused(
                f'the role "{role}" lists {by} with a key: their approval must carry their own signature',
                "approve with --key FILE (the private key whose public half the role lists)",
            )
        return None
    signature = Signer(key).sign(text)
    if listed is not None and not signed_by(listed, text, signature):
        raise Refused(f'--key is not the key the role "{role}" lists for {by}', "give the private key of that pair")
    return signature


def _approval(a: ApprovalRow) -> Approval:
    expires: Any = a["expires"]
    return Approval(
        role=a["role"],
        approver=a["approver"],
        digest=a["digest"],
        model=a["model"],
        version=a["version"],
        reason=a["reason"],
        expires=dt.date.fromisoformat(expires) if expires else None,
        time=dt.datetime.fromisoformat(a["time"].replace("Z", "+00:00")),
        record=a["seq"],
        signature=a["signature"],
    )
