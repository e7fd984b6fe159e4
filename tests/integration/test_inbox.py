"""The service's durable inbox, on SQLite and PostgreSQL: a delivery once, one model at a time,
retries with backoff, dead letters, and `pml-policy inbox list|retry`."""

from __future__ import annotations

from pml_policy.audit import AuditStore
from pml_policy.audit import inbox as jobs
from pml_policy.audit.inbox import ATTEMPTS

from ..helpers import run_cli


def _inbox(url: str):
    store = AuditStore(url)  # creates the log, and the inbox with it
    return store, store.db


def test_a_delivery_is_one_job_and_one_model_runs_at_a_time(store_url):
    store, db = _inbox(store_url)
    assert jobs.enqueue(db, "d1", "mlflow", "model_version.created", "credit", "{}")
    assert not jobs.enqueue(db, "d1", "mlflow", "model_version.created", "credit", "{}")  # a replay
    assert jobs.enqueue(db, "d2", "mlflow", "model_version.created", "credit", "{}")
    assert jobs.enqueue(db, "d3", "mlflow", "model_version.created", "churn", "{}")
    first = jobs.claim(db, "w1")
    second = jobs.claim(db, "w2")
    assert (first.delivery_id, second.delivery_id) == ("d1", "d3")  # d2 waits: credit is being governed
    assert jobs.claim(db, "w3") is None
    jobs.finish(db, first, "governed credit")
    assert jobs.claim(db, "w3").delivery_id == "d2"
    assert jobs.depth(db) == jobs.Depth(0, 2, 0, None)
    store.close()


def test_a_job_that_keeps_failing_becomes_a_dead_letter_and_can_be_sent_again(store_url, monkeypatch):
    store, db = _inbox(store_url)
    jobs.enqueue(db, "d1", "mlflow", "model_version.created", "credit", "{}")
    monkeypatch.setattr(jobs, "BACKOFF", (0, 0, 0, 0))  # no waiting between attempts in a test
    states = []
    for _ in range(ATTEMPTS):
        job = jobs.claim(db, "w1")
        states.append(jobs.fail(db, job, "MLflow at http://mlflow: no answer within 15 s"))
    assert states == ["pending"] * (ATTEMPTS - 1) + ["dead"]
    assert jobs.claim(db, "w1") is None
    listed = run_cli("inbox", "list", "--state", "dead", "--audit", store_url)
    assert listed.exit_code == 0 and "dead" in listed.stdout and "no answer within 15 s" in listed.stdout
    retried = run_cli("inbox", "retry", "--audit", store_url)
    assert retried.exit_code == 0 and "1 dead job sent back to the workers" in retried.stdout
    again = jobs.claim(db, "w1")
    assert again is not None and again.attempts == 1
    store.close()


def test_a_job_whose_worker_died_is_taken_again_after_its_lease(store_url, monkeypatch):
    import datetime as dt

    store, db = _inbox(store_url)
    jobs.enqueue(db, "d1", "mlflow", "model_version.created", "credit", "{}")
    assert jobs.claim(db, "w1") is not None  # and w1 is never heard of again
    assert jobs.claim(db, "w2") is None
    monkeypatch.setattr(jobs, "LEASE", dt.timedelta(seconds=-1))
    taken = jobs.claim(db, "w2")
    assert taken is not None and taken.attempts == 2
    store.close()
