"""The SQLite job store on its own: atomicity across processes, worker bookkeeping."""

from __future__ import annotations

import json
import multiprocessing
import os
import sqlite3
import time

import pytest

from persontrack.errors import (
    IdempotentParameterMismatchException,
    InternalServerError,
    LimitExceededException,
)
from persontrack.jobs._store import DB_FILE, SCHEMA_VERSION, JobStore, pid_alive
from persontrack.jobs._worker import chunk_rows, result_rows

REQUEST = {"Video": {"S3Object": {"Bucket": "videos", "Name": "a.mp4"}}}


def create(store, token=None, request_hash="h", max_jobs=20, max_workers=0, job_id=None):
    return store.create_job(
        job_id=job_id or os.urandom(8).hex(),
        client_token=token,
        request_hash=request_hash,
        request=REQUEST,
        source={"kind": "local", "path": "/nowhere"},
        notification=None,
        config={},
        max_jobs=max_jobs,
        max_workers=max_workers,
        worker_id=os.urandom(8).hex(),
        heartbeat_timeout=60,
    )


def _racer(path: str, start_at: float, n: int) -> list[str]:
    store = JobStore(path)
    while time.time() < start_at:
        time.sleep(0.001)
    return [create(store, token="shared")[0] for _ in range(n)]


def test_one_token_gives_one_job_across_processes(tmp_path):
    path = str(tmp_path / DB_FILE)
    JobStore(path)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        start_at = time.time() + 2.0
        results = pool.starmap(_racer, [(path, start_at, 10)] * 4)
    ids = {i for r in results for i in r}
    assert len(ids) == 1
    assert len(JobStore(path).list_jobs()) == 1


def test_token_with_other_parameters_is_a_mismatch(tmp_path):
    store = JobStore(tmp_path / DB_FILE)
    create(store, token="t", request_hash="a")
    with pytest.raises(IdempotentParameterMismatchException):
        create(store, token="t", request_hash="b")


def test_job_limit_counts_queued_and_running(tmp_path):
    store = JobStore(tmp_path / DB_FILE)
    for _ in range(3):
        create(store, max_jobs=3)
    with pytest.raises(LimitExceededException):
        create(store, max_jobs=3)


def test_worker_with_stale_heartbeat_fails_its_job(tmp_path):
    store = JobStore(tmp_path / DB_FILE)
    job_id, _, _ = create(store)
    store.register_worker("w1", os.getpid())  # alive, but hung
    job = store.claim_next("w1", os.getpid())
    assert job["job_id"] == job_id and job["state"] == "RUNNING"
    assert store.reap(heartbeat_timeout=60) == []
    conn = sqlite3.connect(tmp_path / DB_FILE)
    conn.execute("UPDATE workers SET heartbeat = heartbeat - 120")
    conn.commit()
    conn.close()
    assert store.reap(heartbeat_timeout=60) == [job_id]
    failed = store.get_job(job_id)
    assert failed["state"] == "FAILED" and "stopped responding" in failed["status_message"]
    # the hung worker's late result is dropped, not written over the FAILED state
    assert not store.finish(job["job_key"], "w1", state="SUCCEEDED", result_count=0)
    assert store.get_job(job_id)["state"] == "FAILED"


def test_worker_declared_dead_but_alive_keeps_its_next_job(tmp_path):
    store = JobStore(tmp_path / DB_FILE)
    first, _, _ = create(store)
    second, _, _ = create(store)
    store.register_worker("w1", os.getpid())
    job = store.claim_next("w1", os.getpid())
    conn = sqlite3.connect(tmp_path / DB_FILE)
    conn.execute("UPDATE workers SET heartbeat = heartbeat - 120")
    conn.commit()
    conn.close()
    assert store.reap(heartbeat_timeout=60) == [first]
    assert store.live_workers() == []
    # the worker was only slow: it drops its late result and takes the next job
    assert not store.finish(job["job_key"], "w1", state="SUCCEEDED", result_count=0)
    assert store.claim_next("w1", os.getpid())["job_id"] == second
    assert store.reap(heartbeat_timeout=60) == []
    assert store.get_job(second)["state"] == "RUNNING"
    assert [w["worker_id"] for w in store.live_workers()] == ["w1"]


