"""The audit log's schema version, its migrations, and creating or upgrading a log on first use."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from pml_policy.base.errors import AuditError, NoAuditLog, UsageError
from pml_policy.transparency.merkle import Frontier

from . import chain
from .database import Database
from .rows import ACTION_COLUMNS, change_record, insert_sql, policy_set, utc_text

if TYPE_CHECKING:
    from sqlalchemy import Connection

SCHEMA_VERSION = 12
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

    SQLModel.metadata.create_all(conn, tables=[DecisionPolicy.__table__])  # type: ignore[attr-defined]
    conn.exec_driver_sql(
        "INSERT INTO pml_decision_policies (decision_seq, policy, version, digest) "
        "SELECT DISTINCT decision_seq, policy, policy_version, policy_digest FROM pml_rule_results"
    )
    conn.exec_driver_sql(
        "CREATE INDEX ix_pml_rule_failures ON pml_rule_results (decision_seq) WHERE outcome IN ('fail', 'error')"
    )


def _signatures(conn: Connection) -> None:
    """v5 -> v6: a record's Ed25519 signature of its hash (PML_AUDIT_SIGNING_KEY), outside the hash."""
    conn.exec_driver_sql("ALTER TABLE pml_decisions ADD COLUMN signature VARCHAR")


def _record_kinds(conn: Connection) -> None:
    """v6 -> v7: what a record is (decision, or plan: govern without --apply), as its body says."""
    conn.exec_driver_sql("ALTER TABLE pml_decisions ADD COLUMN kind VARCHAR NOT NULL DEFAULT 'decision'")


def _change_records(conn: Connection) -> None:
    """v7 -> v8: applied and failed registry changes become chained records of their own (kind
    `change`), so that `audit verify` derives their action rows from a hashed body. The rows a log
    already holds get their records appended at its end, in the order they were made."""
    from sqlalchemy import text

    made = conn.exec_driver_sql(
        "SELECT a.decision_seq, a.policy, a.kind, a.name, a.value, a.state, a.time, a.detail, d.id, d.subject_ref, "
        "d.subject_digest, d.model, d.version FROM pml_actions a JOIN pml_decisions d ON d.seq = a.decision_seq "
        "WHERE a.state IN ('applied', 'failed') ORDER BY a.id"
    ).fetchall()
    if not made:
        return
    seq, prev = conn.exec_driver_sql("SELECT seq, hash FROM pml_head WHERE id = 1").one()
    for r in made:
        action = dict(zip(ACTION_COLUMNS, r[:8]))
        decision = dict(zip(("subject_ref", "subject_digest", "model", "version"), r[9:]))
        record = change_record(
            {**action, "decision": r[8]},
            decision,
            "pml-policy (schema 8 migration)",
            "{}",
            str(uuid.uuid4()),
            action["time"] or utc_text(dt.datetime.now(dt.UTC)),
        )
        seq += 1
        record.update(seq=seq, prev_hash=prev, signature=None)
        record["hash"] = prev = chain.record_hash(record)
        conn.execute(text(insert_sql("pml_decisions", tuple(record), ":{}")), record)
    conn.execute(text("UPDATE pml_head SET seq = :s, hash = :h WHERE id = 1"), {"s": seq, "h": prev})


def _inbox(conn: Connection) -> None:
    """v8 -> v9: the service's durable inbox of registry events."""
    from sqlmodel import SQLModel

    from .models import InboxJob

    SQLModel.metadata.create_all(conn, tables=[InboxJob.__table__])  # type: ignore[attr-defined]


def _narrow_rule_results(conn: Connection) -> None:
    """v9 -> v10: a rule's message, requirement and observed values live in the decision's hashed
    body only; the copies beside it cost every append a JSON encoding per rule, and `audit verify`
    a comparison. Reports read the latest failure's message from its record's body."""
    for column in ("message", "required", "observed"):
        conn.exec_driver_sql(f"ALTER TABLE pml_rule_results DROP COLUMN {column}")


