"""One JSON shape per concept, produced here and nowhere else: a recorded decision (or change, or
approval record), a line of the log's listing, a registry change, an approval, an impact row. The
CLI's `--format json` and the service's responses both print these, so `audit show --format json`
and `GET /v1/decisions/{ref}` give the same document. (The check output keeps its own schema:
json_out.py.)
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from typing_extensions import TypedDict  # pydantic reads these into the OpenAPI document (3.11)


class RecordHeader(TypedDict):
    """Where a record stands in the chain, who wrote it and what it is."""

    seq: int
    id: str
    time: str
    actor: str
    kind: str  # decision, plan, recheck, change, approval
    prev_hash: str
    hash: str
    signature: str | None


class RegistryChange(TypedDict):
    """A change governance planned or made to a registry, for one model version."""

    model: str | None
    version: str | None
    kind: str  # set_alias, set_tag, revert_alias
    name: str
    value: str | None
    state: str  # planned, unchanged, withheld, outranked, applied, failed
    detail: str | None
    policy: str
    decision: str  # the id of the decision it rests on
    time: str | None  # when it was made; None while planned


class Approval(TypedDict):
    """A sign-off (or its withdrawal) as recorded, with its state where it is known."""

    record: int
    time: str | None
    subject_ref: str | None
    model: str
    version: str
    role: str
    approver: str
    digest: str  # the evidence it binds
    reason: str | None
    expires: str | None
    revokes: int | None  # a withdrawal: the approval it revokes
    revoked_by: int | None
    state: str | None  # valid, void: evidence changed, expired, revoked (#N); None where not judged


class ChangeLike(Protocol):
    """A planned change (usecases.plan.Change), as this module reads it."""

    @property
    def model(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def value(self) -> str | None: ...
    @property
    def state(self) -> str: ...
    @property
    def detail(self) -> str: ...
    @property
    def policy(self) -> str: ...
    @property
    def decision_id(self) -> str: ...


def registry_change(change: ChangeLike) -> RegistryChange:
    """A change planned (or made) in this run."""
    return {
        "model": change.model,
        "version": change.version,
        "kind": change.kind,
        "name": change.name,
        "value": change.value,
        "state": change.state,
        "detail": change.detail or None,
        "policy": change.policy,
        "decision": change.decision_id,
        "time": None,
    }


def recorded_change(row: Mapping[str, Any], action: Mapping[str, Any], decision: str) -> RegistryChange:
    """A change as the log keeps it: an action row of a decision, or a change record's action."""
    return {
        "model": row["model"],
        "version": row["version"],
        "kind": action["kind"],
        "name": action["name"],
        "value": action["value"],
        "state": action["state"],
        "detail": action["detail"],
        "policy": action["policy"],
        "decision": decision,
        "time": action["time"],
    }


def record_header(row: Mapping[str, Any]) -> RecordHeader:
    keys = ("seq", "id", "time", "actor", "kind", "prev_hash", "hash", "signature")
    return {k: row.get(k) for k in keys}  # type: ignore[return-value]


def record_document(row: Mapping[str, Any], actions: Iterable[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """A record as one document: its header and CI run, then by kind `decision` (with the registry
    changes made for it: applied or failed; planned ones are in the decision), `registry_change` or
    `approval`."""
    body = json.loads(row["body"])
    document: dict[str, Any] = {"record": record_header(row), "ci": json.loads(row["ci"])}
    if row["kind"] == "change":
        action = body["action"]
        document["registry_change"] = recorded_change(row, action, action["decision"])
    elif row["kind"] == "approval":
        document["approval"] = recorded_approval(row, body["approval"])
    else:
        made = [a for a in actions if a["state"] in ("applied", "failed")]
        document["decision"] = body
        document["registry_changes"] = [recorded_change(row, a, row["id"]) for a in made]
    return document


def approval(
    record: int,
    time: str | None,
    subject_ref: str | None,
    given: Mapping[str, Any],
    *,
    revokes: int | None = None,
    revoked_by: int | None = None,
    state: str | None = None,
) -> Approval:
    """An approval: its record, and what `given` says (model, version, role, approver, digest,
    reason, expires: an approval record's body, a listed row, or one just recorded)."""
    return {
        "record": record,
        "time": time,
        "subject_ref": subject_ref,
        "model": given["model"],
        "version": given["version"],
        "role": given["role"],
        "approver": given["approver"],
        "digest": given["digest"],
        "reason": given.get("reason"),
        "expires": given.get("expires"),
        "revokes": revokes,
        "revoked_by": revoked_by,
        "state": state,
    }


def recorded_approval(row: Mapping[str, Any], body: Mapping[str, Any]) -> Approval:
    """An approval record (or a withdrawal), from its body; its state is judged by `approvals`."""
    return approval(row["seq"], row["time"], row.get("subject_ref"), body, revokes=body.get("revokes"))


def listed_approval(row: Mapping[str, Any], state: str) -> Approval:
    """An approval as `approvals` lists it: with the record that revoked it and its state."""
    return approval(row["seq"], row["time"], row["subject_ref"], row, revoked_by=row["revoked_by"], state=state)


def record_summary(row: Mapping[str, Any]) -> dict[str, Any]:
    """A line of the log's listing (`audit list`, `GET /v1/decisions`)."""
    keys = (
        "seq",
        "id",
        "time",
        "actor",
        "kind",
        "outcome",
        "model",
        "version",
        "subject_ref",
        "subject_digest",
        "hash",
    )
    return {**{k: row[k] for k in keys}, "ci": json.loads(row["ci"])}


# ---- impact ---------------------------------------------------------------------------------------


class RuleOutcome(Protocol):
    @property
    def outcome(self) -> str: ...
    @property
    def message(self) -> str: ...


class RuleChangeLike(Protocol):
    """A rule that would decide otherwise (usecases.replaying.RuleChange), as this module reads it."""

    @property
    def rule(self) -> str: ...
    @property
    def before(self) -> RuleOutcome | None: ...
    @property
    def after(self) -> RuleOutcome | None: ...


def impact_row(
    subject: str, decision: str, time: str, before: str, after: str, rules: Iterable[RuleChangeLike]
) -> dict[str, Any]:
    """A model version whose outcome or rules a policy change would change (`impact`)."""
    return {
        "subject": subject,
        "decision": decision,
        "time": time,
        "before": before,
        "after": after,
        "rules": [
            {
                "rule": c.rule,
                "before": c.before.outcome if c.before else None,
                "after": c.after.outcome if c.after else None,
                "message": _message(c),
            }
            for c in rules
        ],
    }


def _message(change: RuleChangeLike) -> str | None:
    """What the rule says now, or what it said when the proposed policies no longer have it."""
    result = change.after or change.before
    return result.message if result is not None else None