def test_dead_pid_fails_the_job_and_frees_the_worker_slot(tmp_path):
    store = JobStore(tmp_path / DB_FILE)
    job_id, _, _ = create(store)
    child = multiprocessing.get_context("spawn").Process(target=time.sleep, args=(0,))
    child.start()
    child.join(timeout=60)
    assert child.exitcode == 0
    store.register_worker("gone", child.pid)
    store.claim_next("gone", child.pid)
    assert not pid_alive(child.pid)
    assert store.reap(60) == [job_id]
    assert store.live_workers() == []


def test_waiting_jobs_get_placeholders_for_missing_workers(tmp_path):
    store = JobStore(tmp_path / DB_FILE)
    for _ in range(3):
        create(store)
    reserved = store.reserve_workers(max_workers=2)
    assert len(reserved) == 2
    assert store.reserve_workers(max_workers=2) == []  # already enough workers
    # a placeholder whose process never registers is reaped after the timeout
    conn = sqlite3.connect(tmp_path / DB_FILE)
    conn.execute("UPDATE workers SET started_at = started_at - 120")
    conn.commit()
    conn.close()
    store.reap(60)
    assert store.live_workers() == []


def test_idle_worker_unregisters_atomically(tmp_path):
    store = JobStore(tmp_path / DB_FILE)
    store.register_worker("w", os.getpid())
    assert store.claim_next("w", os.getpid()) is None
    assert store.live_workers() == []


def test_results_are_served_in_both_orders(tmp_path):
    from jobs_fakes import fake_frame

    from persontrack.convert import dataframe_to_persons, sort_results

    store = JobStore(tmp_path / DB_FILE)
    create(store)
    store.register_worker("w", os.getpid())
    job = store.claim_next("w", os.getpid())
    frame = fake_frame(300)
    count = store.add_results(job["job_key"], result_rows(frame), chunk=64)
    assert store.finish(job["job_key"], "w", state="SUCCEEDED", result_count=count)
    for sort_by in ("TIMESTAMP", "INDEX"):
        want = dataframe_to_persons(sort_results(frame, sort_by))
        got = page(store, job["job_key"], sort_by, 100, 50)
        assert got == want[100:150]


def page(store, key, sort_by, offset, limit):
    """One page as page_text reads it, parsed; its count checked."""
    text, count = store.page_text(key, sort_by, offset, limit)
    persons = json.loads("[" + text + "]")
    assert count == len(persons)
    return persons


def test_rows_written_in_chunks_get_the_index_order_at_finish(tmp_path):
    from jobs_fakes import fake_frame

    from persontrack.convert import dataframe_to_persons, sort_results
    from persontrack.jobs._store import JobLostError

    store = JobStore(tmp_path / DB_FILE)
    create(store)
    store.register_worker("w", os.getpid())
    key = store.claim_next("w", os.getpid())["job_key"]
    frame = sort_results(fake_frame(700), "TIMESTAMP")
    for start in range(0, 700, 250):  # as segments finish
        store.add_chunk(key, "w", chunk_rows(frame.iloc[start : start + 250], start))
    with pytest.raises(JobLostError):
        store.add_chunk(key, "someone-else", chunk_rows(frame.iloc[:1], 700))
    assert store.finish(key, "w", state="SUCCEEDED", result_count=700)
    for sort_by in ("TIMESTAMP", "INDEX"):
        want = dataframe_to_persons(sort_results(frame, sort_by))
        got = page(store, key, sort_by, 0, 700)
        assert got == want


