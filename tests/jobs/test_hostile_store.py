"""The job store under attack: its folder deleted or replaced under a running client, its
write lock held by another process, two processes sharing one data dir.

Defect 4 of issue 14: after the data dir was deleted the client kept answering from the
unlinked database and ``start_person_tracking`` raised a raw FileNotFoundError after
writing a job row. Defect 7: under contention workers crashed with an uncaught
ProvisionedThroughputExceededException and clients raised it; store calls now retry with
backoff until ``busy_timeout`` (clients, default 30 s) or ``WORKER_BUSY_TIMEOUT`` (workers).
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest
from jobs_support import FAKE_TRACKER, VIDEO

from persontrack.errors import InternalServerError
from persontrack.jobs import _store


def integrity(path) -> str:
    with sqlite3.connect(path) as db:
        return db.execute("PRAGMA integrity_check").fetchone()[0]


def test_data_dir_deleted_under_a_running_client(clients):
    c = clients()
    job = c.start_person_tracking(Video=VIDEO)["JobId"]
    c.wait(job, timeout=60)
    clients.shutdown()  # no worker keeps the folder alive
    shutil.rmtree(clients.data_dir)
    for call in (
        lambda: c.get_person_tracking(JobId=job),
        lambda: c.describe_job(job),
        lambda: c.list_jobs(),
        lambda: c.start_person_tracking(Video=VIDEO),
    ):
        with pytest.raises(InternalServerError, match="deleted"):
            call()
    assert not clients.data_dir.exists(), "nothing was written after the folder went"


def test_data_dir_replaced_under_a_running_client(clients):
    old = clients()
    job = old.start_person_tracking(Video=VIDEO)["JobId"]
    old.wait(job, timeout=60)
    clients.shutdown()
    shutil.rmtree(clients.data_dir)
    new = clients()  # recreates an empty store in the same place
    with pytest.raises(InternalServerError, match="replaced"):
        old.start_person_tracking(Video=VIDEO)
    with pytest.raises(InternalServerError, match="replaced"):
        old.get_person_tracking(JobId=job)
    assert len(new.list_jobs()) == 0, "no half-started job in the new store"
    assert integrity(clients.data_dir / "jobs.sqlite3") == "ok"


def test_a_store_truncated_to_zero_bytes_is_refused_naming_the_file(clients):
    from persontrack.jobs.client import client

    old = clients()
    job = old.start_person_tracking(Video=VIDEO)["JobId"]
    old.wait(job, timeout=60)
    clients.shutdown()
    db = clients.data_dir / "jobs.sqlite3"
    db.write_bytes(b"")  # truncated in place (same inode)
    with pytest.raises(InternalServerError, match="empty") as e:
        old.get_person_tracking(JobId=job)
    assert str(db) in e.value.message
    for _ in range(2):  # not silently a new, empty store on the next open either
        with pytest.raises(InternalServerError, match="truncated") as e:
            client(data_dir=clients.data_dir, bucket_root=clients.bucket_root)
        assert str(db) in e.value.message
    assert db.stat().st_size == 0, "nothing was written into the emptied store"


def test_a_new_store_is_never_an_empty_file(tmp_path):
    """Made whole (schema included) in one step, so an empty file always means truncated."""
    store = _store.JobStore(tmp_path / "jobs.sqlite3")
    assert (tmp_path / "jobs.sqlite3").stat().st_size > 0
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("jobs")) == []
    assert store.list_jobs() == [] and integrity(tmp_path / "jobs.sqlite3") == "ok"
    store.close()


def test_a_failed_worker_start_leaves_no_job(clients, monkeypatch):
    c = clients()

    def broken(*args, **kwargs):
        raise FileNotFoundError("logs folder vanished")

    monkeypatch.setattr("subprocess.Popen", broken)
    with pytest.raises(InternalServerError, match="cannot start a worker"):
        c.start_person_tracking(Video=VIDEO, ClientRequestToken="t-spawn")
    monkeypatch.undo()
    assert c.store.list_jobs() == []
    assert c.store.live_workers() == []
    # the token is free again: the retry makes the job
    job = c.start_person_tracking(Video=VIDEO, ClientRequestToken="t-spawn")["JobId"]
    assert c.wait(job, timeout=60)["JobStatus"] == "SUCCEEDED"


HOLD_SECONDS = 20.0
"""Well over the old 10 s busy timeout after which clients and workers gave up (a worker
needs a few seconds to start on a loaded machine before it meets the lock)."""

_HOLDER = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
db.execute("COMMIT")
"""


