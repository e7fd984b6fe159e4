"""The service's durable inbox, on SQLite and PostgreSQL: a delivery once, one model at a time,
events for a model merged while its job waits, retries with backoff, dead letters, and
`pml-policy inbox list|retry|discard`."""

from __future__ import annotations

from pml_policy.audit import AuditStore
from pml_policy.audit import inbox as jobs
from pml_policy.audit.inbox import ATTEMPTS
from pml_policy.usecases.reacting import merging

from ..helpers import run_cli


def _inbox(url: str):
    store = AuditStore(url)  # creates the log, and the inbox with it
    return store, store.db


def test_a_delivery_is_one_job_and_one_model_runs_at_a_time(store_url):
    store, db = _inbox(store_url)
    assert jobs.enqueue(db, "d1", "mlflow", "model_version.created", "credit", "{}") == "queued"
    assert jobs.enqueue(db, "d1", "mlflow", "model_version.created", "credit", "{}") == "duplicate"  # a replay
    assert jobs.enqueue(db, "d2", "mlflow", "model_version.created", "credit", "{}") == "queued"
    assert jobs.enqueue(db, "d3", "mlflow", "model_version.created", "churn", "{}") == "queued"
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


MERGE, INTO = merging("revert")


def test_events_for_a_model_merge_into_its_pending_job_and_a_running_one_takes_one_more(store_url):
    store, db = _inbox(store_url)
    burst = [
        jobs.enqueue(db, f"d{n}", "mlflow", "model_version.created", "credit", "{}", MERGE, INTO) for n in range(8)
    ]
    assert burst == ["queued"] + ["merged"] * 7  # one job: it has not read the registry yet
    assert jobs.enqueue(db, "other", "mlflow", "model_version.created", "churn", "{}", MERGE, INTO) == "queued"
    alias = jobs.enqueue(db, "a1", "mlflow", "model_version_alias.created", "credit", "{}", MERGE, INTO)
    assert alias == "queued"  # not an event the merge takes: it names the version it moved to
    running = jobs.claim(db, "w1")
    assert running.delivery_id == "d0"
    # While it runs, it may have read the registry before the next event: that one waits as a job.
    later = [
        jobs.enqueue(db, f"e{n}", "mlflow", "model_version_tag.deleted", "credit", "{}", MERGE, INTO) for n in range(3)
    ]
    assert later == ["queued", "merged", "merged"]
    assert jobs.enqueue(db, "t1", "mlflow", "model_version_tag.set", "credit", "{}", MERGE, INTO) == "merged"
    assert jobs.depth(db).pending == 3  # churn's, the alias event, and credit's one more
    store.close()


def test_a_job_that_may_do_nothing_takes_no_other_event(store_url):
    """A tag-set job may be the echo of governance's own tag (it then does nothing), and under
    --enforce flag a deleted alias is flagged, not governed: neither may swallow a registration."""
    store, db = _inbox(store_url)
    assert jobs.enqueue(db, "echo", "mlflow", "model_version_tag.set", "credit", "{}", MERGE, INTO) == "queued"
    assert jobs.enqueue(db, "new", "mlflow", "model_version.created", "credit", "{}", MERGE, INTO) == "queued"
    assert jobs.enqueue(db, "forged", "mlflow", "model_version_tag.set", "credit", "{}", MERGE, INTO) == "merged"
    merge, into = merging("flag")
    assert jobs.enqueue(db, "gone", "mlflow", "model_version_alias.deleted", "churn", "{}", merge, into) == "queued"
    assert jobs.enqueue(db, "next", "mlflow", "model_version.created", "churn", "{}", merge, into) == "queued"
    assert jobs.enqueue(db, "gone2", "mlflow", "model_version_alias.deleted", "churn", "{}", merge, into) == "queued"
    assert jobs.depth(db).pending == 5
    store.close()


def test_an_error_retrying_cannot_heal_is_a_dead_letter_at_once_and_a_job_can_be_discarded(store_url):
    store, db = _inbox(store_url)
    jobs.enqueue(db, "test", "mlflow", "model_version.created", "example_model", "{}")
    job = jobs.claim(db, "w1")
    assert jobs.fail(db, job, "registered model example_model does not exist", final=True) == "dead"
    assert jobs.depth(db) == jobs.Depth(0, 0, 1, None)  # not pending: the lag does not count it
    listed = run_cli("inbox", "list", "--state", "dead", "--audit", store_url)
    assert "does not exist" in listed.stdout and "tries 1" in listed.stdout
    discarded = run_cli("inbox", "discard", str(job.id), "--audit", store_url)
    assert discarded.exit_code == 0
    assert f"job {job.id} (model_version.created example_model) discarded" in discarded.stdout
    assert jobs.depth(db) == jobs.Depth(0, 0, 0, None)
    assert run_cli("inbox", "retry", "--audit", store_url).stdout.startswith("0 dead jobs")  # it never runs again
    missing = run_cli("inbox", "discard", "999", "--audit", store_url)
    assert missing.exit_code == 2 and "no inbox job 999" in missing.stderr
    for command in ("discard", "retry"):  # an id no database column holds: one line, not an OverflowError
        huge = run_cli("inbox", command, "9" * 30, "--audit", store_url)
        assert huge.exit_code == 2 and "is not in the range" in huge.output, huge.output
    jobs.enqueue(db, "busy", "mlflow", "model_version.created", "credit", "{}")
    busy = jobs.claim(db, "w1")
    refused = run_cli("inbox", "discard", str(busy.id), "--audit", store_url)
    assert refused.exit_code == 2 and "is running: only a pending or dead job can be discarded" in refused.stderr
    store.close()


def test_a_renewed_lease_keeps_a_running_job_and_a_lapsed_one_lets_it_go(store_url, monkeypatch):
    import datetime as dt
    import time

    store, db = _inbox(store_url)
    jobs.enqueue(db, "d1", "mlflow", "model_version.created", "credit", "{}")
    monkeypatch.setattr(jobs, "LEASE", dt.timedelta(seconds=1))
    running = jobs.claim(db, "w1")
    time.sleep(0.7)
    assert jobs.renew(db, running)  # w1 is alive: its lease starts again
    time.sleep(0.7)
    assert jobs.claim(db, "w2") is None  # 1.4 s after the claim, but 0.7 s after the renewal
    time.sleep(1.2)  # w1 was killed: nobody renews
    taken = jobs.claim(db, "w2")
    assert taken is not None and taken.claimed_by == "w2"
    assert not jobs.renew(db, running)  # w1's renewal, if it came back, no longer holds it
    store.close()
