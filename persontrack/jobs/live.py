"""A live stream's results in the job store: GetPersonTracking pages them while it plays.

``pt.track_stream(source, store=rek)`` (or ``persontrack track URL --data-dir D``) registers
a job in the store and appends each chunk's rows to it; :class:`StreamJob` is that job,
written by the process tracking the stream (no job runner is involved):

- the job is RUNNING (JobStatus ``IN_PROGRESS``) from the start until the stream stops;
  ``get_person_tracking(JobId=…)`` returns the rows stored so far in ``SortBy=TIMESTAMP``
  order, with a NextToken that points after the last row returned: ask again with it for
  the rows appended since (none is skipped or repeated). ``SortBy=INDEX`` ranks each
  person's rows together, which rows still to come would reshuffle: while the stream runs
  it answers IN_PROGRESS with no Persons, as Rekognition answers for every running job.
- a row is appended only once no earlier row can still come: the tracker settles a person's
  first rows when it confirms them, a few frames late, so rows at or after the oldest
  unconfirmed row wait (see :meth:`StreamJob.append`). Hence TIMESTAMP order over the
  appended rows is final, and tokens stay valid when the job ends.
- ``stop()`` (or Ctrl-C on the command line) ends it SUCCEEDED with every settled row; a
  source gone for good (``reconnect=False``, ``max_attempts``) ends it SUCCEEDED with a
  StatusMessage saying why; a source that never gives a frame, or an error of the
  tracking, ends it FAILED with the reason. A process that dies without stopping it (a
  kill, a crash) is noticed by the next client call, as a dead job runner is: FAILED.
- VideoMetadata: frame size from the first frame; Codec, Format, FrameRate (the source's
  nominal rate) and ColorRange as the source declares them; DurationMillis the video time
  analysed so far (final when the job ends).

Examples
--------
>>> import tempfile, persontrack as pt
>>> rek = pt.client(data_dir=tempfile.mkdtemp())
>>> live = pt.track_stream("data/sample.mp4", {"max_frames": 2}, reconnect=False, store=rek)
>>> live.wait(60)
True
>>> page = rek.get_person_tracking(JobId=live.job_id)
>>> page["JobStatus"], page["VideoMetadata"]["FrameWidth"]
('SUCCEEDED', 640)
>>> rek.close()
"""

from __future__ import annotations

import functools
import math
import os
import secrets
import uuid
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pandas as pd

from ..errors import InvalidParameterException
from ..result import versions
from ..settings import TrackingSettings
from ..stream import CHUNK_S, MAX_CHUNKS, StreamTracking
from ._params import validate_request
from ._store import STREAM_KIND, JobStore
from ._worker import HEARTBEAT_INTERVAL, _Heartbeat, chunk_rows, failure_message
from .client import PersonTrackingClient, client

__all__ = ["StreamJob", "public_url", "track_stream"]


def public_url(source: str) -> str:
    """``source`` with any password replaced by ``***``: what the store keeps and shows.

    Examples
    --------
    >>> public_url("rtsp://admin:secret@cam.local:554/live")
    'rtsp://admin:***@cam.local:554/live'
    >>> public_url("/dev/video0")
    '/dev/video0'
    """
    try:
        parts = urlsplit(source)
        if parts.password is None:
            return source
        host = parts.netloc.rsplit("@", 1)[1]
        user = parts.username or ""
        return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
    except ValueError:
        return source


