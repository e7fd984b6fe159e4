"""Reading the audit log: records by filter, one record by id, every record in order, a decision's
registry changes. The CLI and the service read through these, never through SQL of their own.

The chain is the log: every query here reads only records with 1 <= seq <= the head's seq (and the
rows beside them), the records `audit verify` walks. A row someone wrote outside that range (a
negative seq, one after the head) is never counted, listed or reported; verify names it."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple, TypedDict

from pml_policy.base.errors import AuditError, NotRecorded, UsageError

from . import chain
from .database import Database
from .rows import utc_text

RECORD_COLUMNS = (
    "seq",
    "id",
    "time",
    "actor",
    "model",
    "version",
    "outcome",
    "kind",
    "subject_ref",
    "subject_digest",
    "hash",
    "ci",
)
CHANGE_COLUMNS = ("policy", "kind", "name", "value", "state", "time", "detail")
HEAD_SEQ = "(SELECT head.seq FROM pml_head head WHERE head.id = 1)"


def in_chain(column: str = "seq") -> str:
    """SQL: the record (by its seq column, or a row beside it by decision_seq) is in the chain."""
    return f"{column} BETWEEN 1 AND {HEAD_SEQ}"


def _chained(column: Any) -> Any:
    """The same bound for SQLAlchemy queries."""
    from sqlalchemy import select

    from .models import Head

    head = Head.__table__.c  # type: ignore[attr-defined]
    return column.between(1, select(head.seq).where(head.id == 1).scalar_subquery())


class RecordSummary(TypedDict):
    """A row of `audit list`: the decision's chain position, who, what and its outcome."""

    seq: int
    id: str
    time: str
    actor: str
    model: str | None
    version: str | None
    outcome: str
    kind: str  # decision, or plan (govern without --apply)
    subject_ref: str
    subject_digest: str
    hash: str
    ci: str  # canonical JSON


class Record(RecordSummary):
    """A whole record: the summary with the decision body, its evidence and the chain link."""

    signature: str | None
    engine: str
    body: str  # the decision, canonical JSON
    evidence: str  # {"champion": …, "subject": …}, canonical JSON
    prev_hash: str


class Change(TypedDict):
    """An action row: planned with its decision, then applied or failed as it happened."""

    policy: str
    kind: str
    name: str
    value: str | None
    state: str
    time: str | None
    detail: str | None


def records(
    db: Database,
    model: str | None = None,
    policy: str | None = None,
    outcome: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int | None = None,
    newest_first: bool = True,
    kind: str | None = None,
    before: int | None = None,
) -> list[RecordSummary]:
    from sqlalchemy import select

    from .models import DecisionRecord, RuleRecord

    t = DecisionRecord.__table__.c  # type: ignore[attr-defined]
    query = select(*(t[c] for c in RECORD_COLUMNS)).where(_chained(t.seq))
    if model:
        query = query.where(t.model == model)
    if outcome:
        query = query.where(t.outcome == outcome)
    if kind:
        query = query.where(t.kind == kind)
    if before:
        query = query.where(t.seq < before)
    if since:
        query = query.where(t.time >= utc_text(since))
    if until:
        query = query.where(t.time < utc_text(until))
    if policy:
        rules = RuleRecord.__table__.c  # type: ignore[attr-defined]
        query = query.where(t.seq.in_(select(rules.decision_seq).where(rules.policy == policy)))
    query = query.order_by(t.seq.desc() if newest_first else t.seq)
    if limit:
        query = query.limit(limit)
    with db.engine.connect() as conn:
        return [RecordSummary(**r) for r in conn.execute(query).mappings()]  # type: ignore[typeddict-item]


def get(db: Database, ref: str) -> Record:
    """A record by decision id, a unique id prefix (6+ characters), or #SEQ."""
    from sqlalchemy import select

    from .models import DecisionRecord

    table = DecisionRecord.__table__  # type: ignore[attr-defined]
    if ref.startswith("#") and ref[1:].isdigit() and len(ref) <= 19:  # a seq fits in 64 bits
        query = select(table).where(table.c.seq == int(ref[1:]))
    elif len(ref) >= 6:
        query = select(table).where(table.c.id.startswith(ref, autoescape=True)).limit(2)
    else:
        raise UsageError(f"{ref!r}: give a decision id, at least its first 6 characters, or #SEQ")
    with db.engine.connect() as conn:
        rows: list[Any] = [dict(r) for r in conn.execute(query.where(_chained(table.c.seq))).mappings()]
    if not rows:
        raise NotRecorded(f"no decision {ref} in the audit log at {db.shown}", "see `pml-policy audit list`")
    if len(rows) > 1:
        raise AuditError(f"{ref} matches more than one decision", "give more characters of the id")
    record: Record = rows[0]
    return record


