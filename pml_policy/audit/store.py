"""The audit store: SQLite by default (`.pml/audit.db`), any SQLAlchemy URL (PostgreSQL for teams).

Appends take a lock on the single head row (SQLite: BEGIN IMMEDIATE; PostgreSQL: SELECT … FOR
UPDATE), so many processes can append at once and the chain never forks; each append is one
transaction, so a writer killed mid-way leaves nothing behind.
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, column, create_engine, event, select, table, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from pml_policy.errors import AuditError, PolicyConflict
from pml_policy.options import DEFAULT_AUDIT_URL

from . import chain

# The tables are SQLModel classes (models.py). Writing needs only SQLAlchemy Core, so the append
# path names tables and columns with Core's lightweight table()/column(), taking the column names
# from the rows themselves: sqlmodel and the ORM are imported only to create the schema on first
# use and by the commands that read the log (a quarter of `check`'s cold start otherwise).
SCHEMA_VERSION = 1
DEFAULT_URL = DEFAULT_AUDIT_URL
_LOCK_KEY = 7261524401  # PostgreSQL advisory lock held while a log's schema is created or upgraded

# version n -> the function that upgrades a log from n to n + 1. Every schema change adds one, and
# a test opens a log of the previous version to prove the path (tests/test_audit_store.py).
MIGRATIONS: dict[int, Callable[[Connection], None]] = {}


@dataclass
class Entry:
    """What one recorded decision holds: the decision, and the evidence it was made on."""

    decision: Any  # engine.decision.Decision
    subject: Any  # engine.subject.Subject
    champion: Any | None = None


def utc_text(when: dt.datetime) -> str:
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _json_of(model: Any) -> tuple[Any, str]:
    """A pydantic model as plain JSON values and their canonical text (NaN as "NaN", as the JSON
    output writes it)."""
    values = model.model_dump(mode="json", by_alias=True)
    try:
        return values, chain.canonical(values)
    except ValueError:  # NaN or infinity somewhere: let pydantic write them as strings
        values = json.loads(model.model_dump_json(by_alias=True))
        return values, chain.canonical(values)


class AuditStore:
    def __init__(self, url: str = DEFAULT_URL) -> None:
        self.url = _driver_url(url)
        self.shown = make_url(self.url).render_as_string(hide_password=True)
        self.is_sqlite = self.url.startswith("sqlite")
        self._confirmed: set[tuple[str, str, str]] = set()  # (name, version, digest) known to be in the log
        try:
            self.engine = self._engine()
            self._prepare()
        except (SQLAlchemyError, OSError) as exc:
            raise AuditError(f"cannot open the audit log at {self.shown}: {_reason(exc)}", _hint(self.url)) from None

    # ---- connection and schema ----------------------------------------------------------------

    def _engine(self) -> Engine:
        if not self.is_sqlite:
            args = {"connect_timeout": 10} if self.url.startswith("postgresql") else {}
            return create_engine(self.url, connect_args=args, pool_pre_ping=True)
        database = make_url(self.url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(self.url, connect_args={"timeout": 60})

        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we say when transactions begin (below)
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes in WAL mode
            cursor.execute("PRAGMA busy_timeout=60000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # take the write lock first: no lost updates

        return engine

    def _prepare(self) -> None:
        """Create the tables on first use, upgrade an older log, refuse a newer one."""
        with self.engine.begin() as conn:
            if not self.is_sqlite:
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
            if not conn.dialect.has_table(conn, "pml_meta"):
                from sqlmodel import SQLModel

                from . import models  # noqa: F401  (registers the tables)

                SQLModel.metadata.create_all(conn)
                _insert(conn, "pml_meta", [{"key": "schema_version", "value": str(SCHEMA_VERSION)}])
                _insert(conn, "pml_head", [{"id": 1, "seq": 0, "hash": chain.GENESIS}])
                return
            version = self._version(conn)
            if version > SCHEMA_VERSION:
                raise AuditError(
                    f"the audit log at {self.shown} has schema version {version}; this pml-policy reads up to {SCHEMA_VERSION}",
                    "upgrade pml-policy; never edit the log by hand",
                )
            for step in range(version, SCHEMA_VERSION):
                MIGRATIONS[step](conn)
                meta = _t("pml_meta", "key", "value")
                conn.execute(meta.update().where(meta.c.key == "schema_version").values(value=str(step + 1)))

    @staticmethod
    def _version(conn: Connection) -> int:
        meta = _t("pml_meta", "key", "value")
        return int(conn.execute(select(meta.c.value).where(meta.c.key == "schema_version")).scalar_one())

    def schema_version(self) -> int:
        with self.engine.connect() as conn:
            return self._version(conn)

    def close(self) -> None:
        self.engine.dispose()

    # ---- writing ------------------------------------------------------------------------------

    def append(self, entries: list[Entry], actor: str, ci: dict[str, str]) -> list[tuple[int, str]]:
        """Record the decisions, in one transaction; returns each record's (seq, hash)."""
        try:
            with self.engine.begin() as conn:
                head = _t("pml_head", "id", "seq", "hash")
                seq, prev = conn.execute(select(head.c.seq, head.c.hash).where(head.c.id == 1).with_for_update()).one()
                claimed = self._claim_policies(conn, entries)
                decisions, rules, actions, waivers, appended = [], [], [], [], []
                ci_json = chain.canonical(ci)
                for entry in entries:
                    seq += 1
                    body, body_text = _json_of(entry.decision)  # rows below all derive from this one form
                    row = self._row(entry, body_text, seq, prev, actor, ci_json)
                    decisions.append(row)
                    for p in body["policies"]:
                        rules.extend(_rule_row(seq, p, r) for r in p["rules"])
                        actions.extend({"decision_seq": seq, "policy": p["name"], "kind": a["kind"], "name": a["name"], "value": a["value"], "state": "planned"} for a in p["actions"])
                        waivers.extend(_waiver_rows(seq, p))
                    prev = row["hash"]
                    appended.append((seq, prev))
                for name, rows in (("pml_decisions", decisions), ("pml_rule_results", rules), ("pml_actions", actions), ("pml_waivers_used", waivers)):
                    _insert(conn, name, rows)
                conn.execute(head.update().where(head.c.id == 1).values(seq=seq, hash=prev))
            self._confirmed |= claimed  # only once committed
            return appended
        except SQLAlchemyError as exc:
            raise AuditError(f"the decision was not recorded: cannot write the audit log at {self.shown}: {_reason(exc)}", _hint(self.url)) from None

    @staticmethod
    def _row(entry: Entry, body_text: str, seq: int, prev: str, actor: str, ci_json: str) -> dict[str, Any]:
        d = entry.decision
        subject = _json_of(entry.subject)[1]
        champion = _json_of(entry.champion)[1] if entry.champion else "null"
        evidence = '{"champion":' + champion + ',"subject":' + subject + "}"  # canonical: keys in order
        row = {
            "seq": seq, "id": d.id, "time": utc_text(d.time), "actor": actor, "ci": ci_json,
            "subject_ref": d.subject.reference, "subject_digest": d.subject.digest,
            "model": d.subject.model, "version": d.subject.version, "outcome": d.outcome, "engine": d.engine,
            "body": body_text, "evidence": evidence, "prev_hash": prev,
        }
        row["hash"] = chain.record_hash(row)
        return row

    def _claim_policies(self, conn: Connection, entries: list[Entry]) -> set[tuple[str, str, str]]:
        """A policy name and version, once used, keeps its digest: a changed policy needs a new version.
        Returns the (name, version, digest) this transaction confirms."""
        used: dict[tuple[str, str], tuple[Any, Any]] = {}  # (name, version) -> (policy, first decision using it)
        for e in entries:
            for p in e.decision.policies:
                used.setdefault((p.name, p.version), (p, e.decision))
        confirmed = {(n, v, p.digest) for (n, v), (p, _) in used.items()}
        if confirmed <= self._confirmed:
            return confirmed  # a recorded name and version never changes digest: nothing to ask the database
        names = sorted({name for name, _ in used})
        policies = _t("pml_policies", "name", "version", "digest", "first_decision", "first_time")
        known = {(r.name, r.version): r for r in conn.execute(select(policies).where(policies.c.name.in_(names)))}
        for key, (p, _) in used.items():
            earlier = known.get(key)
            if earlier is not None and earlier.digest != p.digest:
                raise PolicyConflict(
                    f'policy "{p.name}" version {p.version} ({p.source}) has digest {p.digest}, but decision '
                    f"{earlier.first_decision} ({earlier.first_time}) used version {p.version} with digest {earlier.digest}",
                    "a changed policy needs a new version: bump `version` in the policy file",
                )
        new = [
            {"name": n, "version": v, "digest": p.digest, "source": p.source, "first_decision": d.id, "first_time": utc_text(d.time)}
            for (n, v), (p, d) in used.items() if (n, v) not in known
        ]
        _insert(conn, "pml_policies", new)
        return confirmed

    # ---- reading ------------------------------------------------------------------------------

    def head(self) -> tuple[int, str]:
        with self.engine.connect() as conn:
            head = _t("pml_head", "id", "seq", "hash")
            seq, hash_ = conn.execute(select(head.c.seq, head.c.hash).where(head.c.id == 1)).one()
            return seq, hash_

    def verify(self, expect_head: str | None = None) -> chain.Verdict:
        """Recompute every record's hash and link, streaming in seq order."""
        from .models import DecisionRecord

        columns = [getattr(DecisionRecord.__table__.c, name) for name in (*chain.HASHED, "hash")]
        try:
            head = self.head()  # appends may go on while we read: verify up to the head seen first
            with self.engine.connect() as conn:
                query = select(*columns).where(DecisionRecord.seq <= head[0]).order_by(DecisionRecord.seq)
                result = conn.execution_options(stream_results=True, yield_per=2000).execute(query)
                return chain.verify_rows(result.mappings(), head, expect_head)  # type: ignore[arg-type]
        except SQLAlchemyError as exc:
            raise AuditError(f"cannot read the audit log at {self.shown}: {_reason(exc)}", _hint(self.url)) from None

    def records(self, model: str | None = None, policy: str | None = None, outcome: str | None = None,
                since: dt.datetime | None = None, until: dt.datetime | None = None, limit: int | None = None,
                newest_first: bool = True) -> list[dict[str, Any]]:
        from .models import DecisionRecord, RuleRecord

        t = DecisionRecord.__table__.c
        query = select(t.seq, t.id, t.time, t.actor, t.model, t.version, t.outcome, t.subject_ref, t.subject_digest, t.hash, t.ci)
        if model:
            query = query.where(t.model == model)
        if outcome:
            query = query.where(t.outcome == outcome)
        if since:
            query = query.where(t.time >= utc_text(since))
        if until:
            query = query.where(t.time < utc_text(until))
        if policy:
            query = query.where(t.seq.in_(select(RuleRecord.decision_seq).where(RuleRecord.policy == policy)))
        query = query.order_by(t.seq.desc() if newest_first else t.seq)
        if limit:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def get(self, ref: str) -> dict[str, Any]:
        """A record by decision id, a unique id prefix (6+ characters), or #SEQ."""
        from .models import DecisionRecord

        t = DecisionRecord.__table__.c
        if ref.startswith("#") and ref[1:].isdigit():
            query = select(DecisionRecord.__table__).where(t.seq == int(ref[1:]))
        elif len(ref) >= 6:
            query = select(DecisionRecord.__table__).where(t.id.startswith(ref, autoescape=True)).limit(2)
        else:
            raise AuditError(f"{ref!r}: give a decision id, at least its first 6 characters, or #SEQ")
        with self.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(query).mappings()]
        if not rows:
            raise AuditError(f"no decision {ref} in the audit log at {self.shown}", "see `pml-policy audit list`")
        if len(rows) > 1:
            raise AuditError(f"{ref} matches more than one decision", "give more characters of the id")
        return rows[0]

    def stream(self, batch: int = 2000) -> Iterator[dict[str, Any]]:
        """Every record in chain order, fetched in batches: constant memory for any size of log."""
        from .models import DecisionRecord

        with self.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=batch).execute(
                select(DecisionRecord.__table__).order_by(DecisionRecord.seq)
            )
            for row in result.mappings():
                yield dict(row)


