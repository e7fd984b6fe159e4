"""The audit store: SQLite by default (`.pml/audit.db`), any SQLAlchemy URL (PostgreSQL for teams).

Appends take a lock on the single head row (SQLite: BEGIN IMMEDIATE; PostgreSQL: SELECT … FOR
UPDATE), so many processes can append at once and the chain never forks; each append is one
transaction, so a writer killed mid-way leaves nothing behind.
"""
from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pml_policy.errors import AuditError, PolicyConflict

from . import chain

if TYPE_CHECKING:
    from sqlalchemy import Connection
    from sqlalchemy.engine import Engine

# The tables are SQLModel classes (models.py). Appending writes through the database driver, with
# the column names taken from the rows themselves: sqlmodel and the ORM are imported only to create
# the schema on first use and by the commands that read the log (a quarter of `check`'s cold start
# otherwise).
SCHEMA_VERSION = 5
_LOCK_KEY = 7261524401  # PostgreSQL advisory lock held while a log's schema is created or upgraded


def _drop_rule_index(conn: Connection) -> None:
    """v1 -> v2: drop the index on rule results by (policy, rule, outcome). Its inserts landed all
    over the b-tree and cost a third of every append; reports group a period's rule results, which
    they reach through decision_seq, not through this index."""
    conn.exec_driver_sql("DROP INDEX IF EXISTS ix_pml_rule_results_rule")


def _add_action_outcomes(conn: Connection) -> None:
    """v2 -> v3: applied and failed registry changes are rows of pml_actions with when and why."""
    conn.exec_driver_sql("ALTER TABLE pml_actions ADD COLUMN time VARCHAR")
    conn.exec_driver_sql("ALTER TABLE pml_actions ADD COLUMN detail VARCHAR")


def _period_index(conn: Connection) -> None:
    """v3 -> v4: the time index becomes (time, outcome, model), which reports read without the table."""
    conn.exec_driver_sql("DROP INDEX IF EXISTS ix_pml_decisions_time")
    conn.exec_driver_sql("CREATE INDEX ix_pml_decisions_period ON pml_decisions (time, outcome, model)")


def _report_tables(conn: Connection) -> None:
    """v4 -> v5: the policy versions of each decision, and a partial index of failed rules, for reports."""
    from sqlmodel import SQLModel

    from .models import DecisionPolicy

    SQLModel.metadata.create_all(conn, tables=[DecisionPolicy.__table__])
    conn.exec_driver_sql(
        "INSERT INTO pml_decision_policies (decision_seq, policy, version, digest) "
        "SELECT DISTINCT decision_seq, policy, policy_version, policy_digest FROM pml_rule_results")
    conn.exec_driver_sql("CREATE INDEX ix_pml_rule_failures ON pml_rule_results (decision_seq) WHERE outcome IN ('fail', 'error')")


# version n -> the function that upgrades a log from n to n + 1. Every schema change adds one, and
# a test opens a log of the previous version to prove the path (tests/test_audit.py).
MIGRATIONS: dict[int, Callable[[Connection], None]] = {1: _drop_rule_index, 2: _add_action_outcomes, 3: _period_index, 4: _report_tables}


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


_CHILD_TABLES = ("pml_rule_results", "pml_actions", "pml_waivers_used", "pml_decision_policies")