def _covering_period_index(conn: Connection) -> None:
    """v10 -> v11: the period index covers what reports filter and group by (kind, version too):
    they counted a period's decisions by reading every record's row (a third of a report's time)."""
    conn.exec_driver_sql("DROP INDEX IF EXISTS ix_pml_decisions_period")
    conn.exec_driver_sql("CREATE INDEX ix_pml_decisions_period ON pml_decisions (time, kind, outcome, model, version)")


def _policy_sets(conn: Connection) -> None:
    """Each decision's policy versions as one key, from the rows verify has checked against its
    body, and the period index that holds it."""
    from sqlalchemy import text

    conn.exec_driver_sql("ALTER TABLE pml_decisions ADD COLUMN policy_set VARCHAR")
    used = conn.exec_driver_sql(
        "SELECT decision_seq, policy, version, digest FROM pml_decision_policies ORDER BY decision_seq, policy"
    )
    update = text("UPDATE pml_decisions SET policy_set = :k WHERE seq = :s")
    keys: list[dict[str, object]] = []
    for seq, rows in itertools.groupby(used, key=lambda r: r[0]):
        keys.append({"s": seq, "k": policy_set([{"name": n, "version": v, "digest": d} for _, n, v, d in rows])})
        if len(keys) >= 10_000:
            conn.execute(update, keys)
            keys.clear()
    if keys:
        conn.execute(update, keys)
    conn.exec_driver_sql("DROP INDEX IF EXISTS ix_pml_decisions_period")
    conn.exec_driver_sql(
        "CREATE INDEX ix_pml_decisions_period ON pml_decisions (time, kind, outcome, model, version, policy_set)"
    )