@lru_cache(maxsize=64)
def _t(name: str, *columns: str) -> Any:
    """A lightweight Core table naming only the columns a statement needs (built once: SQLAlchemy
    then reuses its compiled statements instead of recompiling them on every append)."""
    return table(name, *(column(c) for c in columns))


@lru_cache(maxsize=64)
def _insert_sql(name: str, columns: tuple[str, ...], dialect: str) -> str:
    """INSERT text with named placeholders as the driver takes them (sqlite3 :name, psycopg %(name)s)."""
    marks = ":{}" if dialect == "sqlite" else "%({})s"
    return f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({', '.join(marks.format(c) for c in columns)})"


def _insert(conn: Connection, name: str, rows: list[dict[str, Any]]) -> None:
    # Straight to the driver: SQLAlchemy's statement machinery cost as much as the database
    # itself on each append (names are ours, values are always bound parameters).
    if rows:
        conn.exec_driver_sql(_insert_sql(name, tuple(rows[0]), conn.dialect.name), rows if len(rows) > 1 else rows[0])


def _rule_row(seq: int, policy: dict[str, Any], r: dict[str, Any]) -> dict[str, Any]:
    return {
        "decision_seq": seq, "policy": policy["name"], "policy_version": policy["version"], "policy_digest": policy["digest"],
        "rule": r["rule"], "enforce": r["enforce"], "outcome": r["outcome"], "message": r["message"],
        "required": r["required"], "observed": chain.canonical(r["observed"]), "waiver": r["waiver"],
    }


def _waiver_rows(seq: int, policy: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for r in policy["rules"]:
        if r["waiver"]:
            rows.append({"decision_seq": seq, "waiver": r["waiver"], "policy": policy["name"], "rule": r["rule"], "expired": False})
        for w in r["expired_waivers"]:  # "ID (expired YYYY-MM-DD)", as the evaluator writes it; ids may hold spaces
            rows.append({"decision_seq": seq, "waiver": w.rsplit(" (expired ", 1)[0], "policy": policy["name"], "rule": r["rule"], "expired": True})
    return rows


def _driver_url(url: str) -> str:
    """postgresql:// means psycopg 3, the driver pml-policy[postgres] installs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _reason(exc: Exception) -> str:
    """The database's own words, without SQLAlchemy's statement dump or a password."""
    orig = getattr(exc, "orig", None)
    return str(orig or exc).strip().splitlines()[0]


def _hint(url: str) -> str:
    if url.startswith("sqlite"):
        return "check that the folder is writable, or pass --audit URL / set PML_AUDIT_URL"
    return "check that the database server is running and reachable, and the URL in --audit / PML_AUDIT_URL"