class StreamJob:
    """The job of one live stream in a job store, written by the process tracking it.

    Made by :class:`persontrack.StreamTracking` when given ``store``; registering it
    raises at once what StartPersonTracking would (LimitExceededException, a bad JobTag).

    Parameters
    ----------
    store : PersonTrackingClient or path
        A client (its store, ``max_jobs`` and ``heartbeat_timeout``), or a data directory.
    source : str
        The stream (kept with any password replaced, see :func:`public_url`).
    settings : dict
        The tracking settings, shown by ``describe_job``.
    job_tag : str, optional
        Rekognition's JobTag.
    heartbeat_s : float, default :data:`~persontrack.jobs._worker.HEARTBEAT_INTERVAL`
        Seconds between two heartbeats telling clients this process still tracks it.
    """

    def __init__(
        self,
        store: PersonTrackingClient | str | os.PathLike[str],
        source: str,
        settings: dict[str, Any],
        *,
        job_tag: str | None = None,
        heartbeat_s: float = HEARTBEAT_INTERVAL,
    ) -> None:
        rek = store if isinstance(store, PersonTrackingClient) else client(data_dir=store)
        self._source, self.url = source, public_url(source)
        url = self.url
        video = {"Stream": {"Url": url}}
        if job_tag is not None:  # the same rules as StartPersonTracking's JobTag
            validate_request(
                "StartPersonTracking",
                {"Video": {"S3Object": {"Bucket": "bucket", "Name": "n"}}, "JobTag": job_tag},
            )
        self.store = JobStore(rek.store.path, busy_timeout=rek.store.busy_timeout)
        self.worker_id = f"stream-{uuid.uuid4().hex}"
        self.job_id = secrets.token_hex(32)
        self.settings = settings
        try:
            self.key = self.store.create_stream_job(
                job_id=self.job_id,
                request={"Video": video, **({"JobTag": job_tag} if job_tag is not None else {})},
                source={"kind": STREAM_KIND, "url": url},
                config={"settings": settings, "tracker": "persontrack.jobs.live:track_stream"},
                worker_id=self.worker_id,
                pid=os.getpid(),
                max_jobs=rek.max_jobs,
                heartbeat_timeout=rek.heartbeat_timeout,
            )
        finally:
            if rek is not store:
                rek.close()
        self.count = 0
        """Rows appended so far."""
        self.metadata: dict[str, Any] = {}
        self._held: pd.DataFrame | None = None
        self._ended = False
        self._beat = _Heartbeat(self.store, self.worker_id, heartbeat_s)
        self._beat.start()

    def started(self, stats: Any, width: int, height: int) -> None:
        """Note the source's VideoMetadata once its first frame has come."""
        self.metadata = {
            "Codec": stats.codec or "",
            "DurationMillis": 0,
            "Format": stats.format or "",
            "FrameRate": float(stats.frame_rate or 0.0),
            "FrameHeight": int(height),
            "FrameWidth": int(width),
            "ColorRange": stats.color_range or "LIMITED",
        }
        self.store.append_stream(self.key, self.worker_id, [], self.metadata)

    def append(self, chunk: pd.DataFrame, settled_before_ms: float, duration_ms: int) -> None:
        """Append the rows of ``chunk`` (and rows held back earlier) older than
        ``settled_before_ms``, in TIMESTAMP order; hold back the rest.

        ``settled_before_ms`` is the Timestamp below which no row can still come (the
        oldest row of a person not yet confirmed, else just after the latest frame);
        ``math.inf`` at the end appends everything.
        """
        frame = chunk.drop(columns="WallClock", errors="ignore")
        if self._held is not None and len(self._held):
            frame = pd.concat([self._held, frame], ignore_index=True) if len(frame) else self._held
        rows: list[tuple[int, int, float | None, int, str, str]] = []
        if len(frame):
            ready = frame["Timestamp"] < settled_before_ms
            self._held = frame[~ready]
            if ready.any():
                rows = chunk_rows(frame[ready], self.count)
        self.metadata["DurationMillis"] = int(max(duration_ms, 0))
        self.store.append_stream(self.key, self.worker_id, rows, self.metadata)
        self.count += len(rows)

    def finish(self, error: BaseException | None, ended: str | None = None) -> bool:
        """End the job: SUCCEEDED with every row held back appended (StatusMessage
        ``ended``, why the stream ended by itself), or FAILED with ``error``'s message.

        Returns whether this process still owned the job (False once it has ended: a
        second call changes nothing).
        """
        if self._ended:
            return False
        self._ended = True
        try:
            if error is None:
                try:
                    if self.metadata:
                        self.append(pd.DataFrame(), math.inf, self.metadata["DurationMillis"])
                except Exception as exc:  # the store failed: the rows are not all there
                    error = exc
            if error is not None:
                message = failure_message(error).replace(self._source, self.url)
                return self.store.finish(
                    self.key, self.worker_id, state="FAILED", status_message=message
                )
            return self.store.finish(
                self.key,
                self.worker_id,
                state="SUCCEEDED",
                status_message=None if ended is None else ended.replace(self._source, self.url),
                result_count=self.count,
                video_metadata=self.metadata or None,
                settings=self.settings,
                versions=versions(),
                new_generation=False,
            )
        finally:
            self._beat.stopped.set()
            self.store.close()

    def __repr__(self) -> str:
        return f"StreamJob({self.job_id[:12]}…, rows={self.count})"


