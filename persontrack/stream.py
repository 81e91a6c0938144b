"""Track the people of a live stream as it plays: results in chunks, as they come.

:func:`track_stream` opens a camera or network stream (:class:`~persontrack.io.stream.StreamReader`:
RTSP, RTMP, UDP, TCP, SRT, HTTP, ``/dev/videoN``), runs each frame it has time for through
the same per-frame steps as :func:`~persontrack.track_video`
(:class:`~persontrack.pipeline.FrameTracking`: detector, tracker, landmarks, faces) and hands
out the results as DataFrame chunks: one per ``chunk_s`` seconds (or ``chunk_frames``
analysed frames), by iteration or to a callback.

Live means keeping up: the reader keeps only the newest frame, so when the analysis is
slower than the stream the frames it had no time for are skipped (counted in
:meth:`StreamTracking.stats`) and the delay from a frame to its results stays bounded.
Memory holds one frame, the tracker's state and at most ``max_chunks`` undelivered chunks.

A chunk has the columns of the results DataFrame (:data:`persontrack.COLUMNS`) plus
``WallClock``: when the frame was received (UTC), beside ``Timestamp``, the video time in
ms since the first frame. ``Index`` values are final when they appear (fragments are not
joined afterwards, as :func:`track_video` does); a person's first rows appear with the frame
that confirms them, so a chunk may hold rows a little older than its first frame.
``chunk.drop(columns="WallClock")`` is a results DataFrame for every other function.

Each chunk may also go to a sink (:class:`StreamSink`): that is how
``pt.track_stream(source, store=rek)`` (:func:`persontrack.jobs.live.track_stream`) makes the
stream a job of the job store, whose rows are appended as they settle, without this engine
knowing of jobs.

Examples
--------
>>> import persontrack as pt
>>> with pt.track_stream("data/sample.mp4", {"max_frames": 2}, reconnect=False) as live:
...     chunks = list(live)
>>> list(chunks[0].columns[-2:]), live.stats()["frames_analysed"] >= 1
(['BodyLandmarks', 'WallClock'], True)
"""

from __future__ import annotations

import atexit
import math
import os
import queue
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol

import numpy as np
import pandas as pd

from ._checks import is_number
from .errors import InvalidParameterException, InvalidS3ObjectException
from .io.stream import StreamFrame, StreamReader, StreamStats
from .pipeline import FrameTracking
from .rows import rows_frame
from .settings import DEFAULT_TARGET_FPS, TrackingSettings, as_settings

__all__ = ["CHUNK_S", "MAX_CHUNKS", "StreamSink", "StreamTracking"]

CHUNK_S = 1.0
"""Seconds of wall-clock time per chunk: results reach the user within about a second plus
the time to analyse a frame."""

MAX_CHUNKS = 64
"""Chunks kept for a consumer that does not take them (the oldest is dropped beyond it)."""

_LATENCIES_KEPT = 1000
_WALL_TIMES_KEPT = 512  # frames whose receipt time is remembered, for rows settled late


def _check_settings(s: TrackingSettings) -> None:
    if s.every_n_frames is not None:
        raise InvalidParameterException(
            "every_n_frames does not apply to a live stream (the newest frame is analysed "
            "whenever the last one is done); use target_fps to analyse fewer frames"
        )
    if s.smooth_ms:
        raise InvalidParameterException("smooth_ms needs the whole video: not for live streams")


class StreamSink(Protocol):
    """Where a :class:`StreamTracking` also hands its rows (a job of the job store:
    :class:`persontrack.jobs.live.StreamJob`)."""

    @property
    def job_id(self) -> str | None:
        """The JobId of the sink's job (None: none)."""

    def started(self, stats: StreamStats, width: int, height: int) -> None:
        """The first frame has come (``stats``: the reader's counters and format)."""

    def append(self, chunk: pd.DataFrame, settled_before_ms: float, seen_ms: int) -> None:
        """A chunk; no row older than ``settled_before_ms`` can still come; ``seen_ms``:
        the latest frame's Timestamp."""

    def finish(self, error: BaseException | None, ended: str | None) -> Any:
        """The tracking has ended: with ``error``, or by itself (``ended``: why), or stopped."""


SinkFactory = Callable[[str, dict[str, Any]], StreamSink]
"""Makes the sink once the source is open: called with the source (as the reader names
it) and the settings as a dict."""


