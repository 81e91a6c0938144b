"""One video as time segments on a Dask cluster, stitched back into one result.

Each segment is a Dask task: decode from the segment's warm-up start (by seeking), detect,
track, return the rows. The caller receives the segments' rows in time order, stitched
(:class:`persontrack.tracking.stitch.Stitcher`) so that a person keeps one Index across
boundaries, as soon as each is done: memory holds a few segments, whatever the video's
length. A segment lost with its worker is run again by Dask on another worker.

Examples
--------
>>> from persontrack.jobs.segments import plan_segments
>>> [(s.warmup_ms, s.start_ms, s.end_ms) for s in plan_segments(25.0, segment_seconds=10)]
[(0, 0, 10000), (8000, 10000, 20000), (18000, 20000, None)]
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import inspect
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..convert import sort_results
from ..threads import limit_threads, pin_process
from ..tracking.stitch import Stitcher

DEFAULT_SEGMENT_SECONDS = 60.0
"""Seconds of video per task.

Each task pays a fixed start (loading the detector and face models, about 1-2 s, and
seeking to its start) and repeats the overlap; at 60 s of video, which takes minutes of
CPU to analyse, both cost a few percent, while a 20-minute video still makes 20 tasks for
the cluster's workers to share and a lost worker loses at most one minute of work.
"""
DEFAULT_OVERLAP_SECONDS = 2.0
"""Seconds each segment starts before its own span, to match its tracks to the previous one.

The tracker needs two sightings before it gives a person an Index and a person walking
in from behind someone takes a few frames more; 2 s (50 frames at 25 fps) leaves
well over a second of confirmed track to compare, at a cost of 2/60 of the work.
"""
MIN_OVERLAP_FRAMES = 4
"""Least analysed frames in an overlap, whatever ``overlap_seconds`` says.

With sparse sampling (``every_n_frames=25`` at 10 fps: one frame per 2.5 s) a 2-s overlap
may hold no analysed frame at all, and then nothing links the segments: every person
would get a new Index at each boundary. The tracker needs two sightings to confirm a
person; four leave the stitcher two confirmed boxes to compare.
"""
PROGRESS_INTERVAL = 0.5
"""Least seconds between two progress events of one task."""
LOOKAHEAD_PER_WORKER = 2
"""Segments submitted ahead per Dask worker: keeps workers busy, bounds finished rows held."""
TASK_THREADS = 1
"""Threads each native library may use in a segment task on a Dask worker.