@dataclass
class _Prepared:
    """One entry's rows, all but what depends on its place in the chain (seq, prev_hash, hash)."""

    row: dict[str, Any]
    children: dict[str, list[dict[str, Any]]]

    @classmethod
    def of(cls, entry: Entry, actor: str, ci_json: str, evidence: dict[int, str]) -> _Prepared:
        """`evidence` caches each subject's JSON by object within one append: govern records
        hundreds of decisions against the same champion."""
        d = entry.decision
        body, body_text = _json_of(d)  # the rows below all derive from this one form
        subject = _evidence_json(entry.subject, evidence)
        champion = _evidence_json(entry.champion, evidence) if entry.champion else "null"
        row = {
            "id": d.id, "time": utc_text(d.time), "actor": actor, "ci": ci_json,
            "subject_ref": d.subject.reference, "subject_digest": d.subject.digest,
            "model": d.subject.model, "version": d.subject.version, "outcome": d.outcome, "engine": d.engine,
            "body": body_text, "evidence": '{"champion":' + champion + ',"subject":' + subject + "}",  # keys in order
        }
        children: dict[str, list[dict[str, Any]]] = {name: [] for name in _CHILD_TABLES}
        for p in body["policies"]:
            children["pml_rule_results"].extend(_rule_row(p, r) for r in p["rules"])
            children["pml_actions"].extend(
                {"policy": p["name"], "kind": a["kind"], "name": a["name"], "value": a["value"], "state": "planned"} for a in p["actions"]
            )
            children["pml_waivers_used"].extend(_waiver_rows(p))
            children["pml_decision_policies"].append({"policy": p["name"], "version": p["version"], "digest": p["digest"]})
        return cls(row, children)


def _evidence_json(subject: Any, cache: dict[int, str]) -> str:
    if id(subject) not in cache:
        cache[id(subject)] = _json_of(subject)[1]
    return cache[id(subject)]


class _Marks(dict):  # type: ignore[type-arg]
    def __init__(self, mark: str) -> None:
        super().__init__()
        self.mark = mark

    def __missing__(self, key: str) -> str:
        return self.mark.format(key)