class StreamTracking:
    """A running :func:`~persontrack.track_stream`: iterate it for chunks, or let it call
    ``on_chunk``.

    Stop it with :meth:`stop` (or leave its ``with`` block); it also stops when the source
    is gone for good (``reconnect=False``, ``max_attempts``) or after ``max_frames``.
    One with a sink (``sink``, a job in the store) is stopped when the interpreter exits,
    so its job ends SUCCEEDED rather than waiting for a client to find its process gone.
    Parameters are :func:`~persontrack.track_stream`'s, but ``sink``: a
    :data:`SinkFactory` instead of ``store`` and ``job_tag``.
    """

    job_id: str | None
    """The JobId of the stream's job in the store (None without one)."""

    def __init__(
        self,
        source: str | os.PathLike[str],
        settings: TrackingSettings | Mapping[str, Any] | None = None,
        *,
        chunk_s: float = CHUNK_S,
        chunk_frames: int | None = None,
        on_chunk: Callable[[pd.DataFrame], None] | None = None,
        max_chunks: int = MAX_CHUNKS,
        sink: SinkFactory | None = None,
        **reader_options: Any,
    ) -> None:
        self.settings = as_settings(settings)
        _check_settings(self.settings)
        if not is_number(chunk_s) or chunk_s <= 0:
            raise InvalidParameterException(f"chunk_s must be a number > 0, got {chunk_s!r}")
        if chunk_frames is not None and (not is_number(chunk_frames, int) or chunk_frames < 1):
            raise InvalidParameterException(f"chunk_frames must be >= 1, got {chunk_frames!r}")
        if not isinstance(max_chunks, int) or max_chunks < 1:
            raise InvalidParameterException(f"max_chunks must be >= 1, got {max_chunks!r}")
        self.chunk_s, self.chunk_frames, self.on_chunk = float(chunk_s), chunk_frames, on_chunk
        self.reader = StreamReader(source, **reader_options)
        self.source = self.reader.source
        self.sink: StreamSink | None = None
        if sink is not None:
            try:
                self.sink = sink(self.source, self.settings.to_dict())
            except BaseException:
                self.reader.stop()
                raise
            _with_jobs.add(self)
        self.job_id = None if self.sink is None else self.sink.job_id
        self._ended: str | None = None
        self.frame_size: tuple[int, int] | None = None
        self._chunks: queue.Queue[pd.DataFrame | None] = queue.Queue(maxsize=max_chunks)
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._latencies: deque[float] = deque(maxlen=_LATENCIES_KEPT)
        self._counts = {"frames_analysed": 0, "frames_skipped": 0, "chunks": 0, "chunks_lost": 0}
        self._thread = threading.Thread(target=self._run, name="persontrack-live", daemon=True)
        self._thread.start()

    # -- user side --------------------------------------------------------------------------

    def __iter__(self) -> Iterator[pd.DataFrame]:
        if self.on_chunk is not None:
            raise InvalidParameterException("chunks go to on_chunk: use wait() or stop()")
        if self.sink is not None:
            raise InvalidParameterException(
                "chunks go to the job store: page them with get_person_tracking(JobId="
                "live.job_id), or pass on_chunk; use wait() or stop()"
            )
        while True:
            try:
                chunk = self._chunks.get(timeout=0.2)
            except queue.Empty:
                if not self._thread.is_alive() and self._chunks.empty():
                    break
                continue
            if chunk is None:
                break
            yield chunk
        self._raise_error()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop reading and analysing; returns when the current frame is done (the rows
        gathered so far are delivered as a last chunk)."""
        self._stop.set()
        self.reader.stop()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until tracking ends (by itself or :meth:`stop`); whether it has ended.
        Raises the error that ended it, if any."""
        self._thread.join(timeout)
        if not self._thread.is_alive():
            self._raise_error()
        return not self._thread.is_alive()

    @property
    def running(self) -> bool:
        """Whether frames are still being read and analysed."""
        return self._thread.is_alive()

    def stats(self) -> dict[str, Any]:
        """Frames decoded, analysed, skipped (not analysed: the analysis was busy or a
        ``target_fps`` cap), reconnections, chunks, and the delay from receiving a frame
        to its rows (``latency_s_*`` over the last 1000 analysed frames)."""
        r = self.reader.stats
        lat = np.array(self._latencies) if self._latencies else np.array([np.nan])
        return {
            "frames_decoded": r.decoded,
            **self._counts,
            "frames_not_analysed": r.decoded - self._counts["frames_analysed"],
            "reconnects": max(r.connections - 1, 0),
            "latency_s_mean": float(np.mean(lat)),
            "latency_s_p95": float(np.percentile(lat, 95)),
            "latency_s_max": float(np.max(lat)),
            "last_error": r.last_error,
        }

    def __enter__(self) -> StreamTracking:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"StreamTracking({self.source!r}, running={self.running})"

    def _raise_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    # -- analysis thread --------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._analyse()
        except BaseException as exc:  # handed to the user's thread
            self._error = exc
        finally:
            self.reader.stop()
            if self.sink is not None:
                try:
                    self.sink.finish(self._error, self._ended)
                except BaseException as exc:  # not finished: a client will find it dead
                    self._error = self._error or exc
            self._put(None)

    def _analyse(self) -> None:
        s = self.settings
        first = self.reader.read()
        if first is None:  # stopped before the first frame too: no frame is no result
            why = self.reader.stats.last_error or "it ended"
            if self._stop.is_set():
                why = "stopped before the first frame arrived" + (
                    f" ({self.reader.stats.last_error})" if self.reader.stats.last_error else ""
                )
            raise InvalidS3ObjectException(f"no frame from {self.source}: {why}")
        height, width = first.image.shape[:2]
        self.frame_size = (width, height)
        if self.sink is not None:
            self.sink.started(self.reader.stats, width, height)
        min_gap_ms = 1000.0 / (s.target_fps or DEFAULT_TARGET_FPS)
        wall_of: dict[int, float] = {}
        rows: list[tuple[Any, ...]] = []
        in_chunk = 0
        chunk_start = time.monotonic()
        last_ms = -np.inf
        seen_ms = first.timestamp_ms
        settled = -math.inf
        with FrameTracking(s, width, height) as per_frame:
            frame: StreamFrame | None = first
            while frame is not None and not self._stop.is_set():
                seen_ms = frame.timestamp_ms
                if frame.timestamp_ms - last_ms >= min_gap_ms - 0.5:
                    last_ms = frame.timestamp_ms
                    image = frame.image
                    if image.shape[:2] != (height, width):  # the source changed size
                        import cv2

                        image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
                    wall_of[frame.index] = frame.wall_time
                    if len(wall_of) > _WALL_TIMES_KEPT:
                        del wall_of[next(iter(wall_of))]
                    rows += per_frame.step(image, frame.timestamp_ms, frame.index)
                    settled = _settled_before(per_frame, frame.timestamp_ms)
                    self._latencies.append(time.time() - frame.wall_time)
                    self._counts["frames_analysed"] += 1
                    in_chunk += 1
                else:
                    self._counts["frames_skipped"] += 1
                done = s.max_frames is not None and self._counts["frames_analysed"] >= s.max_frames
                full = self.chunk_frames is not None and in_chunk >= self.chunk_frames
                due = self.chunk_frames is None and time.monotonic() - chunk_start >= self.chunk_s
                if full or due or done:
                    self._emit(rows, wall_of, settled, seen_ms)
                    rows, in_chunk, chunk_start = [], 0, time.monotonic()
                if done:
                    break
                frame = self.reader.read()
            if frame is None and not self._stop.is_set():
                self._ended = (
                    f"the stream ended: {self.reader.stats.last_error or 'no more frames'}"
                )
        if rows or in_chunk:
            self._emit(rows, wall_of, settled, seen_ms)

    def _emit(
        self,
        rows: list[tuple[Any, ...]],
        wall_of: Mapping[int, float],
        settled_before_ms: float,
        seen_ms: int,
    ) -> None:
        chunk = rows_frame(rows)
        walls = [wall_of.get(int(n), np.nan) for n in chunk["FrameNumber"]]
        chunk["WallClock"] = pd.to_datetime(pd.Series(walls, dtype="float64"), unit="s", utc=True)
        self._counts["chunks"] += 1
        if self.sink is not None:
            self.sink.append(chunk, settled_before_ms, seen_ms)
        if self.on_chunk is not None:
            self.on_chunk(chunk)
        elif self.sink is None:
            self._put(chunk)

    def _put(self, chunk: pd.DataFrame | None) -> None:
        while True:
            try:
                self._chunks.put_nowait(chunk)
                return
            except queue.Full:
                try:  # nobody takes them: drop the oldest, never block the analysis
                    self._chunks.get_nowait()
                    self._counts["chunks_lost"] += 1
                except queue.Empty:
                    pass


def _settled_before(per_frame: FrameTracking, timestamp_ms: int) -> float:
    """The Timestamp below which no more rows can come after the frame at ``timestamp_ms``:
    the oldest row of a track not yet confirmed (it is settled, with the person's Index,
    when the track is), else anything up to that frame."""
    oldest = min((rows[0][0][0] for rows in per_frame.pending.values() if rows), default=None)
    return timestamp_ms + 1 if oldest is None else min(float(oldest), timestamp_ms + 1)


_with_jobs: weakref.WeakSet[StreamTracking] = weakref.WeakSet()


@atexit.register
def _stop_jobs() -> None:
    """Stop the trackings with a job in the store as the interpreter exits (their analysis
    threads are daemons: killed without it, their jobs would stay RUNNING until a client
    finds the process gone and fails them)."""
    for live in list(_with_jobs):
        live.stop()