A worker runs up to its ``nthreads`` tasks at once, so one thread per task keeps it within
its ``nthreads`` cores (Dask's own convention: its workers get ``OMP_NUM_THREADS=1``). Without
it OpenVINO and OpenCV size their pools to the whole machine in every task: their helper
threads took 13 % of a segment's CPU time, on top of the worker's main thread (README
"Threads per segment task"; :mod:`persontrack.threads`).
"""


@dataclass(frozen=True)
class Segment:
    """A time span of a video, tracked by one task.

    Attributes
    ----------
    number : int
        0, 1, … in time order.
    warmup_ms : int
        Where decoding starts (``start_ms`` less the overlap).
    start_ms : int
        The first timestamp whose rows this segment reports.
    end_ms : int or None
        The first timestamp it does not report (None: to the end of the video).
    """

    number: int
    warmup_ms: int
    start_ms: int
    end_ms: int | None


def plan_segments(
    duration_s: float | None,
    *,
    segment_seconds: float = DEFAULT_SEGMENT_SECONDS,
    overlap_seconds: float = DEFAULT_OVERLAP_SECONDS,
) -> list[Segment]:
    """Cut ``duration_s`` seconds of video into segments (one when the duration is unknown).

    A last piece shorter than half a segment is joined to the one before it.
    """
    if not duration_s or duration_s <= segment_seconds * 1.5:
        return [Segment(0, 0, 0, None)]
    n = max(1, math.floor(duration_s / segment_seconds + 0.5))
    step = int(segment_seconds * 1000)
    overlap = int(overlap_seconds * 1000)
    out = []
    for k in range(n):
        start = k * step
        out.append(Segment(k, max(0, start - overlap), start, None if k == n - 1 else start + step))
    return out


def overlap_for(
    settings: Mapping[str, Any] | None, frame_rate: float, overlap_seconds: float
) -> float:
    """``overlap_seconds``, widened to hold :data:`MIN_OVERLAP_FRAMES` analysed frames.

    Examples
    --------
    >>> overlap_for({"every_n_frames": 25}, 10.0, 2.0), overlap_for(None, 25.0, 2.0)
    (10.0, 2.0)
    """
    s = dict(settings or {})
    if s.get("every_n_frames"):
        step = float(s["every_n_frames"]) / frame_rate if frame_rate > 0 else 0.0
    elif s.get("target_fps"):
        step = 1.0 / float(s["target_fps"])
    else:
        step = 1.0 / frame_rate if frame_rate > 0 else 0.0
    return max(float(overlap_seconds), MIN_OVERLAP_FRAMES * step)


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


def supports_segments(tracker: Callable[..., Any]) -> bool:
    """Whether a tracking function takes ``start_ms``/``end_ms`` (else: one segment)."""
    params = inspect.signature(tracker).parameters
    return "start_ms" in params and "end_ms" in params


@dataclass
class SegmentResult:
    """What one task returns: its rows, the run's description and, when the tracker
    gives them, each Index's appearance (for stitching; see ``TrackingResult``)."""

    frame: pd.DataFrame
    metadata: dict[str, Any]
    settings: dict[str, Any]
    versions: dict[str, Any]
    appearance: dict[int, Any] | None = None


def run_segment(
    tracker: str,
    video: str,
    settings: Mapping[str, Any] | None,
    segment: Segment,
    *,
    source: Mapping[str, Any] | None = None,
    topic: str | None = None,
) -> SegmentResult:
    """Track one segment (a Dask task; also callable directly).

    Parameters
    ----------
    tracker : str
        ``"module:function"`` with :func:`persontrack.track_video`'s signature.
    video : str
        The video's path; when it is not on this machine, ``source`` (the job store's
        source, e.g. an S3 object) is downloaded instead.
    settings : dict, optional
        Tracking settings.
    segment : Segment
        The span to track; the whole video when it has no end and starts at 0.
    topic : str, optional
        Dask event topic to report progress on (``{"segment": n, "fraction": f}``).
    """
    fn = load_callable(tracker)
    report = _reporter(topic, segment.number)
    with _local_copy(video, source) as path, limit_threads(_task_threads()):
        if segment.warmup_ms == 0 and segment.end_ms is None:
            result = fn(path, settings, progress=report)
        else:
            result = fn(
                path,
                settings,
                progress=report,
                start_ms=segment.warmup_ms,
                end_ms=segment.end_ms,
            )
    meta = result.metadata
    return SegmentResult(
        frame=result.frame,
        metadata=meta.to_dict() if hasattr(meta, "to_dict") else dict(meta),
        settings=dict(result.settings),
        versions=dict(result.versions),
        appearance=getattr(result, "appearance", None),
    )


@contextlib.contextmanager
def _local_copy(video: str, source: Mapping[str, Any] | None) -> Iterator[str]:
    """The video as a path where this task runs.

    A job's local video is opened here, where it is read (within its bucket root, never
    through a link); a downloaded S3 object is read from the job runner's copy when this
    task runs on the same machine, and downloaded again elsewhere.
    """
    local = source is not None and source.get("kind") == "local"
    if source is None or (not local and Path(video).is_file()):
        yield video
        return
    from ._storage import check_version, open_source

    version = source.get("version") if local else None
    name = str(source.get("name") or source.get("path"))
    with tempfile.TemporaryDirectory(prefix="persontrack-") as tmp:
        with open_source(dict(source), Path(tmp)) as path:
            if version:  # the file the job started on, when this segment opens it
                check_version(path, version, name=name)
            yield str(path)
            if version:  # and once it has read its span
                check_version(path, version, name=name)


def _task_threads() -> int | None:
    """:data:`TASK_THREADS` inside a Dask worker; None (no budget) elsewhere."""
    try:
        from distributed import get_worker

        get_worker()
    except (ImportError, ValueError):
        return None
    return TASK_THREADS


def _reporter(topic: str | None, number: int) -> Callable[[float], None] | None:
    if topic is None:
        return None
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):
        return None
    last = [0.0]

    def report(fraction: float) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_INTERVAL or fraction >= 1.0:
            last[0] = now
            worker.log_event(topic, {"segment": number, "fraction": float(fraction)})

    return report


