"""The connection to the audit database and what differs between dialects: URLs, drivers,
placeholders, SQLite's settings, and the errors a failing database raises.

A plain SQLite file is written through sqlite3 itself once its schema is current: importing
SQLAlchemy alone took half of `check`'s cold start. SQLAlchemy (and so sqlmodel) is loaded for
creating and upgrading the schema, for other databases, and for the commands that read the log.
"""

from __future__ import annotations

import importlib.util
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pml_policy.base.errors import AuditError, UsageError
from pml_policy.base.secrets import redact

if TYPE_CHECKING:
    from sqlalchemy import Connection
    from sqlalchemy.engine import Engine


WAIT = 60.0  # seconds a command waits for another writer's lock; the service takes --write-wait


class Database:
    """One audit database: its URL (as shown to people, without a password) and its connections."""

    def __init__(self, url: str, wait: float = WAIT) -> None:
        """`wait`: seconds a write waits for another writer's lock (SQLite) before it fails."""
        supported(url)
        self.wait = wait
        self.url = driver_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        self.shown = redact(self.url if self.is_sqlite else without_password(self.url))
        self.sqlite_path = sqlite_file(self.url)
        self.is_memory = self.is_sqlite and (
            self.url in ("sqlite://", "sqlite:///:memory:") or "mode=memory" in self.url
        )
        # SQLite: one connection per thread, so that one Database serves a service's request threads,
        # workers and recorder at once (a connection shared across threads would mix transactions).
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []
        self._opened_lock = threading.Lock()

    @cached_property
    def engine(self) -> Engine:
        """The SQLAlchemy engine: for the schema, for other databases, and for reading."""
        from sqlalchemy import create_engine, event

        if not self.is_sqlite:
            args = {"connect_timeout": 10} if self.url.startswith("postgresql") else {}
            return create_engine(self.url, connect_args=args, pool_pre_ping=True)
        if self.sqlite_path:
            self._folder(Path(self.sqlite_path).parent)
        engine = create_engine(self.url, connect_args={"timeout": self.wait})

        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection: Any, _record: Any) -> None:
            sqlite_settings(dbapi_connection, self.wait)

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # take the write lock first: no lost updates

        return engine

    def _folder(self, folder: Path) -> None:
        """The log's folder: the default `.pml/` is made where it is missing (in a folder that
        exists); any other must exist, so that a typo never starts a new chain somewhere else."""
        if folder.is_dir():
            return
        hint = "create the folder first, or check the URL for a typo (PML_AUDIT_URL, --audit)"
        if folder.exists() or folder.name != ".pml":
            what = "is not a folder" if folder.exists() else "does not exist"
            raise AuditError(f"cannot open the audit log {self.shown}: its folder {folder} {what}", hint)
        try:
            folder.mkdir(exist_ok=True)
        except OSError as exc:
            raise AuditError(
                f"cannot open the audit log {self.shown}: cannot create {folder}: {exc.strerror}", hint
            ) from None

    def errors(self) -> tuple[type[BaseException], ...]:
        """What a failing database raises: sqlite3's errors, and once the engine exists SQLAlchemy's
        and its driver's."""
        errors: tuple[type[BaseException], ...] = (sqlite3.Error, OSError)
        if "engine" in self.__dict__:
            from sqlalchemy.exc import SQLAlchemyError

            errors += (SQLAlchemyError, self.engine.dialect.loaded_dbapi.Error)
        return errors

    @contextmanager
    def driver(self) -> Iterator[Any]:
        """A DBAPI connection, rolled back if the block fails."""
        own = self.sqlite_path is not None
        raw: Any = self._sqlite_connection() if own else self.engine.raw_connection()
        try:
            yield raw
        except BaseException:
            raw.rollback()
            raise
        finally:
            if not own:
                raw.close()  # back to the pool, which rolls back whatever is left open

    def _sqlite_connection(self) -> sqlite3.Connection:
        """This thread's connection to the SQLite file, opened on its first use and kept until close()."""
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            assert self.sqlite_path is not None
            connection = sqlite3.connect(self.sqlite_path, timeout=self.wait, check_same_thread=False)
            connection = sqlite_settings(connection, self.wait)
            self._local.connection = connection
            with self._opened_lock:
                self._opened.append(connection)
        return connection

    @contextmanager
    def writing(self) -> Iterator[Any]:
        """A cursor in a write transaction, committed when the block ends. SQLite: BEGIN IMMEDIATE
        takes the write lock first, so no two writers read the same head (no lost updates)."""
        with self.driver() as raw:
            cursor = raw.cursor()
            if self.is_sqlite:
                cursor.execute("BEGIN IMMEDIATE")
            yield cursor
            raw.commit()

    def write_blocked(self, seconds: float) -> str | None:
        """Why a write could not start within `seconds` now (SQLite: another process holds the
        write lock), or None. Takes the lock and lets it go at once, on a connection of its own."""
        if self.sqlite_path is None or not Path(self.sqlite_path).exists():
            return None  # PostgreSQL writers lock one row for milliseconds; a new log has no writer yet
        probe = sqlite3.connect(self.sqlite_path, timeout=seconds, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
        except sqlite3.OperationalError as exc:
            return f"a write to the audit log cannot start within {seconds:g} s ({exc}): another process holds its lock"
        finally:
            probe.close()
        return None

    def snapshot(self, raw: Any) -> None:
        """One snapshot for every read that follows on `raw`: appends may go on meanwhile."""
        raw.cursor().execute("BEGIN" if self.is_sqlite else "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")

    @property
    def mark(self) -> str:
        """A named placeholder as the driver takes it: sqlite3 :name, psycopg %(name)s."""
        return ":{}" if self.is_sqlite else "%({})s"

    def sql(self, template: str) -> str:
        """Fill {name} placeholders with the driver's own markers."""
        return template.format_map(_Marks(self.mark))

    def hint(self) -> str:
        if self.is_sqlite:
            return "check that the folder is writable, or pass --audit URL / set PML_AUDIT_URL"
        return "check that the database server is running and reachable, and the URL in --audit / PML_AUDIT_URL"

    def close(self) -> None:
        with self._opened_lock:
            opened, self._opened = self._opened, []
            self._local = threading.local()  # a thread that comes back opens a connection afresh
        for connection in opened:
            connection.close()
        if "engine" in self.__dict__:
            self.engine.dispose()


class _Marks(dict[str, str]):
    def __init__(self, mark: str) -> None:
        super().__init__()
        self.mark = mark

    def __missing__(self, key: str) -> str:
        return self.mark.format(key)


def sqlite_settings(connection: sqlite3.Connection, wait: float = WAIT) -> sqlite3.Connection:
    connection.isolation_level = None  # we say when transactions begin (BEGIN IMMEDIATE)
    connection.execute(f"PRAGMA busy_timeout={int(wait * 1000)}")
    _wal(connection, wait)
    connection.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes in WAL mode
    connection.execute("PRAGMA foreign_keys=ON")
    return connection


def _wal(connection: sqlite3.Connection, wait: float) -> None:
    """WAL mode (kept in the file once set). Switching a new file to it takes an exclusive lock, and
    SQLite answers "database is locked" at once, without its busy wait, where waiting could
    deadlock (another process holds a lock, as when many create a new log at once): so try again
    until `wait` has passed."""
    deadline = time.monotonic() + wait
    while True:
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.02)


