"""The SQLite job store: jobs, idempotency tokens, workers, progress and result rows.

One file (``jobs.sqlite3`` in the data directory) in WAL mode, shared by the client, any
number of other clients (other notebooks, the CLI) and the worker processes. Every
state change that must be atomic runs in a ``BEGIN IMMEDIATE`` transaction, so concurrent
``StartPersonTracking`` calls with one ClientRequestToken agree on one JobId and the job
limit holds across processes.

Result rows are stored once per person per timestamp with their rank in both sort orders
(``ts_rank`` for SortBy=TIMESTAMP, ``idx_rank`` for SortBy=INDEX) and the PersonDetection
JSON ready to serve, so one page of GetPersonTracking is one indexed range query. The
``results`` table lies in TIMESTAMP order (workers write rows in that order), so a page in it
reads a few neighbouring pages of the file; for SortBy=INDEX, :meth:`JobStore.finish`
copies a SUCCEEDED job's PersonDetection JSON in INDEX order into ``results_by_index`` (a
table clustered on ``(job_key, idx_rank)``), so that order reads neighbouring pages too
instead of 1000 rows scattered over the job (a 1,000,000-row job of
``benchmarks/serve_paging.py``: the server's CPU per INDEX page of 1000 from ~5 to ~2.5 ms,
as cheap as a TIMESTAMP page; the store from 1.13 to 1.53 GB). Jobs finished before schema 3
have no copy and are paged from ``results`` as before.

Store keys (``job_key``) are never reused (AUTOINCREMENT), so nothing keyed by a deleted
job can be taken for a later one; NextTokens are moreover signed with the JobId.

Internal states are QUEUED, RUNNING, SUCCEEDED and FAILED; the API shows QUEUED and RUNNING
as IN_PROGRESS.

A live stream's job (``source["kind"] == "stream"``, :mod:`persontrack.jobs.live`) is
inserted RUNNING and written by the process tracking the stream, not by a job runner: it has
no ``workers`` row, and a reap fails it when that process (``worker_pid``) has died or its
heartbeat (``jobs.heartbeat``) is stale. No column was added for it.

:class:`JobStore` is written in sections: the file, its connections, transactions and
error mapping in :mod:`._sqlite` (:class:`~._sqlite.SqliteStore`); workers (claim,
heartbeat, reap, recover) in :mod:`._store_workers`; result rows (add, append, finish,
pages) in :mod:`._store_results`; the jobs themselves here.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from typing import Any

from ..errors import (
    IdempotentParameterMismatchException,
    InvalidParameterException,
    LimitExceededException,
)
from ._sqlite import (
    ACTIVE_STATES,
    DB_FILE,
    SCHEMA_VERSION,
    STREAM_KIND,
    WORKER_BUSY_TIMEOUT,
    SqliteStore,
    _decode,
    _drop_results,
    _sqlite_errors,
    disk_full,
)
from ._store_results import (  # the page SQL: tests and benchmarks read it from here
    _HAS_INDEX_COPY,  # noqa: F401
    _JOINED,  # noqa: F401
    _PAGE_BY_INDEX,  # noqa: F401
    _PAGE_BY_INDEX_UNCOPIED,  # noqa: F401
    _PAGE_BY_TIMESTAMP,  # noqa: F401
    JobLostError,
    ResultStore,
)
from ._store_workers import WorkerStore, pid_alive

__all__ = [
    "ACTIVE_STATES",
    "DB_FILE",
    "SCHEMA_VERSION",
    "STREAM_KIND",
    "WORKER_BUSY_TIMEOUT",
    "JobLostError",
    "JobStore",
    "SqliteStore",
    "disk_full",
    "pid_alive",
]


class JobStore(WorkerStore, ResultStore):
    """Access to the SQLite job store; safe to share between threads.

    Every call that meets a store locked by another connection ("database is locked")
    is retried with exponential backoff until ``busy_timeout`` seconds have passed, and
    only then fails with ProvisionedThroughputExceededException. A store file deleted or
    replaced while this object is in use (its data directory removed) is
    InternalServerError, never a silently private copy.

    Parameters
    ----------
    path : str or Path
        The database file (created with its schema when absent).
    busy_timeout : float, default 300
        Seconds to wait for other writers before a call fails with
        ProvisionedThroughputExceededException (see :data:`WORKER_BUSY_TIMEOUT`).
    """

    # -- jobs ---------------------------------------------------------------------------

    def create_job(
        self,
        *,
        job_id: str,
        client_token: str | None,
        request_hash: str,
        request: dict[str, Any],
        source: dict[str, Any],
        notification: dict[str, Any] | None,
        config: dict[str, Any],
        max_jobs: int,
        max_workers: int,
        worker_id: str,
        heartbeat_timeout: float,
    ) -> tuple[str, bool, bool]:
        """Insert a QUEUED job, honouring the idempotency token and the job limit.

        Returns
        -------
        (job_id, created, spawn)
            The job's id (an earlier one when the token was used before), whether a new
            job was inserted, and whether the caller must start worker ``worker_id``
            (a placeholder row for it is already registered).
        """
        now = time.time()
        with self._write() as conn:
            if client_token is not None:
                row = conn.execute(
                    "SELECT job_id, request_hash FROM jobs WHERE client_token = ?",
                    (client_token,),
                ).fetchone()
                if row is not None:
                    if row["request_hash"] != request_hash:
                        raise IdempotentParameterMismatchException(
                            f"ClientRequestToken {client_token!r} was already used for job "
                            f"{row['job_id']} with different parameters",
                            "StartPersonTracking",
                        )
                    return row["job_id"], False, False
            self._reap(conn, heartbeat_timeout, now)
            _check_job_limit(conn, max_jobs)
            video = request["Video"]
            conn.execute(
                "INSERT INTO jobs (job_id, client_token, request_hash, request, state, job_tag, "
                "video, source, notification, config, created_at) "
                "VALUES (?, ?, ?, ?, 'QUEUED', ?, ?, ?, ?, ?, ?)",
                (
                    job_id,
                    client_token,
                    request_hash,
                    json.dumps(request),
                    request.get("JobTag"),
                    json.dumps(video),
                    json.dumps(source),
                    None if notification is None else json.dumps(notification),
                    json.dumps(config),
                    now,
                ),
            )
            workers = conn.execute("SELECT COUNT(*) FROM workers").fetchone()[0]
            spawn = workers < max_workers
            if spawn:
                conn.execute(
                    "INSERT INTO workers (worker_id, pid, started_at, heartbeat) "
                    "VALUES (?, NULL, ?, ?)",
                    (worker_id, now, now),
                )
            return job_id, True, spawn

    def create_stream_job(
        self,
        *,
        job_id: str,
        request: dict[str, Any],
        source: dict[str, Any],
        config: dict[str, Any],
        worker_id: str,
        pid: int,
        max_jobs: int,
        heartbeat_timeout: float,
    ) -> int:
        """Insert the RUNNING job of a live stream tracked by process ``pid``; its store key.

        No job runner claims it: the process tracking the stream writes its rows
        (:meth:`append_stream`), beats its heartbeat (:meth:`heartbeat` with ``worker_id``)
        and finishes it (:meth:`finish`). A reap fails it when that process has died or
        stopped beating. ``source["kind"]`` must be :data:`STREAM_KIND`.
        """
        if source.get("kind") != STREAM_KIND:
            raise InvalidParameterException(f"a stream job's source kind is {STREAM_KIND!r}")
        now = time.time()
        with self._write() as conn:
            self._reap(conn, heartbeat_timeout, now)
            _check_job_limit(conn, max_jobs)
            text = json.dumps(request, sort_keys=True)
            cursor = conn.execute(
                "INSERT INTO jobs (job_id, request_hash, request, state, job_tag, video, source, "
                "config, created_at, started_at, worker_id, worker_pid, heartbeat, attempts) "
                "VALUES (?, ?, ?, 'RUNNING', ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
                (
                    job_id,
                    hashlib.sha256(text.encode()).hexdigest(),
                    text,
                    request.get("JobTag"),
                    json.dumps(request["Video"]),
                    json.dumps(source),
                    json.dumps(config),
                    now,
                    now,
                    worker_id,
                    pid,
                    now,
                ),
            )
            assert cursor.lastrowid is not None
            return int(cursor.lastrowid)

    def get_job(self, job_id: str) -> dict[str, Any] | None:
        """The job's row as a dict (JSON columns decoded), or None."""
        rows = self._read("SELECT * FROM jobs WHERE job_id = ?", (job_id,))
        return _decode(rows[0]) if rows else None

    def get_job_by_token(self, client_token: str) -> dict[str, Any] | None:
        """The job started with this ClientRequestToken, or None."""
        rows = self._read("SELECT * FROM jobs WHERE client_token = ?", (client_token,))
        return _decode(rows[0]) if rows else None

    def get_job_by_key(self, job_key: int) -> dict[str, Any] | None:
        """Like :meth:`get_job`, by the integer store key."""
        rows = self._read("SELECT * FROM jobs WHERE job_key = ?", (job_key,))
        return _decode(rows[0]) if rows else None

    def list_jobs(self) -> list[dict[str, Any]]:
        """Every job, oldest first, without result rows."""
        return [_decode(r) for r in self._read("SELECT * FROM jobs ORDER BY job_key")]

    def active_count(self) -> int:
        """Jobs QUEUED or RUNNING."""
        return int(
            self._read("SELECT COUNT(*) FROM jobs WHERE state IN ('QUEUED', 'RUNNING')")[0][0]
        )

    def delete_job(self, job_id: str) -> bool:
        """Remove a finished job and its results; False when it does not exist.

        Nothing of the job stays in the store's files afterwards (:meth:`scrub`).
        """
        with self._write() as conn:
            row = conn.execute(
                "SELECT job_key, state FROM jobs WHERE job_id = ?", (job_id,)
            ).fetchone()
            if row is None:
                return False
            if row["state"] in ACTIVE_STATES:
                raise InvalidParameterException(
                    f"job {job_id} is still IN_PROGRESS; delete it once it has finished"
                )
            _drop_results(conn, row["job_key"])
            conn.execute("DELETE FROM jobs WHERE job_key = ?", (row["job_key"],))
        self.scrub()
        return True

    def purge_jobs(self, older_than: float) -> list[str]:
        """Delete (as :meth:`delete_job`) every finished job that ended more than
        ``older_than`` seconds ago; their JobIds, oldest first."""
        cutoff = time.time() - older_than
        with self._write() as conn:
            rows = conn.execute(
                "SELECT job_key, job_id FROM jobs WHERE state IN ('SUCCEEDED', 'FAILED') "
                "AND coalesce(finished_at, created_at) < ? ORDER BY job_key",
                (cutoff,),
            ).fetchall()
            for row in rows:
                _drop_results(conn, row["job_key"])
                conn.execute("DELETE FROM jobs WHERE job_key = ?", (row["job_key"],))
        if rows:
            self.scrub()
        return [row["job_id"] for row in rows]

    def scrub(self) -> None:
        """Rewrite the store file without the bytes of deleted rows; empty the WAL.

        ``VACUUM`` rebuilds every page: SQLite's ``secure_delete`` alone was measured to
        leave a deleted job's rows in the unused space of live pages (moved there when
        deleting rebalances the table). It holds the write lock for about the time of
        copying the store once. The checkpoint then copies the WAL into the file and
        truncates it, waiting (up to ``busy_timeout``) for readers of older snapshots:
        no earlier image of any page is left in ``jobs.sqlite3-wal``.
        """

        def vacuum() -> None:
            self._conn().execute("VACUUM")

        def checkpoint() -> None:
            busy = self._conn().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            if busy:
                raise sqlite3.OperationalError("database is busy: the WAL is still being read")

        with _sqlite_errors(self.busy_timeout):
            self._retrying(vacuum)
            self._retrying(checkpoint)

    def discard_job(self, job_id: str, worker_id: str | None = None) -> None:
        """Undo :meth:`create_job` of a job no worker has claimed (its start failed)."""
        with self._write() as conn:
            conn.execute("DELETE FROM jobs WHERE job_id = ? AND state = 'QUEUED'", (job_id,))
            if worker_id is not None:
                conn.execute(
                    "DELETE FROM workers WHERE worker_id = ? AND pid IS NULL", (worker_id,)
                )

    def record_notification(self, job_key: int, error: str | None) -> None:
        """Remember that the completion message was sent (or why it was not)."""
        with self._write() as conn:
            conn.execute(
                "UPDATE jobs SET notified_at = ?, notify_error = ? WHERE job_key = ?",
                (time.time(), error, job_key),
            )


def _check_job_limit(conn: sqlite3.Connection, max_jobs: int) -> None:
    """LimitExceededException when ``max_jobs`` jobs are already running or waiting."""
    active = conn.execute(
        "SELECT COUNT(*) FROM jobs WHERE state IN ('QUEUED', 'RUNNING')"
    ).fetchone()[0]
    if active >= max_jobs:
        raise LimitExceededException(
            f"{active} jobs are running or waiting (the limit is {max_jobs}); "
            "wait for one to finish",
            "StartPersonTracking",
        )
