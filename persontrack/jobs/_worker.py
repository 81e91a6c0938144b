"""The job runner: claims QUEUED jobs from the store and runs them on a Dask cluster.

One runner per job store, a fresh Python interpreter (``python -m persontrack.jobs._worker``)
started in its own session by the client that queues a job, so it neither inherits the
client's threads nor dies with the notebook kernel or the ``persontrack start`` command.
It connects to the Dask scheduler named by ``--scheduler`` or, without one, starts a
``LocalCluster`` of ``--workers`` worker processes (sized to the machine's cores by the
client) on 127.0.0.1. Each claimed job runs in a thread of the runner: its video is cut into
time segments (:mod:`persontrack.segments`), the segments are Dask tasks, and each
segment's stitched rows are written to the store as soon as it is done, so the runner's
memory does not grow with the video. A segment lost with its Dask worker is run again by
Dask elsewhere; the job fails only when its work fails (its StatusMessage says why).

The runner takes jobs until none is waiting or running, then unregisters and exits
(closing its LocalCluster); a heartbeat thread tells clients it is alive. A runner killed
mid-job is noticed by the next client call (pid gone or heartbeat stale) and its jobs are
marked FAILED with a StatusMessage: a job never stays IN_PROGRESS without work behind it.

The tracking function is ``persontrack.pipeline:track_video`` unless the job's config
names another ``"module:function"`` or ``"/path/file.py:function"`` with the same
signature (used by tests of the store and of concurrency). Functions that take
``start_ms``/``end_ms`` are run in segments; others on the whole video in one task.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import PersonTrackError
from ..io.video import probe_duration
from ..schema import landmarks_as_list
from ..segments import (
    DEFAULT_OVERLAP_SECONDS,
    DEFAULT_SEGMENT_SECONDS,
    dask_client,
    load_callable,
    overlap_for,
    plan_segments,
    supports_segments,
    track_segments,
)
from . import _notify
from ._private import private_dir, private_file
from ._storage import check_limits, check_version, file_version, open_source
from ._store import JobLostError, JobStore

DEFAULT_TRACKER = "persontrack.pipeline:track_video"
HEARTBEAT_INTERVAL = 2.0
"""Seconds between a runner's heartbeats."""
PROGRESS_INTERVAL = 0.5
"""Least seconds between two progress writes."""
POLL_INTERVAL = 0.2
"""Seconds between two looks for new jobs while jobs run."""
CONNECT_TIMEOUT = 10
"""Seconds to reach a Dask scheduler before the job fails (it answers in well under 1 s)."""
CLUSTER_FILE = "dask.json"
"""File in the data directory naming the runner's Dask scheduler and dashboard."""

__all__ = [
    "CLUSTER_FILE",
    "DEFAULT_TRACKER",
    "HEARTBEAT_INTERVAL",
    "chunk_rows",
    "failure_message",
    "load_callable",
    "notify",
    "result_rows",
    "run_job",
    "serve",
]


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
        return landmarks_as_list(v)
    raise TypeError(f"cannot store {type(v).__name__} in the job store")


def result_rows(frame: pd.DataFrame) -> Iterator[tuple[int, int, str, str]]:
    """``(ts_rank, idx_rank, person_json, row_json)`` for every row of a whole result."""
    from ..convert import dataframe_to_persons
    from ..schema import validate_frame

    df = validate_frame(frame, fill_missing=True)
    by_time, idx_rank = _rank_orders(df)
    persons = dataframe_to_persons(by_time)
    for ts_rank, (person, row) in enumerate(zip(persons, _json_rows(by_time), strict=True)):
        yield (
            ts_rank,
            int(idx_rank[ts_rank]),
            json.dumps(person, allow_nan=False, separators=(",", ":")),
            row,
        )


def chunk_rows(
    frame: pd.DataFrame, first_rank: int
) -> list[tuple[int, int, float | None, int, str, str]]:
    """Store rows of one stitched chunk (TIMESTAMP order) for :meth:`JobStore.add_chunk`.

    Returns
    -------
    list of (ts_rank, Index, sort confidence, Timestamp, person_json, row_json)
    """
    from ..convert import dataframe_to_persons, sort_results
    from ..schema import validate_frame

    df = sort_results(validate_frame(frame, fill_missing=True), "TIMESTAMP")
    conf = df["Confidence"].fillna(df["FaceConfidence"]).to_numpy(float)
    persons = dataframe_to_persons(df)
    return [
        (
            first_rank + k,
            int(index),
            None if math.isnan(c) else float(c),
            int(ts),
            json.dumps(person, allow_nan=False, separators=(",", ":")),
            row,
        )
        for k, (index, c, ts, person, row) in enumerate(
            zip(df["Index"], conf, df["Timestamp"], persons, _json_rows(df), strict=True)
        )
    ]


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