def track_segments(
    dask_client: Any,
    tracker: str,
    video: str,
    settings: Mapping[str, Any] | None,
    segments: list[Segment],
    *,
    source: Mapping[str, Any] | None = None,
    progress: Callable[[float], None] | None = None,
    name: str = "segment",
) -> Iterator[tuple[Segment, pd.DataFrame, SegmentResult]]:
    """Run the segments on the cluster; yield each one's stitched rows in time order.

    Parameters
    ----------
    dask_client : distributed.Client
        The cluster.
    tracker, video, settings, source
        As for :func:`run_segment`.
    segments : list of Segment
        From :func:`plan_segments`.
    progress : callable, optional
        Called with the fraction done: finished segments plus the running ones' parts.
    name : str
        Prefix of the Dask task keys (shown on the dashboard).

    Yields
    ------
    (Segment, pandas.DataFrame, SegmentResult)
        The segment, its rows with final Indexes (TIMESTAMP order), and the task's
        result (metadata, settings and versions; its ``frame`` is emptied).
    """
    from distributed import wait

    token = os.urandom(6).hex()
    topic = f"persontrack-progress-{token}" if progress is not None else None
    parts = [0.0] * len(segments)

    def report() -> None:
        if progress is not None:
            progress(min(sum(parts) / len(segments), 1.0))

    def on_event(event: Any) -> None:
        # runs on the Dask client's event loop: only note the fraction (no I/O here)
        _, msg = event
        k = int(msg["segment"])
        parts[k] = max(parts[k], min(float(msg["fraction"]), 0.99))

    if topic is not None:
        dask_client.subscribe_topic(topic, on_event)
    workers = max(1, len(dask_client.scheduler_info().get("workers", {})))
    ahead = LOOKAHEAD_PER_WORKER * workers
    stitcher = Stitcher()
    pending: dict[int, Any] = {}
    done: dict[int, SegmentResult] = {}
    queue = list(segments)

    def submit() -> None:
        while queue and len(pending) + len(done) < ahead:
            seg = queue.pop(0)
            pending[seg.number] = dask_client.submit(
                run_segment,
                tracker,
                video,
                settings,
                seg,
                source=source,
                topic=topic,
                key=f"{name}-{token}-{seg.number}",
                pure=False,
            )

    try:
        submit()
        order = 0
        while pending or done:
            finished = [k for k, f in pending.items() if f.done()]
            if not finished:
                with contextlib.suppress(TimeoutError):
                    wait(list(pending.values()), timeout=PROGRESS_INTERVAL,
                         return_when="FIRST_COMPLETED")  # fmt: skip
                report()
                continue
            for number in finished:
                future = pending.pop(number)
                done[number] = future.result()  # a failed task raises its error here
                future.release()
                parts[number] = 1.0
            report()
            while order in done:
                seg = segments[order]
                part = done.pop(order)
                rows = stitcher.add(
                    part.frame,
                    start_ms=seg.start_ms,
                    end_ms=seg.end_ms,
                    appearance=part.appearance,
                    aspect=_aspect(part.metadata),
                )
                part.appearance = None
                rows = sort_results(rows, "TIMESTAMP")
                part.frame = rows.iloc[:0]
                yield seg, rows, part
                order += 1
            submit()
    finally:
        for f in pending.values():
            f.cancel()
        if topic is not None:
            with contextlib.suppress(Exception):
                dask_client.unsubscribe_topic(topic)


def _aspect(metadata: Mapping[str, Any]) -> float:
    """Frame width over height (1.0 when unknown)."""
    w, h = metadata.get("FrameWidth") or 0, metadata.get("FrameHeight") or 0
    return float(w) / float(h) if w and h else 1.0


LOCAL_WORKER_CONFIG: dict[str, object] = {"distributed.worker.profile.enabled": False}
"""Dask settings of the embedded LocalCluster's workers. Dask's statistical profiler
samples every thread's stack every 10 ms for the dashboard's Profile page; on a segment
task it cost 4 % of the worker's CPU (0.75 of 18.4 CPU seconds for 5 one-minute segments,
measured per thread from ``/proc``), which a 2-core machine running two workers cannot
spare. To profile tasks, run them on a cluster of your own (``$PERSONTRACK_DASK_SCHEDULER``)."""


