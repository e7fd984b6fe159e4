"""The service's durable inbox: registry events stored as they arrive, handed to workers one model at
a time, retried with backoff, and kept as dead letters when retries run out.

A delivery id seen twice is one job. Claims are serialised (SQLite: the write lock; PostgreSQL: a
transaction-level advisory lock), so two workers, in one process or in several replicas, never run
two jobs of one model at once. A worker renews the lease of the job it runs; a job whose worker
stopped renewing it (the process was killed) goes back to pending once its lease expires (30 s),
so a killed replica holds its models no longer than that; a single SQLite service releases them
at start.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal, NamedTuple

from .database import Database
from .rows import utc_text

# A running job's worker renews its lease every third of it (`renew`); one not renewed for a whole
# lease (its process was killed) is taken again by another worker or replica.
LEASE = dt.timedelta(seconds=30)
BACKOFF = (5, 30, 120, 600)  # seconds before the 2nd, 3rd, 4th and 5th attempt
ATTEMPTS = len(BACKOFF) + 1  # then the job is dead: `pml-policy inbox retry` sends it again
_CLAIM_LOCK = 7261524402  # PostgreSQL advisory lock: one claim at a time across replicas
COLUMNS = (
    "id",
    "delivery_id",
    "source",
    "event",
    "model",
    "body",
    "received",
    "state",
    "attempts",
    "not_before",
    "claimed_by",
    "claimed_at",
    "last_error",
    "result",
)


class Job(NamedTuple):
    id: int
    delivery_id: str
    source: str
    event: str
    model: str | None
    body: str
    received: str
    state: str
    attempts: int
    not_before: str
    claimed_by: str | None
    claimed_at: str | None
    last_error: str | None
    result: str | None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@contextmanager
def _claiming(db: Database) -> Iterator[Any]:
    with db.writing() as cursor:
        if not db.is_sqlite:
            cursor.execute(db.sql("SELECT pg_advisory_xact_lock({k})"), {"k": _CLAIM_LOCK})
        yield cursor


def enqueue(
    db: Database,
    delivery_id: str,
    source: str,
    event: str,
    model: str | None,
    body: str,
    merge: tuple[str, ...] = (),
    into: tuple[str, ...] | None = None,
) -> Literal["queued", "duplicate", "merged"]:
    """Store an event: `duplicate` when this delivery id is already in the inbox (a replay);
    `merged` when the event is one of `merge` and a job of an `into` event (default: `merge`) for
    its model is still pending (that job has not read the registry yet, so it will see what this
    event says); else `queued`. Checked under the claim lock: a job cannot start between the look
    and the answer."""
    now = utc_text(_now())
    takers = merge if into is None else into
    with _claiming(db) as cursor:
        if takers and model is not None and event in merge:
            marks = ", ".join(f"{{e{i}}}" for i in range(len(takers)))
            cursor.execute(
                db.sql(
                    f"SELECT id FROM pml_inbox WHERE state = 'pending' AND model = {{m}} AND event IN ({marks}) LIMIT 1"
                ),
                {"m": model, **{f"e{i}": e for i, e in enumerate(takers)}},
            )
            if cursor.fetchone() is not None:
                return "merged"
        cursor.execute(
            db.sql(
                "INSERT INTO pml_inbox (delivery_id, source, event, model, body, received, state, attempts, "
                "not_before) VALUES ({d}, {s}, {e}, {m}, {b}, {r}, 'pending', 0, {r}) "
                "ON CONFLICT (delivery_id) DO NOTHING"
            ),
            {"d": delivery_id, "s": source, "e": event, "m": model, "b": body, "r": now},
        )
        return "queued" if cursor.rowcount else "duplicate"


def claim(db: Database, worker: str) -> Job | None:
    """The oldest job that may run now and whose model no other worker is on, marked running."""
    now = _now()
    with _claiming(db) as cursor:
        cursor.execute(
            db.sql("UPDATE pml_inbox SET state = 'pending' WHERE state = 'running' AND claimed_at < {expired}"),
            {"expired": utc_text(now - LEASE)},
        )
        cursor.execute(
            db.sql(
                f"SELECT {', '.join(COLUMNS)} FROM pml_inbox WHERE state = 'pending' AND not_before <= {{now}} AND "
                "(model IS NULL OR model NOT IN (SELECT model FROM pml_inbox WHERE state = 'running' AND model IS NOT "
                "NULL)) ORDER BY id LIMIT 1"
            ),
            {"now": utc_text(now)},
        )
        row = cursor.fetchone()
        if row is None:
            return None
        job = Job(*row)
        cursor.execute(
            db.sql(
                "UPDATE pml_inbox SET state = 'running', claimed_by = {w}, claimed_at = {t}, attempts = attempts + 1 "
                "WHERE id = {id}"
            ),
            {"w": worker, "t": utc_text(now), "id": job.id},
        )
        return job._replace(state="running", claimed_by=worker, attempts=job.attempts + 1)


def renew(db: Database, job: Job) -> bool:
    """The worker still runs `job`: its lease starts again now. False when the job is no longer
    this worker's (its lease ran out and another took it)."""
    with db.writing() as cursor:
        cursor.execute(
            db.sql("UPDATE pml_inbox SET claimed_at = {t} WHERE id = {id} AND state = 'running' AND claimed_by = {w}"),
            {"t": utc_text(_now()), "id": job.id, "w": job.claimed_by},
        )
        return bool(cursor.rowcount)


