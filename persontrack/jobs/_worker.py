"""Worker processes: claim QUEUED jobs from the store, track the video, store the results.

A worker is a fresh Python interpreter (``python -m persontrack.jobs._worker``), started in its
own session by the client that queues a job, so it neither inherits the client's threads
(MediaPipe does not survive ``fork`` with threads) nor dies with the notebook kernel or
the ``persontrack start`` command. It takes jobs one by one until none is waiting, then
unregisters and exits; a heartbeat thread tells clients it is alive. A worker killed
mid-job is noticed by the next client call (pid gone or heartbeat stale) and its job is
marked FAILED with a StatusMessage.

The tracking function is ``persontrack.pipeline:track_video`` unless the job's config
names another ``"module:function"`` or ``"/path/file.py:function"`` with the same
signature (used by tests of the store and of concurrency).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import math
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import PersonTrackError
from . import _notify
from ._storage import check_limits, open_source, probe_duration
from ._store import JobStore

DEFAULT_TRACKER = "persontrack.pipeline:track_video"
HEARTBEAT_INTERVAL = 2.0
"""Seconds between a worker's heartbeats."""
PROGRESS_INTERVAL = 0.5
"""Least seconds between two progress writes."""


def load_callable(spec: str) -> Callable[..., Any]:
    """Import ``"package.module:function"`` or ``"/path/to/file.py:function"``."""
    module_name, _, attr = spec.rpartition(":")
    if not module_name or not attr:
        raise ValueError(f"tracker {spec!r} is not 'module:function'")
    if module_name.endswith(".py"):
        file_spec = importlib.util.spec_from_file_location(Path(module_name).stem, module_name)
        if file_spec is None or file_spec.loader is None:
            raise ImportError(f"cannot load {module_name}")
        module = importlib.util.module_from_spec(file_spec)
        file_spec.loader.exec_module(module)
    else:
        module = importlib.import_module(module_name)
    fn: Callable[..., Any] = getattr(module, attr)
    return fn


def _rank_orders(df: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows in TIMESTAMP order, and each such row's rank in INDEX order."""
    from ..convert import sort_results

    by_time = sort_results(df, "TIMESTAMP")
    by_index = sort_results(by_time, "INDEX")
    # (Timestamp, Index) is unique in a valid frame: it links the two orders.
    rank = pd.Series(
        np.arange(len(by_index)),
        index=pd.MultiIndex.from_arrays([by_index["Timestamp"], by_index["Index"]]),
    )
    idx_rank = rank.reindex(pd.MultiIndex.from_arrays([by_time["Timestamp"], by_time["Index"]]))
    return by_time, idx_rank.to_numpy(dtype=np.int64)


def _json_rows(df: pd.DataFrame) -> Iterator[str]:
    """Each row as JSON, nulls for NaN/NA, so the DataFrame can be rebuilt exactly."""
    columns = list(df.columns)
    values = []
    for c in columns:
        col = df[c]
        if col.dtype == object:
            values.append(col.tolist())
        else:
            values.append([None if _isnull(v) else v for v in col.astype(object).tolist()])
    for row in zip(*values, strict=True):
        yield json.dumps(dict(zip(columns, row, strict=True)), allow_nan=False, default=_jsonable)


def _isnull(v: Any) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    raise TypeError(f"cannot store {type(v).__name__} in the job store")


def result_rows(frame: pd.DataFrame) -> Iterator[tuple[int, int, str, str]]:
    """``(ts_rank, idx_rank, person_json, row_json)`` for every result row."""
    from ..convert import dataframe_to_persons
    from ..schema import validate_frame

    df = validate_frame(frame, fill_missing=True)
    by_time, idx_rank = _rank_orders(df)
    persons = dataframe_to_persons(by_time)
    for ts_rank, (person, row) in enumerate(zip(persons, _json_rows(by_time), strict=True)):
        yield ts_rank, int(idx_rank[ts_rank]), json.dumps(person, allow_nan=False), row


def failure_message(exc: BaseException) -> str:
    """A StatusMessage that tells the user what went wrong."""
    if isinstance(exc, PersonTrackError):
        return f"{type(exc).__name__}: {exc.message}"
    return f"InternalServerError: {type(exc).__name__}: {exc}"


class _Heartbeat(threading.Thread):
    def __init__(self, store: JobStore, worker_id: str, interval: float) -> None:
        super().__init__(daemon=True, name="persontrack-heartbeat")
        self.store, self.worker_id, self.interval = store, worker_id, interval
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            try:
                self.store.heartbeat(self.worker_id)
            except Exception:  # a busy store delays one beat; the next one retries
                pass


def run_job(store: JobStore, job: dict[str, Any], worker_id: str, workdir: Path) -> bool:
    """Process one claimed job to SUCCEEDED or FAILED; send its notification.

    Returns whether this worker still owned the job when it finished.
    """
    key = job["job_key"]
    config = job["config"]
    last_write = [0.0]

    def progress(fraction: float) -> None:
        now = time.monotonic()
        if now - last_write[0] >= PROGRESS_INTERVAL:
            last_write[0] = now
            try:
                store.set_progress(key, fraction)
            except Exception:
                pass

    try:
        tracker = load_callable(config.get("tracker") or DEFAULT_TRACKER)
        with open_source(job["source"], workdir) as path:
            # S3 videos get their duration checked only now that they are downloaded
            s3 = job["video"]["S3Object"]
            name = f"s3://{s3['Bucket']}/{s3['Name']}"
            check_limits(path.stat().st_size, probe_duration(path), name=name)
            result = tracker(str(path), config.get("settings"), progress=progress)
        count = store.add_results(key, result_rows(result.frame))
        metadata = result.metadata
        meta = metadata.to_dict() if hasattr(metadata, "to_dict") else dict(metadata)
        owned = store.finish(
            key,
            worker_id,
            state="SUCCEEDED",
            result_count=count,
            video_metadata=meta,
            settings=dict(result.settings),
            versions=dict(result.versions),
        )
    except Exception as exc:
        owned = store.finish(key, worker_id, state="FAILED", status_message=failure_message(exc))
    if owned:
        notify(store, key)
    return owned


def notify(store: JobStore, job_key: int) -> None:
    """Send a finished job's SNS or webhook notice and record the outcome."""
    job = store.get_job_by_key(job_key)
    if job is None or not job.get("notification"):
        return
    channel = job["notification"]
    if channel["kind"] == "callable":
        return
    error = None
    try:
        _notify.send(channel, _notify.completion_message(job))
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
    store.record_notification(job_key, error)


def serve(db: Path, worker_id: str, workdir: Path, heartbeat: float = HEARTBEAT_INTERVAL) -> int:
    """Run jobs until none is waiting; returns how many were processed."""
    store = JobStore(db)
    pid = os.getpid()
    store.register_worker(worker_id, pid)
    beat = _Heartbeat(store, worker_id, heartbeat)
    beat.start()
    done = 0
    try:
        while True:
            job = store.claim_next(worker_id, pid)
            if job is None:
                return done
            run_job(store, job, worker_id, workdir)
            done += 1
    finally:
        beat.stopped.set()


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m persontrack.jobs._worker``."""
    parser = argparse.ArgumentParser(prog="python -m persontrack.jobs._worker")
    parser.add_argument("--db", required=True, type=Path)
    parser.add_argument("--worker-id", required=True)
    parser.add_argument("--workdir", required=True, type=Path)
    parser.add_argument("--heartbeat", type=float, default=HEARTBEAT_INTERVAL)
    args = parser.parse_args(argv)
    serve(args.db, args.worker_id, args.workdir, args.heartbeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
