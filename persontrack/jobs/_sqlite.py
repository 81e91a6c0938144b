"""The SQLite file of the job store: its schema, connections, transactions and errors.

One file (``jobs.sqlite3`` in the data directory) in WAL mode, shared by the client, any
number of other clients (other notebooks, the CLI) and the worker processes. Every
state change that must be atomic runs in a ``BEGIN IMMEDIATE`` transaction
(:meth:`SqliteStore._write`), retried with backoff while another connection holds the write
lock; SQLite's failures are reported as Rekognition errors naming the file
(:func:`_sqlite_errors`).

:class:`SqliteStore` is the base of :class:`~persontrack.jobs._store.JobStore`, whose
sections (jobs; workers in :mod:`._store_workers`; results in :mod:`._store_results`) build
on these calls.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import sqlite3
import stat
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from ..errors import (
    InternalServerError,
    PersonTrackError,
    ProvisionedThroughputExceededException,
)
from ._private import FILE_MODE, make_private

T = TypeVar("T")

DB_FILE = "jobs.sqlite3"
SCHEMA_VERSION = 3
ACTIVE_STATES = ("QUEUED", "RUNNING")
STREAM_KIND = "stream"
"""``source["kind"]`` of a live stream's job, run by the process tracking the stream."""
MMAP_BYTES = 4 * 1024**3
"""Bytes of the store file SQLite may memory-map (address space, not memory)."""
CACHE_KIB = 32 * 1024
"""SQLite page cache per connection, KiB."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_key INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL UNIQUE,
    client_token TEXT UNIQUE,
    request_hash TEXT NOT NULL,
    request TEXT NOT NULL,
    state TEXT NOT NULL,
    status_message TEXT,
    job_tag TEXT,
    video TEXT NOT NULL,
    source TEXT NOT NULL,
    notification TEXT,
    config TEXT NOT NULL,
    video_metadata TEXT,
    settings TEXT,
    versions TEXT,
    progress REAL NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    worker_id TEXT,
    worker_pid INTEGER,
    heartbeat REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    generation INTEGER NOT NULL DEFAULT 0,
    result_count INTEGER,
    notified_at REAL,
    notify_error TEXT
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state, job_key);
CREATE TABLE IF NOT EXISTS results (
    job_key INTEGER NOT NULL,
    ts_rank INTEGER NOT NULL,
    idx_rank INTEGER,
    person TEXT NOT NULL,
    row TEXT NOT NULL,
    person_index INTEGER,
    sort_conf REAL,
    ts INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS results_ts ON results(job_key, ts_rank);
CREATE UNIQUE INDEX IF NOT EXISTS results_idx ON results(job_key, idx_rank);
CREATE TABLE IF NOT EXISTS results_by_index (
    job_key INTEGER NOT NULL,
    idx_rank INTEGER NOT NULL,
    person TEXT NOT NULL,
    PRIMARY KEY (job_key, idx_rank)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS workers (
    worker_id TEXT PRIMARY KEY,
    pid INTEGER,
    started_at REAL NOT NULL,
    heartbeat REAL NOT NULL,
    job_key INTEGER
);
"""

_JSON_COLUMNS = (
    "request",
    "video",
    "source",
    "notification",
    "config",
    "video_metadata",
    "settings",
    "versions",
)


WORKER_BUSY_TIMEOUT = 300.0
"""Seconds a store call waits for the write lock by default (workers): a worker outwaits
any contention rather than dying mid-registration or mid-claim. Clients pass their own
``busy_timeout`` (30 s by default)."""
BUSY_SLICE = 1.0
"""Seconds SQLite's own busy handler waits per attempt before our backoff retries."""
BACKOFF_FIRST, BACKOFF_MAX = 0.01, 0.5
"""First and longest pause between attempts (doubling, with +-50 % jitter)."""


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc)
    return "locked" in text or "busy" in text


def _is_full(exc: sqlite3.Error) -> bool:
    """SQLITE_FULL: the disk (or the file size limit) has no room for what was written."""
    return getattr(exc, "sqlite_errorcode", None) == 13 or "disk is full" in str(exc)


def disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` (a store error) comes from a full disk."""
    cause = exc.__cause__
    return isinstance(cause, sqlite3.Error) and _is_full(cause)


@contextlib.contextmanager
def _sqlite_errors(deadline: float | None = None, path: Path | None = None) -> Iterator[None]:
    """Report SQLite failures as Rekognition errors (naming the store file ``path``)."""
    where = "" if path is None else f" {path}"
    try:
        yield
    except PersonTrackError:
        raise
    except sqlite3.OperationalError as exc:
        text = str(exc)
        if _is_busy(exc):
            waited = "" if deadline is None else f" for {deadline:g} s"
            raise ProvisionedThroughputExceededException(
                f"the job store{where} stayed busy{waited} ({text}); retry the request"
            ) from exc
        if _is_full(exc):
            raise InternalServerError(
                f"no space left on the device of the job store{where} ({text}); free space "
                "there and start the job again"
            ) from exc
        raise InternalServerError(f"job store{where} error: {text}") from exc
    except sqlite3.DatabaseError as exc:
        raise InternalServerError(f"job store{where} error: {exc}") from exc


class SqliteStore:
    """The store file and this thread's connection to it; safe to share between threads.

    The base of :class:`~persontrack.jobs._store.JobStore` (the class to use; its
    docstring gives the parameters).
    """

    def __init__(self, path: str | Path, *, busy_timeout: float = WORKER_BUSY_TIMEOUT) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self._local = threading.local()
        self._identity: tuple[int, int] | None = None
        with _sqlite_errors(busy_timeout, self.path):
            self._create()
            _private_files(self.path)
            self._retrying(self._init_schema)
            st = os.stat(self.path)
            self._identity = (st.st_dev, st.st_ino)

    def _create(self) -> None:
        """Make the store file, schema included, in one step when it is absent, so that an
        empty file is never a store being made: it is one truncated (refused by
        :meth:`_check_file`), not silently a new store without its jobs."""
        if not self.path.exists():
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{uuid.uuid4().hex}")
            try:
                # 0600 before SQLite opens it: its -wal and -shm take the store's mode
                os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
                conn = sqlite3.connect(tmp, isolation_level=None)
                try:
                    conn.execute("PRAGMA journal_mode=WAL")
                    conn.executescript(_SCHEMA + f"PRAGMA user_version = {SCHEMA_VERSION};")
                finally:
                    conn.close()
                with contextlib.suppress(FileExistsError):  # another process made it first
                    os.link(tmp, self.path)
            except OSError:
                pass  # no hard links here: SQLite makes the file (and _init_schema its tables)
            finally:
                for leftover in (tmp, tmp.with_name(tmp.name + "-wal")):
                    with contextlib.suppress(OSError):
                        leftover.unlink()
        self._check_file()

    def _init_schema(self) -> None:
        conn = self._conn()
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version == 0:
            conn.executescript(_SCHEMA + f"PRAGMA user_version = {SCHEMA_VERSION};")
        elif version == 1:
            # version 2 ranks SortBy=INDEX in SQL once a job's last rows are written
            conn.executescript(
                "BEGIN IMMEDIATE;"
                "ALTER TABLE results RENAME TO results_v1;"
                "DROP INDEX results_ts; DROP INDEX results_idx;"
                + _SCHEMA
                + "INSERT INTO results (job_key, ts_rank, idx_rank, person, row) "
                "SELECT job_key, ts_rank, idx_rank, person, row FROM results_v1;"
                "DROP TABLE results_v1;"
                f"PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
            )
        elif version == 2:
            # version 3 adds results_by_index; jobs finished before have no copy (see page)
            conn.executescript(
                "BEGIN IMMEDIATE;" + _SCHEMA + f"PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
            )
        elif version > SCHEMA_VERSION:
            raise InternalServerError(
                f"job store {self.path} has schema {version}; this persontrack reads "
                f"up to {SCHEMA_VERSION} (upgrade persontrack)"
            )

    # -- connections and transactions ---------------------------------------------------

    def _retrying(self, fn: Callable[[], T]) -> T:
        """Call ``fn`` until it does not meet a busy store or the deadline passes."""
        deadline = time.monotonic() + self.busy_timeout
        pause = BACKOFF_FIRST
        while True:
            try:
                return fn()
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() + pause > deadline:
                    raise
            time.sleep(pause * random.uniform(0.5, 1.5))
            pause = min(pause * 2, BACKOFF_MAX)

    def _check_file(self) -> None:
        """InternalServerError when the store file was deleted, replaced or emptied."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            if self._identity is None:
                return  # being made (where os.link is not available)
            raise InternalServerError(
                f"the job store {self.path} was deleted while in use (was the data directory "
                "removed?); nothing was written. Create a new client to start a new store."
            ) from None
        except OSError as exc:
            raise InternalServerError(f"the job store {self.path} cannot be read: {exc}") from None
        if st.st_size == 0 and stat.S_ISREG(st.st_mode):
            raise InternalServerError(
                f"the job store {self.path} is empty (0 bytes): it was truncated, so its jobs "
                "are lost; restore it from a backup, or move it away to start a new store"
            )
        if self._identity is None:
            return
        if (st.st_dev, st.st_ino) != self._identity:
            raise InternalServerError(
                f"the job store {self.path} was replaced by another file while in use (the "
                "data directory was deleted and made again?); nothing was written. Create a "
                "new client to use the new store."
            )

    def _conn(self) -> sqlite3.Connection:
        self._check_file()
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path,
                timeout=min(self.busy_timeout, BUSY_SLICE),
                isolation_level=None,
                check_same_thread=True,
            )
            try:
                conn.row_factory = sqlite3.Row
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                # Pages of SortBy=INDEX read rows scattered over the table: map the file and
                # keep a larger page cache so they cost memory reads, not system calls.
                conn.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
                conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
            except BaseException:
                conn.close()
                raise
            self._local.conn = conn
        return conn

    def _begin(self) -> sqlite3.Connection:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        return conn

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with _sqlite_errors(self.busy_timeout, self.path):
            conn = self._retrying(self._begin)
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                # also after a failed COMMIT: an open transaction would make every later
                # BEGIN on this connection fail
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _read(self, sql: str, args: Iterable[Any] = ()) -> list[sqlite3.Row]:
        values = tuple(args)
        with _sqlite_errors(self.busy_timeout, self.path):
            return self._retrying(lambda: self._conn().execute(sql, values).fetchall())

    def _column(self, sql: str, args: Iterable[Any] = ()) -> list[Any]:
        """The first column of a query's rows, without building a ``sqlite3.Row`` per row
        (a third of the time of reading a page of 1000 stored Persons)."""
        values = tuple(args)

        def fetch() -> list[Any]:
            cursor = self._conn().cursor()
            cursor.row_factory = None
            return [r[0] for r in cursor.execute(sql, values)]

        with _sqlite_errors(self.busy_timeout, self.path):
            return self._retrying(fetch)

    def close(self) -> None:
        """Close this thread's connection."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def _private_files(path: Path) -> None:
    """The store file and its WAL and shared memory: 0600 (also a store made by an older
    persontrack, or by SQLite where hard links are missing, see :meth:`JobStore._create`).

    SQLite gives ``-wal`` and ``-shm`` the mode of the store file, so a store file made
    0600 keeps all three private whatever the umask.
    """
    for name in (path.name, path.name + "-wal", path.name + "-shm"):
        make_private(path.with_name(name), FILE_MODE)


def _drop_results(conn: sqlite3.Connection, job_key: int) -> None:
    """Delete a job's result rows and their INDEX-order copy."""
    conn.execute("DELETE FROM results WHERE job_key = ?", (job_key,))
    conn.execute("DELETE FROM results_by_index WHERE job_key = ?", (job_key,))


def _dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def _decode(row: sqlite3.Row) -> dict[str, Any]:
    out = dict(row)
    for col in _JSON_COLUMNS:
        if out.get(col) is not None:
            out[col] = json.loads(out[col])
    return out