def track_stream(
    source: str | os.PathLike[str],
    settings: TrackingSettings | Mapping[str, Any] | None = None,
    *,
    chunk_s: float = CHUNK_S,
    chunk_frames: int | None = None,
    on_chunk: Callable[[pd.DataFrame], None] | None = None,
    max_chunks: int = MAX_CHUNKS,
    store: PersonTrackingClient | str | os.PathLike[str] | None = None,
    job_tag: str | None = None,
    **reader_options: Any,
) -> StreamTracking:
    """Track the people of a live stream; results come in DataFrame chunks as it plays.

    The engine is :class:`persontrack.stream.StreamTracking`; ``store`` adds a job of the
    job store as its sink (:class:`StreamJob`).

    Parameters
    ----------
    source : str
        ``rtsp://…``, ``rtmp://…``, ``udp://…``, ``tcp://…``, ``srt://…``, ``http(s)://…``,
        a capture device (``/dev/video0``) or a file (read as fast as it decodes).
    settings : TrackingSettings or dict, optional
        As for :func:`track_video`. ``target_fps`` caps the frames analysed per second
        (default :data:`~persontrack.settings.DEFAULT_TARGET_FPS`), ``max_frames`` stops
        after that many; ``every_n_frames`` and ``smooth_ms`` do not
        apply to a live stream, and fragments are not joined (``link_fragments``).
    chunk_s : float, default :data:`~persontrack.stream.CHUNK_S`
        A chunk every this many seconds (wall clock).
    chunk_frames : int, optional
        A chunk every this many analysed frames instead.
    on_chunk : callable, optional
        Called with each chunk (from the analysis thread) instead of iterating.
    max_chunks : int, default :data:`~persontrack.stream.MAX_CHUNKS`
        Undelivered chunks kept when iterating slower than they come.
    store : PersonTrackingClient or path, optional
        Also run the stream as a job of this job store (a client, or its data directory):
        ``live.job_id`` names it, ``get_person_tracking`` pages its rows while it runs
        (TIMESTAMP order), and it ends SUCCEEDED when stopped, FAILED if the tracking
        fails (this module's docstring). Chunks then go to the store and to
        ``on_chunk``, not to iteration.
    job_tag : str, optional
        The job's JobTag (with ``store``).
    **reader_options
        For :class:`~persontrack.io.stream.StreamReader`: ``reconnect``, ``max_attempts``,
        ``open_timeout_s``, ``read_timeout_s``, ``backoff_s``, ``max_backoff_s``,
        ``options`` (FFmpeg's, e.g. ``{"rtsp_transport": "tcp"}``), ``format``.

    Returns
    -------
    StreamTracking
        Running already: iterate it for chunks (columns of the results DataFrame plus
        ``WallClock``), or :meth:`~StreamTracking.wait` for it with ``on_chunk``; stop it
        with :meth:`~StreamTracking.stop`; :meth:`~StreamTracking.stats` for counters.

    Raises
    ------
    InvalidParameterException
        When a setting is invalid.
    InvalidS3ObjectException
        (While iterating, or from ``wait``) when the source gives no frame at all.
    LimitExceededException
        With ``store``, when it already has ``max_jobs`` jobs running or waiting.
    """
    if job_tag is not None and store is None:
        raise InvalidParameterException("job_tag names a job in the store: give store too")
    sink = None
    if store is not None:
        sink = functools.partial(_stream_job, store, job_tag)
    return StreamTracking(
        source,
        settings,
        chunk_s=chunk_s,
        chunk_frames=chunk_frames,
        on_chunk=on_chunk,
        max_chunks=max_chunks,
        sink=sink,
        **reader_options,
    )


def _stream_job(
    store: PersonTrackingClient | str | os.PathLike[str],
    job_tag: str | None,
    source: str,
    settings: dict[str, Any],
) -> StreamJob:
    return StreamJob(store, source, settings, job_tag=job_tag)
