"""Worker supervision for :class:`~persontrack.jobs.client.PersonTrackingClient`: the job
runner processes it starts, and the thread that calls a job's completion callback.

A job runner (``python -m persontrack.jobs._worker``) is a process of its own, in a session
of its own, so it outlives the client that started it: jobs finish even after the
notebook is closed. A client notices a dead runner through the store's heartbeats
(:meth:`JobStore.recover <persontrack.jobs._store.JobStore.recover>`).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from ..errors import InternalServerError
from . import _notify
from ._private import private_dir, private_file
from ._store import ACTIVE_STATES, JobStore

__all__ = ["Notifier", "spawn_runner"]


def spawn_runner(
    data_dir: Path,
    store: JobStore,
    worker_id: str,
    *,
    heartbeat: float,
    max_workers: int,
    scheduler_address: str | None,
) -> subprocess.Popen[bytes]:
    """Start the job runner ``worker_id`` (already registered in ``store``); its output goes
    to ``data_dir/logs/runner.log``. Raises InternalServerError (and unregisters it) when
    the process cannot start."""
    logs = data_dir / "logs"
    env = dict(os.environ)
    package_parent = str(Path(__file__).resolve().parents[2])  # the folder holding persontrack/
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, env.get("PYTHONPATH")) if p)
    try:
        private_dir(logs)
        # one log for all workers (appends of whole lines do not interleave)
        with private_file(logs / "runner.log") as log:
            child = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "persontrack.jobs._worker",
                    "--db",
                    str(store.path),
                    "--worker-id",
                    worker_id,
                    "--workdir",
                    str(data_dir / "tmp"),
                    "--heartbeat",
                    str(heartbeat),
                    "--workers",
                    str(max_workers),
                    *(["--scheduler", scheduler_address] if scheduler_address else []),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=env,
                start_new_session=True,
            )
    except OSError as exc:
        with contextlib.suppress(ClientError):
            store.remove_worker(worker_id)
        raise InternalServerError(f"cannot start a worker process: {exc}") from exc
    return child


class Notifier:
    """Calls each watched job's callback once the job has ended, from one daemon thread
    that polls ``store`` (and fails jobs whose runner stopped beating for
    ``heartbeat_timeout`` seconds); the thread ends when nothing is watched or on
    :meth:`close`."""

    def __init__(self, store: JobStore, heartbeat_timeout: float) -> None:
        self.store, self.heartbeat_timeout = store, heartbeat_timeout
        self._callbacks: dict[str, Callable[[dict[str, Any]], Any]] = {}
        self._callback_lock = threading.Lock()
        self._watcher: threading.Thread | None = None
        self._closed = threading.Event()

    def close(self) -> None:
        """Stop the thread (at its next poll)."""
        self._closed.set()

    def watch(self, job_id: str, callback: Callable[[dict[str, Any]], Any]) -> None:
        with self._callback_lock:
            self._callbacks[job_id] = callback
            if self._watcher is None or not self._watcher.is_alive():
                self._watcher = threading.Thread(
                    target=self._loop, daemon=True, name="persontrack-notify"
                )
                self._watcher.start()

    def _loop(self, poll: float = 0.1) -> None:
        try:
            while not self._closed.wait(poll):
                with self._callback_lock:
                    pending = dict(self._callbacks)
                    if not pending:
                        self._watcher = None
                        return
                for job_id, callback in pending.items():
                    try:
                        job = self.store.get_job(job_id)
                        if job is not None and job["state"] in ACTIVE_STATES:
                            self.store.reap(self.heartbeat_timeout)
                            job = self.store.get_job(job_id)
                    except ClientError:
                        continue  # store busy: look again on the next round
                    if job is not None and job["state"] in ACTIVE_STATES:
                        continue
                    with self._callback_lock:
                        self._callbacks.pop(job_id, None)
                    if job is None:  # deleted meanwhile
                        continue
                    error = _notify.call(callback, _notify.completion_message(job))
                    with contextlib.suppress(ClientError):
                        self.store.record_notification(job["job_key"], error)
        finally:
            self.store.close()  # this thread's connection