class AuditStore:
    def __init__(self, url: str) -> None:
        self.url = _driver_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        self.shown = self.url if self.is_sqlite else _without_password(self.url)
        # A plain SQLite file is written through sqlite3 itself once its schema is current:
        # importing SQLAlchemy alone took half of `check`'s cold start.
        self._sqlite_path = _sqlite_file(self.url)
        self._sqlite: sqlite3.Connection | None = None
        self._confirmed: set[tuple[str, str, str]] = set()  # (name, version, digest) known to be in the log
        try:
            self._prepare()
        except self._errors() as exc:
            raise AuditError(f"cannot open the audit log at {self.shown}: {_reason(exc)}", _hint(self.url)) from None

    # ---- connection and schema ----------------------------------------------------------------

    @cached_property
    def engine(self) -> Engine:
        """The SQLAlchemy engine: for creating and upgrading the schema, for other databases, and
        for the commands that read the log."""
        from sqlalchemy import create_engine, event

        if not self.is_sqlite:
            args = {"connect_timeout": 10} if self.url.startswith("postgresql") else {}
            return create_engine(self.url, connect_args=args, pool_pre_ping=True)
        if self._sqlite_path:
            Path(self._sqlite_path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(self.url, connect_args={"timeout": 60})

        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection: Any, _record: Any) -> None:
            _sqlite_settings(dbapi_connection)

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # take the write lock first: no lost updates

        return engine

    def _errors(self) -> tuple[type[BaseException], ...]:
        """What a failing database raises: sqlite3's errors, and once the engine exists SQLAlchemy's
        and its driver's."""
        errors: tuple[type[BaseException], ...] = (sqlite3.Error, OSError)
        if "engine" in self.__dict__:
            from sqlalchemy.exc import SQLAlchemyError

            errors += (SQLAlchemyError, self.engine.dialect.loaded_dbapi.Error)
        return errors

    @contextmanager
    def _driver(self) -> Iterator[Any]:
        """A DBAPI connection, rolled back if the block fails."""
        if self._sqlite_path:
            if self._sqlite is None:
                self._sqlite = _sqlite_settings(sqlite3.connect(self._sqlite_path, timeout=60))
            raw = self._sqlite
        else:
            raw = self.engine.raw_connection()
        try:
            yield raw
        except BaseException:
            raw.rollback()
            raise
        finally:
            if raw is not self._sqlite:
                raw.close()  # back to the pool, which rolls back whatever is left open

    @contextmanager
    def _writing(self) -> Iterator[Any]:
        """A cursor in a write transaction, committed when the block ends. SQLite: BEGIN IMMEDIATE
        takes the write lock first, so no two writers read the same head (no lost updates)."""
        with self._driver() as raw:
            cursor = raw.cursor()
            if self.is_sqlite:
                cursor.execute("BEGIN IMMEDIATE")
            yield cursor
            raw.commit()

    def _prepare(self) -> None:
        """Create the tables on first use, upgrade an older log, refuse a newer one."""
        if self._sqlite_path and Path(self._sqlite_path).exists():
            with self._driver() as raw:
                row = raw.execute("SELECT value FROM pml_meta WHERE key = 'schema_version'").fetchone()
            if row and int(row[0]) == SCHEMA_VERSION:
                return  # the common case, without SQLAlchemy
        from sqlalchemy import text

        with self.engine.begin() as conn:
            if not self.is_sqlite:
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
            if not conn.dialect.has_table(conn, "pml_meta"):
                from sqlmodel import SQLModel

                from . import models  # noqa: F401  (registers the tables)

                SQLModel.metadata.create_all(conn)
                conn.execute(text("INSERT INTO pml_meta (key, value) VALUES ('schema_version', :v)"), {"v": str(SCHEMA_VERSION)})
                conn.execute(text("INSERT INTO pml_head (id, seq, hash) VALUES (1, 0, :h)"), {"h": chain.GENESIS})
                return
            version = self._version(conn)
            if version > SCHEMA_VERSION:
                raise AuditError(
                    f"the audit log at {self.shown} has schema version {version}; this pml-policy reads up to {SCHEMA_VERSION}",
                    "upgrade pml-policy; never edit the log by hand",
                )
            for step in range(version, SCHEMA_VERSION):
                MIGRATIONS[step](conn)
                conn.execute(text("UPDATE pml_meta SET value = :v WHERE key = 'schema_version'"), {"v": str(step + 1)})

    @staticmethod
    def _version(conn: Connection) -> int:
        from sqlalchemy import text

        return int(conn.execute(text("SELECT value FROM pml_meta WHERE key = 'schema_version'")).scalar_one())

    def schema_version(self) -> int:
        with self.engine.connect() as conn:
            return self._version(conn)

    def close(self) -> None:
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None
        if "engine" in self.__dict__:
            self.engine.dispose()

    # ---- writing ------------------------------------------------------------------------------

    def append(self, entries: list[Entry], actor: str, ci: dict[str, str]) -> list[tuple[int, str]]:
        """Record the decisions, in one transaction; returns each record's (seq, hash)."""
        ci_json = chain.canonical(ci)
        evidence: dict[int, str] = {}
        prepared = [_Prepared.of(e, actor, ci_json, evidence) for e in entries]  # JSON before the lock: writers wait less
        # Straight to the driver: SQLAlchemy's statement machinery cost more than the database
        # itself on each append (table and column names are ours; values are always bound).
        try:
            with self._writing() as cursor:
                seq, prev = _read_head(cursor, lock=not self.is_sqlite)
                claimed = self._claim_policies(cursor, entries)
                tables: dict[str, list[dict[str, Any]]] = {name: [] for name in ("pml_decisions", *_CHILD_TABLES)}
                appended = []
                for p in prepared:
                    seq += 1
                    row = dict(p.row, seq=seq, prev_hash=prev)
                    row["hash"] = prev = chain.record_hash(row)
                    tables["pml_decisions"].append(row)
                    for name in _CHILD_TABLES:
                        tables[name].extend(dict(child, decision_seq=seq) for child in p.children[name])
                    appended.append((seq, prev))
                for name, rows in tables.items():  # parents before children (foreign keys)
                    if rows:
                        cursor.executemany(_insert_sql(name, tuple(rows[0]), self._mark), rows)
                cursor.execute(self._sql("UPDATE pml_head SET seq = {seq}, hash = {hash} WHERE id = 1"), {"seq": seq, "hash": prev})
        except self._errors() as exc:
            raise self._not_recorded(exc) from None
        self._confirmed |= claimed  # only once committed
        return appended

    def record_change(self, decision_id: str, policy: str, kind: str, name: str, value: str | None, state: str, detail: str = "") -> None:
        """A registry change as it happened (applied or failed), beside the decision that planned it."""
        row = {"id": decision_id, "policy": policy, "kind": kind, "name": name, "value": value, "state": state,
               "time": utc_text(dt.datetime.now(dt.timezone.utc)), "detail": detail or None}
        sql = self._sql(
            "INSERT INTO pml_actions (decision_seq, policy, kind, name, value, state, time, detail) "
            "SELECT seq, {policy}, {kind}, {name}, {value}, {state}, {time}, {detail} FROM pml_decisions WHERE id = {id}"
        )
        try:
            with self._writing() as cursor:
                cursor.execute(sql, row)
                if cursor.rowcount != 1:
                    raise AuditError(f"decision {decision_id} is not in the audit log at {self.shown}: the change was {state} but cannot be recorded")
        except self._errors() as exc:
            raise AuditError(
                f'registry change {state} but NOT RECORDED: {kind} "{name}" (decision {decision_id}): cannot write the audit log at {self.shown}: {_reason(exc)}',
                _hint(self.url),
            ) from None

    def changes(self, decision_id: str) -> list[dict[str, Any]]:
        """Every action row of a decision: planned with it, then applied or failed."""
        with self._driver() as raw:
            cursor = raw.cursor()
            cursor.execute(self._sql(
                "SELECT a.policy, a.kind, a.name, a.value, a.state, a.time, a.detail FROM pml_actions a "
                "JOIN pml_decisions d ON d.seq = a.decision_seq WHERE d.id = {id} ORDER BY a.id"), {"id": decision_id})
            names = ("policy", "kind", "name", "value", "state", "time", "detail")
            return [dict(zip(names, row)) for row in cursor.fetchall()]

    def _not_recorded(self, exc: Exception) -> AuditError:
        return AuditError(f"the decision was not recorded: cannot write the audit log at {self.shown}: {_reason(exc)}", _hint(self.url))

    @property
    def _mark(self) -> str:
        """A named placeholder as the driver takes it: sqlite3 :name, psycopg %(name)s."""
        return ":{}" if self.is_sqlite else "%({})s"

    def _sql(self, template: str) -> str:
        """Fill {name} placeholders with the driver's own markers."""
        return template.format_map(_Marks(self._mark))

    def _claim_policies(self, cursor: Any, entries: list[Entry]) -> set[tuple[str, str, str]]:
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
        marks = ", ".join("{n%d}" % i for i in range(len(names)))
        cursor.execute(
            self._sql(f"SELECT name, version, digest, first_decision, first_time FROM pml_policies WHERE name IN ({marks})"),
            {f"n{i}": name for i, name in enumerate(names)},
        )
        known = {(name, version): (digest, first, when) for name, version, digest, first, when in cursor.fetchall()}
        for key, (p, _) in used.items():
            if key in known and known[key][0] != p.digest:
                digest, first, when = known[key]
                raise PolicyConflict(
                    f'policy "{p.name}" version {p.version} ({p.source}) has digest {p.digest}, but decision '
                    f"{first} ({when}) used version {p.version} with digest {digest}",
                    "a changed policy needs a new version: bump `version` in the policy file",
                )
        new = [
            {"name": n, "version": v, "digest": p.digest, "source": p.source, "first_decision": d.id, "first_time": utc_text(d.time)}
            for (n, v), (p, d) in used.items() if (n, v) not in known
        ]
        if new:
            cursor.executemany(_insert_sql("pml_policies", tuple(new[0]), self._mark), new)
        return confirmed

    # ---- reading ------------------------------------------------------------------------------

    def head(self) -> tuple[int, str]:
        with self._driver() as raw:
            return _read_head(raw.cursor())

    def verify(self, expect_head: str | None = None) -> chain.Verdict:
        """Recompute every record's hash and link, streaming in seq order through the driver's own
        cursor (a server-side one on PostgreSQL): SQLAlchemy's rows cost a third of the time."""
        query = self._sql(f"SELECT {', '.join((*chain.HASHED, 'hash'))} FROM pml_decisions WHERE seq <= {{head}} ORDER BY seq")
        try:
            with self._driver() as raw:
                head = _read_head(raw.cursor())  # appends may go on while we read: verify up to the head seen first
                if self.is_sqlite:
                    cursor = raw.cursor()
                else:
                    cursor = raw.driver_connection.cursor(name="pml_verify")
                    cursor.itersize = 2000  # rows per round trip
                cursor.execute(query, {"head": head[0]})
                verdict = chain.verify_rows(cursor, head, expect_head)  # type: ignore[arg-type]
                raw.rollback()
                return verdict
        except self._errors() as exc:
            raise AuditError(f"cannot read the audit log at {self.shown}: {_reason(exc)}", _hint(self.url)) from None

    def records(self, model: str | None = None, policy: str | None = None, outcome: str | None = None,
                since: dt.datetime | None = None, until: dt.datetime | None = None, limit: int | None = None,
                newest_first: bool = True) -> list[dict[str, Any]]:
        from sqlalchemy import select

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
        from sqlalchemy import select

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
        from sqlalchemy import select

        from .models import DecisionRecord

        with self.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=batch).execute(
                select(DecisionRecord.__table__).order_by(DecisionRecord.seq)
            )
            for row in result.mappings():
                yield dict(row)