def _merkle_tree(conn: Connection) -> None:
    """v11 -> v12: the RFC 9162 Merkle tree over the chain (pml_tree), built over the records a log
    already holds, in seq order, as appends would have built it; and the indexes a report over a
    million records reads instead of the records (models.py says which reads which)."""
    from sqlalchemy import text
    from sqlmodel import SQLModel

    from .models import TreeNode

    conn.exec_driver_sql("DROP INDEX IF EXISTS ix_pml_rule_failures")
    conn.exec_driver_sql(
        "CREATE INDEX ix_pml_rule_failures ON pml_rule_results (decision_seq, policy, rule) "
        "WHERE outcome IN ('fail', 'error')"
    )
    conn.exec_driver_sql(
        "CREATE INDEX IF NOT EXISTS ix_pml_actions_made ON pml_actions (kind, time) "
        "WHERE state IN ('applied', 'failed')"
    )
    conn.exec_driver_sql("DROP INDEX IF EXISTS ix_pml_decisions_model")  # the versions index leads with model
    for name, table, columns in (
        ("ix_pml_decisions_versions", "pml_decisions", "model, version, kind, time, outcome"),
        ("ix_pml_decisions_leaves", "pml_decisions", "seq, hash"),
    ):
        conn.exec_driver_sql(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({columns})")

    _policy_sets(conn)
    SQLModel.metadata.create_all(conn, tables=[TreeNode.__table__])  # type: ignore[attr-defined]
    hashes = conn.exec_driver_sql("SELECT hash FROM pml_decisions WHERE seq >= 1 ORDER BY seq")
    frontier, insert = Frontier(), text("INSERT INTO pml_tree (level, idx, hash) VALUES (:level, :idx, :hash)")
    for batch in iter(lambda: hashes.fetchmany(10_000), []):
        frontier.made.clear()
        frontier.extend(bytes.fromhex(h) for (h,) in batch)
        if frontier.made:
            conn.execute(insert, [{"level": lv, "idx": i, "hash": v.hex()} for lv, i, v in frontier.made])


# version n -> the function that upgrades a log from n to n + 1. Every schema change adds one, and
# a test opens a log of the previous version to prove the path (tests/test_audit.py).
MIGRATIONS: dict[int, Callable[[Connection], None]] = {
    1: _drop_rule_index,
    2: _add_action_outcomes,
    3: _period_index,
    4: _report_tables,
    5: _signatures,
    6: _record_kinds,
    7: _change_records,
    8: _inbox,
    9: _narrow_rule_results,
    10: _covering_period_index,
    11: _merkle_tree,
}


def prepare(db: Database, create: bool = True) -> None:
    """Create the tables on first use (when `create`: writers), upgrade an older log, refuse a newer
    one. Readers never create anything: a log that is not there is an AuditError."""
    if db.is_memory:
        if create:
            raise UsageError(
                f"{db.shown} is a memory database: decisions recorded there are gone when the command ends",
                "record into a file (sqlite:///.pml/audit.db) or a server (postgresql://…)",
            )
        raise _missing(db)
    if db.is_sqlite and db.sqlite_path is None:
        raise UsageError(
            f"{db.shown}: give the audit log as sqlite:///PATH (a file) or postgresql://…",
            "SQLite URL options are not supported for the audit log",
        )
    if db.sqlite_path and not Path(db.sqlite_path).exists() and not create:
        raise _missing(db)
    if db.sqlite_path and Path(db.sqlite_path).exists():
        try:
            with db.driver() as raw:
                row = raw.execute("SELECT value FROM pml_meta WHERE key = 'schema_version'").fetchone()
        except db.errors():  # another process made the file and is creating its tables: wait below, in a transaction
            row = None
        if row and _number(row[0], db) == SCHEMA_VERSION:
            return  # the common case, without SQLAlchemy
    from sqlalchemy import text

    with db.engine.begin() as conn:
        if not db.is_sqlite:
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
        if not conn.dialect.has_table(conn, "pml_meta"):
            if not create:
                raise _missing(db)
            from sqlmodel import SQLModel

            from . import models  # noqa: F401  (registers the tables)

            SQLModel.metadata.create_all(conn)
            conn.execute(
                text("INSERT INTO pml_meta (key, value) VALUES ('schema_version', :v)"), {"v": str(SCHEMA_VERSION)}
            )
            conn.execute(text("INSERT INTO pml_head (id, seq, hash) VALUES (1, 0, :h)"), {"h": chain.GENESIS})
            return
        version = _version(conn, db)
        if version > SCHEMA_VERSION:
            raise AuditError(
                f"the audit log at {db.shown} has schema version {version}; this pml-policy reads up to "
                f"{SCHEMA_VERSION}",
                "upgrade pml-policy; never edit the log by hand",
            )
        for step in range(version, SCHEMA_VERSION):
            MIGRATIONS[step](conn)
            conn.execute(text("UPDATE pml_meta SET value = :v WHERE key = 'schema_version'"), {"v": str(step + 1)})


def schema_version(db: Database) -> int:
    with db.engine.connect() as conn:
        return _version(conn, db)


def _version(conn: Connection, db: Database) -> int:
    from sqlalchemy import text

    found = conn.execute(text("SELECT value FROM pml_meta WHERE key = 'schema_version'")).scalar_one_or_none()
    return _number(found, db)


def _number(value: object, db: Database) -> int:
    """The schema version as pml_meta holds it: a whole number, or the log was edited by hand."""
    text = str(value) if value is not None else ""
    if not text.isdigit() or len(text) > 6:
        raise AuditError(
            f"the audit log at {db.shown} has a damaged schema version ({text[:20]!r} in pml_meta): "
            "it was edited by hand",
            "restore the log from a backup; never edit it by hand",
        )
    return int(text)


def _missing(db: Database) -> AuditError:
    return NoAuditLog(
        f"no audit log at {db.shown}",
        "decisions are recorded by pml-policy check and govern; check --audit / PML_AUDIT_URL",
    )