def run_job(
    store: JobStore, job: dict[str, Any], worker_id: str, workdir: Path, dask_client: Any
) -> bool:
    """Run one claimed job on the cluster to SUCCEEDED or FAILED; send its notification.

    Returns whether this runner still owned the job when it finished.
    """
    key = job["job_key"]
    config = job["config"]
    last_write = [0.0]

    def progress(fraction: float) -> None:
        now = time.monotonic()
        if now - last_write[0] >= PROGRESS_INTERVAL:
            last_write[0] = now
            with contextlib.suppress(Exception):
                store.set_progress(key, fraction)

    try:
        spec = config.get("tracker") or DEFAULT_TRACKER
        with open_source(job["source"], workdir) as path:
            # S3 videos get their duration checked only now that they are downloaded
            s3 = job["video"]["S3Object"]
            name = f"s3://{s3['Bucket']}/{s3['Name']}"
            source = job["source"]
            if source["kind"] == "local":  # each segment and the end check it is unchanged
                source = {**source, "version": file_version(path), "name": name}
            duration = probe_duration(path)
            check_limits(path.stat().st_size, duration, name=name)
            settings = config.get("settings") or {}
            if not supports_segments(load_callable(spec)) or settings.get("max_frames"):
                duration = None  # one task for the whole video
            overlap = config.get("overlap_seconds") or DEFAULT_OVERLAP_SECONDS
            if duration:
                from ..io.video import read_metadata

                overlap = overlap_for(settings, read_metadata(path).FrameRate, overlap)
            segments = plan_segments(
                duration,
                segment_seconds=config.get("segment_seconds") or DEFAULT_SEGMENT_SECONDS,
                overlap_seconds=overlap,
            )
            count, last = 0, None
            for _, rows, part in track_segments(
                dask_client,
                spec,
                str(path),
                config.get("settings"),
                segments,
                # each task opens the video itself (a local one within its bucket root)
                source=source,
                opener=open_source,
                progress=progress,
                name=f"job-{job['job_id'][:12]}",
            ):
                store.add_chunk(key, worker_id, chunk_rows(rows, count))
                count += len(rows)
                last = part
            if "version" in source:
                check_version(path, source["version"], name=name)
        assert last is not None  # there is always one segment
        owned = store.finish(
            key,
            worker_id,
            state="SUCCEEDED",
            result_count=count,
            video_metadata=last.metadata,
            settings=last.settings,
            versions=last.versions,
        )
    except JobLostError:
        owned = False
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


@contextlib.contextmanager
def connect(scheduler: str | None, n_workers: int, cluster_file: Path | None) -> Iterator[Any]:
    """A Dask client of ``scheduler``, or of a LocalCluster of ``n_workers`` processes.

    The scheduler's address and dashboard link are written to ``cluster_file`` while the
    client is open (read by :attr:`PersonTrackingClient.dashboard_link`).
    """
    with dask_client(n_workers, scheduler, timeout=CONNECT_TIMEOUT) as client:
        try:
            if cluster_file is not None:
                dashboard = None
                with contextlib.suppress(Exception):  # no dashboard without bokeh
                    dashboard = client.dashboard_link or None
                info = {
                    "scheduler": client.scheduler.address,
                    "dashboard": dashboard,
                    "local": not scheduler,
                    "pid": os.getpid(),
                }
                with private_file(cluster_file, "wb") as f:
                    f.write(json.dumps(info).encode())
            yield client
        finally:
            if cluster_file is not None:
                with contextlib.suppress(OSError):
                    cluster_file.unlink()


def serve(
    db: Path,
    worker_id: str,
    workdir: Path,
    heartbeat: float = HEARTBEAT_INTERVAL,
    *,
    scheduler: str | None = None,
    n_workers: int = 1,
) -> int:
    """Run jobs (several at once) until none is waiting or running; returns how many."""
    store = JobStore(db)
    private_dir(workdir)  # S3 downloads and links to the videos read
    pid = os.getpid()
    store.register_worker(worker_id, pid)
    beat = _Heartbeat(store, worker_id, heartbeat)
    beat.start()
    done = 0
    running: list[threading.Thread] = []
    stack = contextlib.ExitStack()
    dask_client = None
    try:
        while True:
            running = [t for t in running if t.is_alive()]
            job = store.claim_next(worker_id, pid, unregister=not running)
            if job is None:
                if not running:
                    return done
                time.sleep(POLL_INTERVAL)
                continue
            if dask_client is None:
                try:
                    dask_client = stack.enter_context(
                        connect(scheduler, n_workers, db.parent / CLUSTER_FILE)
                    )
                except Exception as exc:
                    message = f"InternalServerError: cannot reach the Dask cluster: {exc}"
                    if store.finish(
                        job["job_key"], worker_id, state="FAILED", status_message=message
                    ):
                        notify(store, job["job_key"])
                    continue
            thread = threading.Thread(
                target=run_job,
                args=(store, job, worker_id, workdir, dask_client),
                name=f"persontrack-job-{job['job_key']}",
            )
            thread.start()
            running.append(thread)
            done += 1
    finally:
        for t in running:
            t.join()
        stack.close()
        beat.stopped.set()


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m persontrack.jobs._worker``."""
    parser = argparse.ArgumentParser(prog="python -m persontrack.jobs._worker")
    parser.add_argument("--db", required=True, type=Path)
    parser.add_argument("--worker-id", required=True)
    parser.add_argument("--workdir", required=True, type=Path)
    parser.add_argument("--heartbeat", type=float, default=HEARTBEAT_INTERVAL)
    parser.add_argument("--scheduler", help="Dask scheduler address (default: a LocalCluster)")
    parser.add_argument("--workers", type=int, default=1, help="LocalCluster worker processes")
    args = parser.parse_args(argv)
    serve(
        args.db,
        args.worker_id,
        args.workdir,
        args.heartbeat,
        scheduler=args.scheduler,
        n_workers=args.workers,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