def sqlite_file(url: str) -> str | None:
    """The file of a plain sqlite:///PATH URL; None for anything else (memory, options, other drivers)."""
    prefix = "sqlite:///"
    path = url[len(prefix) :] if url.startswith(prefix) else ""
    return path if path and "?" not in path and path != ":memory:" else None


def without_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


_SCHEMES = ("sqlite", "postgresql", "postgres", "postgresql+psycopg")


def supported(url: str) -> None:
    """Refuse, in one line, a URL the audit log cannot live at: not a URL, another database, or
    PostgreSQL without its driver installed."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else None
    if scheme is None:
        raise UsageError(f"audit log {redact(url)!r} is not a database URL", "give sqlite:///PATH or postgresql://…")
    if scheme not in _SCHEMES:
        raise UsageError(
            f"audit log {redact(url)}: {scheme}:// is not supported",
            "the audit log lives in SQLite (sqlite:///PATH, the default) or PostgreSQL (postgresql://USER@HOST/DB)",
        )
    if scheme.startswith("postgres") and importlib.util.find_spec("psycopg") is None:
        raise UsageError(
            f"audit log {redact(url)}: PostgreSQL needs the psycopg driver, which is not installed",
            "pip install 'pml-policy[postgres]'",
        )
    if scheme != "sqlite":
        from sqlalchemy.engine import make_url

        try:
            make_url(driver_url(url)).port  # noqa: B018  (parsing the port is the check)
        except ValueError as exc:  # SQLAlchemy's ArgumentError is one too
            raise UsageError(
                f"audit log {redact(url)}: not a valid database URL ({redact(str(exc))})",
                "check the URL's host, port and database",
            ) from None


def driver_url(url: str) -> str:
    """postgresql:// means psycopg 3, the driver pml-policy[postgres] installs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def reason(exc: BaseException) -> str:
    """The database's own words, without SQLAlchemy's statement dump or a password."""
    orig = getattr(exc, "orig", None)
    lines = str(orig or exc).strip().splitlines()
    return redact(lines[0] if lines else type(exc).__name__)