def stream(db: Database, batch: int = 2000) -> Iterator[Record]:
    """Every record in chain order, fetched in batches: constant memory for any size of log."""
    from sqlalchemy import select

    from .models import DecisionRecord

    table = DecisionRecord.__table__  # type: ignore[attr-defined]
    with db.engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=batch).execute(
            select(table).where(_chained(table.c.seq)).order_by(table.c.seq)
        )
        for row in result.mappings():
            record: Any = dict(row)
            yield record


def latest_decisions(
    db: Database, since: dt.datetime | None = None, model: str | None = None, batch: int = 500
) -> Iterator[Record]:
    """The latest decision (or govern's plan) on every subject decided since `since`: per model
    version, and per subject reference for subjects without one. One query, streamed in batches
    (memory does not grow with the log), by model and version."""
    from sqlalchemy import case, func, literal, select

    from .models import DecisionRecord

    table = DecisionRecord.__table__  # type: ignore[attr-defined]
    t = table.c
    latest = select(func.max(t.seq)).where(t.kind.in_(("decision", "plan")), _chained(t.seq))
    if since:
        latest = latest.where(t.time >= utc_text(since))
    if model:
        latest = latest.where(t.model == model)
    subject = case((t.model.is_(None), t.subject_ref), (t.version.is_(None), t.subject_ref), else_=literal(""))
    latest = latest.group_by(t.model, t.version, subject)
    query = select(table).where(t.seq.in_(latest)).order_by(t.model, t.version, t.seq)
    with db.engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=batch).execute(query)
        for row in result.mappings():
            record: Any = dict(row)
            yield record


def fetch(db: Database, template: str, args: dict[str, Any]) -> list[Any]:
    """Every row of a query ({name} placeholders), through the driver."""
    with db.driver() as raw:
        cursor = raw.cursor()
        cursor.execute(db.sql(template), args)
        return list(cursor.fetchall())


def changes(db: Database, decision_id: str) -> list[Change]:
    """Every action row of a decision: planned with it, then applied or failed."""
    rows = fetch(
        db,
        "SELECT a.policy, a.kind, a.name, a.value, a.state, a.time, a.detail FROM pml_actions a "
        "JOIN pml_decisions d ON d.seq = a.decision_seq WHERE d.id = {id} AND " + in_chain("d.seq") + " ORDER BY a.id",
        {"id": decision_id},
    )
    return [Change(**dict(zip(CHANGE_COLUMNS, row))) for row in rows]  # type: ignore[typeddict-item]


def alias_holders(db: Database, model: str, alias: str) -> list[str]:
    """The versions `--apply` moved an alias of a model to, most recent first (from its change records)."""
    rows = fetch(
        db,
        "SELECT d.version FROM pml_actions a JOIN pml_decisions d ON d.seq = a.decision_seq "
        "WHERE d.model = {m} AND a.kind = 'set_alias' AND a.name = {a} AND a.state = 'applied' AND "
        + in_chain("d.seq")
        + " ORDER BY a.id DESC",
        {"m": model, "a": alias},
    )
    return [row[0] for row in rows]


def latest_tag(db: Database, model: str, version: str, key: str) -> str | None:
    """The value `--apply` last set a version's tag to; None when it never set that tag."""
    rows = fetch(
        db,
        "SELECT a.value FROM pml_actions a JOIN pml_decisions d ON d.seq = a.decision_seq "
        "WHERE d.model = {m} AND d.version = {v} AND a.kind = 'set_tag' AND a.name = {k} "
        "AND a.state = 'applied' AND " + in_chain("d.seq") + " ORDER BY a.id DESC LIMIT 1",
        {"m": model, "v": version, "k": key},
    )
    return rows[0][0] if rows else None


class Latest(NamedTuple):
    decision: str  # its id
    outcome: str
    digests: list[str]  # the policy digests it was made under


def latest_outcome(db: Database, model: str, version: str) -> Latest | None:
    """The latest gating decision on a model version; None when the log has none."""
    found = fetch(
        db,
        "SELECT seq, outcome, id FROM pml_decisions WHERE model = {m} AND version = {v} AND kind IN ('decision', "
        "'recheck') AND " + in_chain() + " ORDER BY seq DESC LIMIT 1",
        {"m": model, "v": version},
    )
    if not found:
        return None
    seq, outcome, decision = found[0]
    digests = fetch(db, "SELECT digest FROM pml_decision_policies WHERE decision_seq = {s}", {"s": seq})
    return Latest(decision, outcome, sorted(row[0] for row in digests))


