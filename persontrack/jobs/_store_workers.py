"""The workers section of the job store: registering, claiming, heartbeats and reaping.

A job runner registers itself (or a placeholder row is reserved for it before it is
spawned), claims the oldest QUEUED job, beats its heartbeat while it runs, and is forgotten
when it has no job left. A reap fails the RUNNING jobs whose process died or went silent
(a live stream's job has no ``workers`` row: its own ``worker_pid`` and heartbeat are
checked) and forgets dead workers.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
import uuid
from typing import Any

from ._sqlite import STREAM_KIND, SqliteStore, _decode, _drop_results, _sqlite_errors


def pid_alive(pid: int | None) -> bool:
    """Whether process ``pid`` exists and is not a zombie (reaping our own dead children)."""
    if not pid or pid <= 0:
        return False
    with contextlib.suppress(ChildProcessError, OSError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
        return state not in (b"Z", b"X")
    except (OSError, IndexError):
        return True


class WorkerStore(SqliteStore):
    """The workers section of :class:`~persontrack.jobs._store.JobStore`."""

    def register_worker(self, worker_id: str, pid: int) -> None:
        """Fill in the pid of a spawned worker (or register one started by hand)."""
        now = time.time()
        with self._write() as conn:
            conn.execute(
                "INSERT INTO workers (worker_id, pid, started_at, heartbeat) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(worker_id) DO UPDATE SET pid = excluded.pid, "
                "heartbeat = excluded.heartbeat",
                (worker_id, pid, now, now),
            )

    def remove_worker(self, worker_id: str) -> None:
        """Forget a worker (it failed to start)."""
        with self._write() as conn:
            conn.execute("DELETE FROM workers WHERE worker_id = ?", (worker_id,))

    def reserve_workers(self, max_workers: int) -> list[str]:
        """Register placeholder workers for jobs waiting without one; return their ids.

        The caller must start one worker process per returned id.
        """
        with self._write() as conn:
            return self._reserve(conn, max_workers)

    def _reserve(self, conn: sqlite3.Connection, max_workers: int) -> list[str]:
        ids = [uuid.uuid4().hex for _ in range(max(0, _workers_wanted(conn, max_workers)))]
        now = time.time()
        conn.executemany(
            "INSERT INTO workers (worker_id, pid, started_at, heartbeat) VALUES (?, NULL, ?, ?)",
            [(i, now, now) for i in ids],
        )
        return ids

    def recover(self, heartbeat_timeout: float, max_workers: int) -> tuple[list[str], list[str]]:
        """:meth:`reap`, then :meth:`reserve_workers`, in one transaction.

        Returns
        -------
        (failed, reserved)
            JobIds marked FAILED, and ids of the workers the caller must start.
        """
        # read first: clients poll this for every unfinished job, and a read-only poll
        # neither contends for the write lock nor fails when the disk is full
        if not self._recovery_due(heartbeat_timeout, max_workers):
            return [], []
        with self._write() as conn:
            failed = self._reap(conn, heartbeat_timeout, time.time())
            return failed, self._reserve(conn, max_workers)

    def live_workers(self) -> list[dict[str, Any]]:
        """Registered workers."""
        return [dict(r) for r in self._read("SELECT * FROM workers")]

    def claim_next(
        self, worker_id: str, pid: int, *, unregister: bool = True
    ) -> dict[str, Any] | None:
        """Mark the oldest QUEUED job RUNNING for this worker and return it.

        When no job is waiting (and ``unregister``: the worker runs no job either) the
        worker is unregistered in the same transaction, so a job queued concurrently
        either is claimed here or sees no worker and starts one.
        """
        now = time.time()
        if not unregister and not self._read("SELECT 1 FROM jobs WHERE state = 'QUEUED' LIMIT 1"):
            return None  # a read: a busy worker polls often
        with self._write() as conn:
            row = conn.execute(
                "SELECT job_key FROM jobs WHERE state = 'QUEUED' ORDER BY job_key LIMIT 1"
            ).fetchone()
            if row is None:
                if unregister:
                    conn.execute("DELETE FROM workers WHERE worker_id = ?", (worker_id,))
                return None
            key = row["job_key"]
            _drop_results(conn, key)
            conn.execute(
                "UPDATE jobs SET state = 'RUNNING', worker_id = ?, worker_pid = ?, "
                "started_at = ?, heartbeat = ?, progress = 0, attempts = attempts + 1 "
                "WHERE job_key = ?",
                (worker_id, pid, now, now, key),
            )
            # an upsert: a live worker once declared dead (stale heartbeat) has lost its row,
            # and without one the next reap would fail this job at once
            conn.execute(
                "INSERT INTO workers (worker_id, pid, started_at, heartbeat, job_key) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT(worker_id) DO UPDATE SET "
                "job_key = excluded.job_key, heartbeat = excluded.heartbeat, pid = excluded.pid",
                (worker_id, pid, now, now, key),
            )
            job = conn.execute("SELECT * FROM jobs WHERE job_key = ?", (key,)).fetchone()
            return _decode(job)

    def heartbeat(self, worker_id: str) -> None:
        """Record that a worker is alive."""
        now = time.time()
        with self._write() as conn:
            conn.execute("UPDATE workers SET heartbeat = ? WHERE worker_id = ?", (now, worker_id))
            conn.execute(
                "UPDATE jobs SET heartbeat = ? WHERE worker_id = ? AND state = 'RUNNING'",
                (now, worker_id),
            )

    def set_progress(self, job_key: int, fraction: float) -> None:
        """Store the fraction done (0–1) of a running job."""
        with self._write() as conn:
            conn.execute(
                "UPDATE jobs SET progress = ? WHERE job_key = ? AND state = 'RUNNING'",
                (min(max(float(fraction), 0.0), 1.0), job_key),
            )

    def reap(self, heartbeat_timeout: float) -> list[str]:
        """Fail RUNNING jobs whose worker died; forget dead workers.

        Returns
        -------
        list of str
            JobIds marked FAILED.
        """
        with self._write() as conn:
            return self._reap(conn, heartbeat_timeout, time.time())

    def _reap(self, conn: sqlite3.Connection, heartbeat_timeout: float, now: float) -> list[str]:
        dead = _dead_workers(conn, heartbeat_timeout, now)
        failed: list[str] = []
        for job_key, job_id, message in _orphaned_jobs(conn, dead, heartbeat_timeout, now):
            self._fail(conn, job_key, message)
            failed.append(job_id)
        for worker_id in dead:
            conn.execute("DELETE FROM workers WHERE worker_id = ?", (worker_id,))
        return failed

    def _recovery_due(self, heartbeat_timeout: float, max_workers: int) -> bool:
        """Whether :meth:`recover` has anything to write (found by reading only)."""

        def due() -> bool:
            conn, now = self._conn(), time.time()
            dead = _dead_workers(conn, heartbeat_timeout, now)
            if dead or _orphaned_jobs(conn, dead, heartbeat_timeout, now):
                return True
            return _workers_wanted(conn, max_workers) > 0

        with _sqlite_errors(self.busy_timeout, self.path):
            return self._retrying(due)

    def _fail(self, conn: sqlite3.Connection, job_key: int, message: str) -> None:
        _drop_results(conn, job_key)
        conn.execute(
            "UPDATE jobs SET state = 'FAILED', status_message = ?, finished_at = ?, "
            "generation = generation + 1 WHERE job_key = ?",
            (message, time.time(), job_key),
        )


def _workers_wanted(conn: sqlite3.Connection, max_workers: int) -> int:
    """Workers to start for the jobs waiting (idle or starting ones claim jobs themselves)."""
    queued = conn.execute("SELECT COUNT(*) FROM jobs WHERE state = 'QUEUED'").fetchone()[0]
    workers, idle = conn.execute(
        "SELECT COUNT(*), COUNT(*) - COUNT(job_key) FROM workers"
    ).fetchone()
    return int(min(queued - idle, max_workers - workers))


def _dead_workers(conn: sqlite3.Connection, heartbeat_timeout: float, now: float) -> dict[str, str]:
    """Why each registered worker that has died or gone silent counts as dead."""
    dead: dict[str, str] = {}
    for w in conn.execute("SELECT worker_id, pid, started_at, heartbeat FROM workers"):
        if w["pid"] is None:
            # spawned but not yet registered; give it time to start its interpreter
            if now - w["started_at"] > heartbeat_timeout:
                dead[w["worker_id"]] = "worker process never started"
        elif not pid_alive(w["pid"]):
            dead[w["worker_id"]] = f"worker process {w['pid']} died"
        elif now - w["heartbeat"] > heartbeat_timeout:
            dead[w["worker_id"]] = (
                f"worker process {w['pid']} stopped responding "
                f"(no heartbeat for {now - w['heartbeat']:.0f} s)"
            )
    return dead


def _orphaned_jobs(
    conn: sqlite3.Connection, dead: dict[str, str], heartbeat_timeout: float, now: float
) -> list[tuple[int, str, str]]:
    """(job_key, JobId, StatusMessage) of the RUNNING jobs whose process is gone."""
    orphaned = []
    for job in conn.execute(
        "SELECT job_key, job_id, worker_id, worker_pid, source, heartbeat FROM jobs "
        "WHERE state = 'RUNNING'"
    ).fetchall():
        if json.loads(job["source"]).get("kind") == STREAM_KIND:
            reason = _stream_gone(job["worker_pid"], job["heartbeat"], heartbeat_timeout, now)
            if reason is not None:
                orphaned.append((job["job_key"], job["job_id"], f"Job failed: {reason}"))
            continue
        reason = dead.get(job["worker_id"])
        if reason is None:
            known = conn.execute(
                "SELECT 1 FROM workers WHERE worker_id = ?", (job["worker_id"],)
            ).fetchone()
            if known is None:
                reason = f"worker process {job['worker_pid']} died"
        if reason is not None:
            message = f"Job failed: {reason} while processing the video"
            orphaned.append((job["job_key"], job["job_id"], message))
    return orphaned


def _stream_gone(
    pid: int | None, heartbeat: float | None, timeout: float, now: float
) -> str | None:
    """Why a stream job's tracking process counts as gone, or None while it is alive."""
    if not pid_alive(pid):
        return f"the process {pid} tracking the stream ended without stopping it"
    if heartbeat is None or now - heartbeat > timeout:
        return f"the process {pid} tracking the stream stopped responding"
    return None