@lru_cache(maxsize=64)
def _insert_sql(name: str, columns: tuple[str, ...], mark: str) -> str:
    """INSERT text with a named placeholder per column, in the driver's form (AuditStore._mark)."""
    return f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({', '.join(mark.format(c) for c in columns)})"


def _rule_row(policy: dict[str, Any], r: dict[str, Any]) -> dict[str, Any]:
    return {
        "policy": policy["name"], "policy_version": policy["version"], "policy_digest": policy["digest"],
        "rule": r["rule"], "enforce": r["enforce"], "outcome": r["outcome"], "message": r["message"],
        "required": r["required"], "observed": chain.canonical(r["observed"]), "waiver": r["waiver"],
    }


def _waiver_rows(policy: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for r in policy["rules"]:
        if r["waiver"]:
            rows.append({"waiver": r["waiver"], "policy": policy["name"], "rule": r["rule"], "expired": False})
        for w in r["expired_waivers"]:  # "ID (expired YYYY-MM-DD)", as the evaluator writes it; ids may hold spaces
            rows.append({"waiver": w.rsplit(" (expired ", 1)[0], "policy": policy["name"], "rule": r["rule"], "expired": True})
    return rows


def _read_head(cursor: Any, lock: bool = False) -> tuple[int, str]:
    """The last record's (seq, hash); with lock, held until the transaction ends (PostgreSQL)."""
    cursor.execute("SELECT seq, hash FROM pml_head WHERE id = 1" + (" FOR UPDATE" if lock else ""))
    seq, hash_ = cursor.fetchone()
    return seq, hash_


def _sqlite_settings(connection: sqlite3.Connection) -> sqlite3.Connection:
    connection.isolation_level = None  # we say when transactions begin (BEGIN IMMEDIATE)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes in WAL mode
    connection.execute("PRAGMA busy_timeout=60000")
    connection.execute("PRAGMA foreign_keys=ON")
    return connection


def _sqlite_file(url: str) -> str | None:
    """The file of a plain sqlite:///PATH URL; None for anything else (memory, options, other drivers)."""
    prefix = "sqlite:///"
    path = url[len(prefix):] if url.startswith(prefix) else ""
    return path if path and "?" not in path and path != ":memory:" else None


def _without_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


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