@contextlib.contextmanager
def dask_client(
    workers: int | None = None,
    scheduler_address: str | None = None,
    *,
    timeout: float = 10,
    pin_cores: bool = False,
) -> Iterator[Any]:
    """A ``distributed.Client``: of ``scheduler_address`` (default
    ``$PERSONTRACK_DASK_SCHEDULER``) or of a new LocalCluster of ``workers`` single-threaded
    worker processes on 127.0.0.1 (default: one per core), closed on exit.

    Each segment task keeps to one thread per library (:data:`TASK_THREADS`). With
    ``pin_cores`` the LocalCluster's worker ``k`` is also bound to core ``k`` (CPU
    affinity: :func:`persontrack.threads.pin_process`), which bounds what no setting
    reaches (MediaPipe's own thread pool); on a machine shared with other work the kernel
    can then no longer move a worker to an idle core, so it is off by default.

    The LocalCluster's workers do not run Dask's statistical profiler
    (:data:`LOCAL_WORKER_CONFIG`); a cluster of your own keeps its configuration.
    """
    import dask
    from distributed import Client, LocalCluster

    address = scheduler_address or os.environ.get("PERSONTRACK_DASK_SCHEDULER") or None
    cluster = None
    config = {"distributed.worker.daemon": False}
    with dask.config.set(config if address else {**config, **LOCAL_WORKER_CONFIG}):
        if address:
            client = Client(address, timeout=f"{timeout}s")
        else:
            cluster = LocalCluster(
                n_workers=workers or max(1, os.cpu_count() or 1),
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address="127.0.0.1:0",
            )
            client = Client(cluster)
            if pin_cores:
                client.register_plugin(_core_pinning())
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _core_pinning() -> Any:
    """A Dask WorkerPlugin binding worker ``k`` (by name) of ``t`` threads to cores
    ``k*t … k*t+t-1`` (modulo the machine's cores); run again by restarted workers."""
    from distributed import WorkerPlugin

    class PinCores(WorkerPlugin):
        name = "persontrack-pin-cores"

        def setup(self, worker: Any) -> None:
            n, t = os.cpu_count() or 1, max(1, int(worker.state.nthreads))
            k = int(worker.name) if str(worker.name).isdigit() else 0
            pin_process([(k * t + j) % n for j in range(t)])

    return PinCores()


def iter_segments(
    source: str | os.PathLike[str],
    settings: Any = None,
    *,
    workers: int | None = None,
    scheduler_address: str | None = None,
    progress: Callable[[float], None] | None = None,
    segment_seconds: float = DEFAULT_SEGMENT_SECONDS,
    overlap_seconds: float = DEFAULT_OVERLAP_SECONDS,
    tracker: str = "persontrack.pipeline:track_video",
) -> Iterator[tuple[pd.DataFrame, SegmentResult]]:
    """Track a video file in segments on Dask; yield each segment's stitched rows.

    Memory holds a few segments whatever the video's length: write each chunk out
    (e.g. :class:`persontrack.io.files.ResultsWriter`) as it comes.

    Yields
    ------
    (pandas.DataFrame, SegmentResult)
        The rows (TIMESTAMP order, final Indexes, landmarks compact) and the task's
        metadata, settings and versions.
    """
    from ..errors import InvalidParameterException
    from ..pipeline import _as_settings
    from ..schema import compact_landmarks
    from ._storage import probe_duration

    if not isinstance(source, (str, os.PathLike)):
        raise InvalidParameterException("tracking on Dask workers needs a video file path")
    from ..io.video import read_metadata

    path = Path(source)
    s = _as_settings(settings)
    duration = None if s.max_frames is not None else probe_duration(path)
    overlap = overlap_for(s.to_dict(), read_metadata(path).FrameRate, overlap_seconds)
    segments = plan_segments(duration, segment_seconds=segment_seconds, overlap_seconds=overlap)
    with dask_client(workers, scheduler_address) as client:
        for _, rows, part in track_segments(
            client, tracker, str(path.resolve()), s.to_dict(), segments, progress=progress
        ):
            yield compact_landmarks(rows), part


def track_in_segments(source: str | os.PathLike[str], settings: Any = None, **options: Any) -> Any:
    """:func:`persontrack.track_video` on Dask: the video in segments, stitched, one result.

    ``options`` are those of :func:`iter_segments`. Returns a ``TrackingResult``.
    """
    from ..convert import EXTENSION_KEY, RESPONSE_ATTR
    from ..io.video import VideoMetadata
    from ..pipeline import TrackingResult
    from ..schema import empty_frame

    chunks, last = [], None
    for rows, part in iter_segments(source, settings, **options):
        chunks.append(rows)
        last = part
    assert last is not None  # there is always one segment
    frame = pd.concat(chunks, ignore_index=True) if chunks else empty_frame()
    meta = VideoMetadata.from_dict(last.metadata)
    result = TrackingResult(frame, meta, last.settings, last.versions)
    frame.attrs[RESPONSE_ATTR] = {
        "VideoMetadata": last.metadata,
        EXTENSION_KEY: {"Versions": last.versions, "Settings": last.settings},
    }
    return result