def test_a_version_1_store_is_upgraded_with_its_results(tmp_path):
    path = tmp_path / DB_FILE
    JobStore(path).close()
    conn = sqlite3.connect(path)
    conn.executescript(  # back to the results table of version 1
        "DROP TABLE results;"
        "CREATE TABLE results (job_key INTEGER NOT NULL, ts_rank INTEGER NOT NULL, "
        "idx_rank INTEGER NOT NULL, person TEXT NOT NULL, row TEXT NOT NULL);"
        "CREATE UNIQUE INDEX results_ts ON results(job_key, ts_rank);"
        "CREATE UNIQUE INDEX results_idx ON results(job_key, idx_rank);"
        "INSERT INTO results VALUES (1, 0, 1, '{\"a\": 1}', '{}'), (1, 1, 0, '{\"b\": 2}', '{}');"
        "PRAGMA user_version = 1;"
    )
    conn.close()
    store = JobStore(path)
    assert store.page_text(1, "INDEX", 0, 10) == ('{"b": 2},{"a": 1}', 2)
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def finished_job(store, frame, worker="w"):
    """A SUCCEEDED job of ``frame``'s rows, written as a worker writes them; its key."""
    create(store)
    store.register_worker(worker, os.getpid())
    key = store.claim_next(worker, os.getpid())["job_key"]
    count = store.add_results(key, result_rows(frame), chunk=64)
    assert store.finish(key, worker, state="SUCCEEDED", result_count=count)
    return key


def copied(path, key):
    conn = sqlite3.connect(path)
    try:
        return conn.execute(
            "SELECT COUNT(*) FROM results_by_index WHERE job_key = ?", (key,)
        ).fetchone()[0]
    finally:
        conn.close()


def test_a_version_2_store_keeps_serving_its_jobs_and_copies_new_ones(tmp_path):
    from jobs_fakes import fake_frame

    from persontrack.convert import dataframe_to_persons, sort_results

    path = tmp_path / DB_FILE
    store = JobStore(path)
    frame = fake_frame(230)
    old = finished_job(store, frame)
    store.close()
    conn = sqlite3.connect(path)
    conn.executescript("DROP TABLE results_by_index; PRAGMA user_version = 2;")  # schema 2
    conn.close()
    store = JobStore(path)
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    new = finished_job(store, frame)
    assert (copied(path, old), copied(path, new)) == (0, 230)
    want = dataframe_to_persons(sort_results(frame, "INDEX"))
    for key in (old, new):  # the old job from results, the new one from its copy
        pages = [page(store, key, "INDEX", start, 100) for start in range(0, 300, 100)]
        assert [len(p) for p in pages] == [100, 100, 30]
        assert [p for page_ in pages for p in page_] == want


def test_the_index_copy_goes_with_its_job(tmp_path):
    from jobs_fakes import fake_frame

    path = tmp_path / DB_FILE
    store = JobStore(path)
    deleted, failed, rerun = (finished_job(store, fake_frame(40)) for _ in range(3))
    assert store.delete_job(store.get_job_by_key(deleted)["job_id"])
    with store._write() as conn:  # the worker died: the job is failed
        store._fail(conn, failed, "Job failed: test")
    with store._write() as conn:  # retried: queued again and claimed
        conn.execute("UPDATE jobs SET state = 'QUEUED' WHERE job_key = ?", (rerun,))
    assert store.claim_next("w", os.getpid())["job_key"] == rerun
    assert [copied(path, k) for k in (deleted, failed, rerun)] == [0, 0, 0]
    assert store.page_text(rerun, "INDEX", 0, 10) == ("", 0)


def test_pages_are_index_seeks_not_offset_scans(tmp_path):
    from persontrack.jobs import _store

    conn = JobStore(tmp_path / DB_FILE)._conn()
    for sql in (_store._PAGE_BY_TIMESTAMP, _store._PAGE_BY_INDEX, _store._PAGE_BY_INDEX_UNCOPIED):
        sql = _store._JOINED.format(sql)  # as page_text runs it
        plan = " ".join(r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + sql, (1, 5000, 6000)))
        # the ordered subquery runs as a co-routine feeding group_concat in index order
        assert plan.startswith("CO-ROUTINE") and " SEARCH results" in plan, plan
        assert "<" in plan and ">" in plan, plan
        assert "TEMP B-TREE" not in plan, plan  # no sort: read in the index's order


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / DB_FILE
    JobStore(path)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(InternalServerError, match="upgrade"):
        JobStore(path)