def finish(db: Database, job: Job, result: str) -> None:
    with db.writing() as cursor:
        cursor.execute(
            db.sql("UPDATE pml_inbox SET state = 'done', result = {r}, last_error = NULL WHERE id = {id}"),
            {"r": result, "id": job.id},
        )


def fail(db: Database, job: Job, error: str, final: bool = False) -> str:
    """Back to pending after its backoff, or dead when its attempts are spent or the error is
    `final` (one retrying cannot heal: a model that does not exist); returns the state."""
    dead = final or job.attempts >= ATTEMPTS
    later = _now() + dt.timedelta(seconds=BACKOFF[min(job.attempts, len(BACKOFF)) - 1])
    state = "dead" if dead else "pending"
    with db.writing() as cursor:
        cursor.execute(
            db.sql(
                "UPDATE pml_inbox SET state = {s}, last_error = {e}, not_before = {n}, claimed_by = NULL "
                "WHERE id = {id}"
            ),
            {"s": state, "e": error[:2000], "n": utc_text(later), "id": job.id},
        )
    return state


def release_running(db: Database) -> int:
    """Jobs left running by a process that is gone (one SQLite service, restarted): pending again."""
    with db.writing() as cursor:
        cursor.execute("UPDATE pml_inbox SET state = 'pending', claimed_by = NULL WHERE state = 'running'")
        return int(cursor.rowcount)


def jobs(db: Database, state: str | None = None, limit: int = 100) -> list[Job]:
    """The newest jobs first, of one state or all."""
    with db.driver() as raw:
        cursor = raw.cursor()
        where = "WHERE state = {s} " if state else ""
        cursor.execute(
            db.sql(f"SELECT {', '.join(COLUMNS)} FROM pml_inbox {where}ORDER BY id DESC LIMIT {{n}}"),
            {"s": state, "n": limit},
        )
        return [Job(*row) for row in cursor.fetchall()]


def retry(db: Database, job_id: int | None = None) -> int:
    """Dead jobs (one, or all) pending again with fresh attempts; returns how many."""
    with db.writing() as cursor:
        which = " AND id = {id}" if job_id is not None else ""
        cursor.execute(
            db.sql(
                "UPDATE pml_inbox SET state = 'pending', attempts = 0, not_before = {now} WHERE state = 'dead'" + which
            ),
            {"now": utc_text(_now()), "id": job_id},
        )
        return int(cursor.rowcount)


def discard(db: Database, job_id: int) -> Job | None:
    """Set a pending or dead job aside for good (it never runs again; the row stays, said so);
    None when there is no such job. A running job is left to its worker: ValueError."""
    with db.writing() as cursor:
        cursor.execute(db.sql(f"SELECT {', '.join(COLUMNS)} FROM pml_inbox WHERE id = {{id}}"), {"id": job_id})
        row = cursor.fetchone()
        if row is None:
            return None
        job = Job(*row)
        if job.state not in ("pending", "dead"):
            raise ValueError(f"job {job_id} is {job.state}: only a pending or dead job can be discarded")
        cursor.execute(
            db.sql("UPDATE pml_inbox SET state = 'discarded', result = 'discarded by hand' WHERE id = {id}"),
            {"id": job_id},
        )
        return job._replace(state="discarded")


class Depth(NamedTuple):
    pending: int
    running: int
    dead: int
    oldest_pending: str | None  # when the oldest pending job was received

    def age(self) -> float:
        """Seconds the oldest pending job has waited (0 with none)."""
        if self.oldest_pending is None:
            return 0.0
        received = dt.datetime.strptime(self.oldest_pending, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)
        return (_now() - received).total_seconds()


def depth(db: Database) -> Depth:
    with db.driver() as raw:
        cursor = raw.cursor()
        cursor.execute(
            "SELECT state, COUNT(*), MIN(received) FROM pml_inbox WHERE state IN ('pending', 'running', 'dead') "
            "GROUP BY state"
        )
        found = {state: (count, oldest) for state, count, oldest in cursor.fetchall()}
    return Depth(
        found.get("pending", (0, None))[0],
        found.get("running", (0, None))[0],
        found.get("dead", (0, None))[0],
        found.get("pending", (0, None))[1],
    )


def latest_for(db: Database, model: str) -> Job | None:
    """The model's newest job that has run (done or dead): its last reconcile, as `status` shows it."""
    with db.driver() as raw:
        cursor = raw.cursor()
        cursor.execute(
            db.sql(
                f"SELECT {', '.join(COLUMNS)} FROM pml_inbox WHERE model = {{m}} AND state IN ('done', 'dead') "
                "ORDER BY id DESC LIMIT 1"
            ),
            {"m": model},
        )
        row = cursor.fetchone()
        return Job(*row) if row is not None else None