def latest_per_version(db: Database) -> dict[tuple[str, str], Latest]:
    """The latest decision or plan on every model version the log knows, with its policy digests:
    what the reconciliation sweep compares with the registry (one query, whatever the count)."""
    rows = fetch(
        db,
        "SELECT d.model, d.version, d.id, d.outcome, p.digest FROM pml_decisions d JOIN (SELECT MAX(seq) AS last "
        "FROM pml_decisions WHERE kind IN ('decision', 'plan') AND model IS NOT NULL AND version IS NOT NULL AND "
        + in_chain()
        + " GROUP BY model, version) l ON d.seq = l.last JOIN pml_decision_policies p ON p.decision_seq = d.seq",
        {},
    )
    found: dict[tuple[str, str], Latest] = {}
    for model, version, decision, outcome, digest in rows:
        found.setdefault((model, version), Latest(decision, outcome, [])).digests.append(digest)
    return found


class ApprovalRow(TypedDict):
    """A sign-off as `approvals` lists it: its record, what it binds, and the record that revoked it."""

    seq: int
    time: str
    subject_ref: str
    model: str
    version: str
    role: str
    approver: str
    digest: str
    reason: str
    expires: str | None
    revoked_by: int | None
    signature: str | None  # the approver's own signature of what it binds (a role member with a key)


def approvals(
    db: Database,
    model: str | None,
    version: str | None = None,
    trusted: Callable[[Mapping[str, Any]], bool] | None = None,
) -> list[ApprovalRow]:
    """The approval records of a model (or one version; every model with None), oldest first,
    revocations applied. trusted: a test each record (its hashed columns, hash and signature) must
    pass to count at all, approvals and withdrawals alike (a signed log: chain.record_hash and the
    signature)."""
    columns = ("seq", "time", "subject_ref", "body") if trusted is None else (*chain.HASHED, "hash", "signature")
    query = f"SELECT {', '.join(columns)} FROM pml_decisions WHERE kind = 'approval' AND " + in_chain()
    params: dict[str, Any] = {}
    if model is not None:
        query += " AND model = {m}"
        params["m"] = model
    if version is not None:
        query += " AND version = {v}"
        params["v"] = version
    given: dict[int, ApprovalRow] = {}
    revoked: dict[int, int] = {}
    for found in fetch(db, query + " ORDER BY seq", params):
        row = dict(zip(columns, found))
        if trusted is not None and not trusted(row):
            continue
        seq, a = int(row["seq"]), json.loads(row["body"])["approval"]
        if a.get("revokes") is not None:
            revoked.setdefault(int(a["revokes"]), seq)
            continue
        given[seq] = ApprovalRow(
            seq=seq,
            time=row["time"],
            subject_ref=row["subject_ref"],
            model=a["model"],
            version=a["version"],
            role=a["role"],
            approver=a["approver"],
            digest=a["digest"],
            reason=a["reason"],
            expires=a.get("expires"),
            revoked_by=None,
            signature=a.get("signature"),
        )
    for seq, by in revoked.items():
        if seq in given:
            given[seq]["revoked_by"] = by
    return list(given.values())


def latest_evidence(db: Database, model: str) -> dict[str, str]:
    """version -> the subject (JSON) of the latest decision or plan recorded on it."""
    rows = fetch(
        db,
        "SELECT d.version, d.evidence FROM pml_decisions d JOIN (SELECT MAX(seq) AS last FROM pml_decisions "
        "WHERE model = {m} AND kind IN ('decision', 'plan') AND version IS NOT NULL AND "
        + in_chain()
        + " GROUP BY version) v ON d.seq = v.last",
        {"m": model},
    )
    return {str(version): json.dumps(json.loads(evidence)["subject"]) for version, evidence in rows}


class LatestRecheck(NamedTuple):
    model: str
    version: str
    outcome: str
    time: str
    seq: int


def latest_rechecks(db: Database) -> list[LatestRecheck]:
    """Each model's latest re-check of its champion, by model name."""
    rows = fetch(
        db,
        "SELECT d.model, d.version, d.outcome, d.time, d.seq FROM pml_decisions d JOIN (SELECT MAX(seq) AS last "
        "FROM pml_decisions WHERE kind = 'recheck' AND model IS NOT NULL AND "
        + in_chain()
        + " GROUP BY model) v ON d.seq = v.last ORDER BY d.model",
        {},
    )
    return [LatestRecheck(str(m), str(v), str(o), str(t), int(s)) for m, v, o, t, s in rows]


def last_recorded(db: Database) -> dict[str, str]:
    """actor -> the time of the latest record it made: a service token's last use that the log
    holds (a decision, an approval, a change; reads are not recorded)."""
    rows = fetch(db, "SELECT actor, MAX(time) FROM pml_decisions WHERE " + in_chain() + " GROUP BY actor", {})
    return {str(actor): str(when) for actor, when in rows}


def policy_sources(db: Database) -> list[str]:
    """The files the log's policy versions were registered from, as the first decision named them."""
    with db.engine.connect() as conn:
        return sorted(str(source) for (source,) in conn.exec_driver_sql("SELECT DISTINCT source FROM pml_policies"))