def test_callers_and_workers_wait_for_a_store_locked_by_another_process(clients):
    c = clients(settings={"rows": 30}, max_workers=1)
    done = c.start_person_tracking(Video=VIDEO)["JobId"]
    c.wait(done, timeout=60)
    for runner in c._children:  # the job runner leaves once no job is left
        runner.wait(timeout=60)
    db = clients.data_dir / "jobs.sqlite3"
    # a job queued with a worker reserved for it, whose process starts during the lock
    queued, created, spawn = c.store.create_job(
        job_id="w" * 64,
        client_token=None,
        request_hash="h",
        request={"Video": VIDEO},
        source=c.storage.locate(VIDEO["S3Object"]),
        notification=None,
        config={"tracker": FAKE_TRACKER, "settings": {"rows": 30}},
        max_jobs=20,
        max_workers=1,
        worker_id="late-worker",
        heartbeat_timeout=60,
    )
    assert created and spawn
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(_HOLDER), str(db), str(HOLD_SECONDS)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        c._spawn("late-worker")  # its registration and claim meet the held lock
        worker = c._children[-1]
        t0 = time.monotonic()
        # a client write waits for the lock, then succeeds
        job = c.start_person_tracking(Video=VIDEO)["JobId"]
        waited = time.monotonic() - t0
        assert waited > HOLD_SECONDS - 5, waited
        assert holder.wait(timeout=30) == 0
        log = clients.data_dir / "logs" / "workers.log"
        assert worker.wait(timeout=60) == 0, log.read_text()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(timeout=30)
    assert c.wait(queued, timeout=60)["JobStatus"] == "SUCCEEDED"
    assert c.wait(job, timeout=60)["JobStatus"] == "SUCCEEDED"
    assert c.get_person_tracking(JobId=done, MaxResults=5)["JobStatus"] == "SUCCEEDED"
    assert integrity(db) == "ok"


def test_the_deadline_is_documented_and_named(clients):
    c = clients(busy_timeout=0.5)
    blocker = sqlite3.connect(clients.data_dir / "jobs.sqlite3", isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        t0 = time.monotonic()
        with pytest.raises(c.exceptions.ProvisionedThroughputExceededException) as e:
            c.start_person_tracking(Video=VIDEO)
        assert 0.4 < time.monotonic() - t0 < 5
        assert "0.5 s" in e.value.message
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert _store.WORKER_BUSY_TIMEOUT >= 60


SMALL_DISK_MB = 4


@pytest.fixture
def small_disk(tmp_path):
    """A 4 MB tmpfs mounted on a fresh folder (as root), else None: the server then gets
    RLIMIT_FSIZE instead. Unmounted at the end (bounded waits)."""
    path = tmp_path / "small"
    path.mkdir()
    mounted = False
    if os.geteuid() == 0:
        cmd = ["mount", "-t", "tmpfs", "-o", f"size={SMALL_DISK_MB}m", "tmpfs", str(path)]
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            mounted = subprocess.run(cmd, capture_output=True, timeout=30).returncode == 0
    yield path, mounted
    if mounted:
        done = subprocess.run(["umount", str(path)], capture_output=True, timeout=30)
        if done.returncode != 0:
            subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=30)


def _file_size_limit() -> None:  # in the server process (and so in its job runner)
    resource.setrlimit(resource.RLIMIT_FSIZE, (SMALL_DISK_MB << 20, SMALL_DISK_MB << 20))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def test_a_full_disk_fails_the_job_with_the_reason_and_reads_still_work(clients, small_disk):
    from serve_support import start_server, wait_done

    data, mounted = small_disk
    server = start_server(
        data,
        clients.bucket_root,
        "--workers",
        "1",
        settings={"rows": 30000},  # ~36 MB of rows into a 4 MB disk
        preexec=None if mounted else _file_size_limit,
    )
    try:
        rek = server.boto3()
        job = rek.start_person_tracking(Video=VIDEO)["JobId"]
        failed = wait_done(rek, job, timeout=120)
        assert failed["JobStatus"] == "FAILED", failed
        message = failed["StatusMessage"]
        assert str(data / "jobs.sqlite3") in message, message
        if mounted:  # a full disk; RLIMIT_FSIZE is SQLite's "disk I/O error" instead
            assert "InternalServerError: no space left on the device of the job store" in message
            filler = data / "filler"
            with contextlib.suppress(OSError), open(filler, "wb") as f:
                for _ in range(SMALL_DISK_MB * 16):  # whatever room is left
                    f.write(b"\0" * 65536)
                    f.flush()
            assert os.statvfs(data).f_bavail * os.statvfs(data).f_frsize < 65536
        for _ in range(20):  # reads take no write transaction
            page = rek.get_person_tracking(JobId=job)
            assert page["JobStatus"] == "FAILED" and page["StatusMessage"] == message
        with pytest.raises(rek.exceptions.ResourceNotFoundException):
            rek.get_person_tracking(JobId="0" * 64)
    finally:
        returncode, err = server.stop()
    assert returncode == 0, err[-3000:]
