"""Live video: frames from a camera or network stream, reconnecting when it drops.

A :class:`StreamReader` decodes a live source (``rtsp://``, ``rtmp://``, ``udp://``,
``tcp://``, ``srt://``, ``http(s)://``, or a capture device such as ``/dev/video0``) with
PyAV in a background thread and keeps only the **latest** frame: a consumer slower than the
stream (a person detector) always gets the newest picture, the frames it had no time for
are counted as dropped, and memory holds at most one frame whatever the stream's length.

When the source stops sending (a camera reboots, a server restarts, the network drops) the
reader reopens it, waiting :data:`BACKOFF_S` at first and twice as long after each failed
attempt, up to :data:`MAX_BACKOFF_S`. Video timestamps keep increasing across reconnects;
each frame also carries the wall-clock time it was decoded.

Examples
--------
A stream is any URL FFmpeg can open; a file works too (decoded as fast as it can be read):

>>> from persontrack.io.stream import StreamReader, is_stream_source
>>> is_stream_source("rtsp://camera.local/live"), is_stream_source("video.mp4")
(True, False)
>>> with StreamReader("data/sample.mp4", reconnect=False) as reader:
...     frame = reader.read(timeout=10)
>>> frame.image.shape, frame.timestamp_ms >= 0
((360, 640, 3), True)
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InvalidParameterException
from ._readers import _color_range, _rate

STREAM_SCHEMES = ("rtsp", "rtsps", "rtmp", "rtmps", "udp", "rtp", "tcp", "srt", "http", "https")
"""URL schemes read as live streams (``persontrack track URL`` tracks them live)."""

OPEN_TIMEOUT_S = 10.0
"""Seconds to wait for a source to open (RTSP cameras often need several to answer)."""

READ_TIMEOUT_S = 2.0
"""Seconds without data after which the stream counts as dropped and is reopened; also the
longest a :meth:`StreamReader.stop` waits for the decoding thread to notice."""

BACKOFF_S = 0.5
"""First wait before reopening a dropped stream."""

MAX_BACKOFF_S = 8.0
"""Longest wait between attempts (the wait doubles after each failed attempt)."""

_DEVICE = re.compile(r"^/dev/video\d+$")


def is_stream_source(source: Any) -> bool:
    """Whether ``source`` names a live stream or capture device rather than a file.

    Examples
    --------
    >>> from persontrack.io.stream import is_stream_source
    >>> [is_stream_source(s) for s in ("udp://127.0.0.1:5000", "/dev/video0", "a.mkv")]
    [True, True, False]
    """
    if not isinstance(source, (str, os.PathLike)):
        return False
    text = os.fspath(source)
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    return scheme in STREAM_SCHEMES or bool(_DEVICE.match(text))


@dataclass(frozen=True)
class StreamFrame:
    """One decoded frame of a live source.

    Parameters
    ----------
    index : int
        0-based number of the frame among all frames decoded (dropped ones included).
    timestamp_ms : int
        Video time in milliseconds from the first frame, increasing across reconnects.
    wall_time : float
        When the frame was decoded (seconds since the epoch, ``time.time()``).
    image : numpy.ndarray
        (H, W, 3) uint8 RGB pixels.
    """

    index: int
    timestamp_ms: int
    wall_time: float
    image: np.ndarray = field(repr=False)


@dataclass
class StreamStats:
    """Counters of a :class:`StreamReader` (read them at any time)."""

    decoded: int = 0
    """Frames decoded."""
    delivered: int = 0
    """Frames handed to the consumer."""
    dropped: int = 0
    """Frames replaced by a newer one before the consumer took them."""
    connections: int = 0
    """Times the source was opened successfully."""
    failed_attempts: int = 0
    """Attempts to open the source that failed."""
    last_error: str | None = None
    """The last error met (opening or reading), for the user."""
    codec: str | None = None
    """FFmpeg's name of the video codec, as the source last opened said (e.g. ``"h264"``)."""
    format: str | None = None
    """FFmpeg's long container name, as the source last opened said."""
    frame_rate: float | None = None
    """The source's nominal frames per second (0.0 when it declares none)."""
    color_range: str | None = None
    """``"FULL"`` or ``"LIMITED"``, as the source last opened said."""


class StreamReader:
    """Decode a live source in the background; hand out the latest frame.

    Parameters
    ----------
    source : str
        URL (see :data:`STREAM_SCHEMES`), capture device (``/dev/videoN``) or file.
    reconnect : bool, default True
        Reopen the source when it ends or drops. False: the reader stops at the first end.
    max_attempts : int, optional
        Give up after this many failed attempts in a row (default: never).
    open_timeout_s, read_timeout_s : float
        See :data:`OPEN_TIMEOUT_S` and :data:`READ_TIMEOUT_S`.
    backoff_s, max_backoff_s : float
        See :data:`BACKOFF_S` and :data:`MAX_BACKOFF_S`.
    options : dict, optional
        FFmpeg options for opening (e.g. ``{"rtsp_transport": "tcp"}``).
    format : str, optional
        FFmpeg input format (default: ``v4l2`` for ``/dev/videoN``, else guessed).
    """

    def __init__(
        self,
        source: str | os.PathLike[str],
        *,
        reconnect: bool = True,
        max_attempts: int | None = None,
        open_timeout_s: float = OPEN_TIMEOUT_S,
        read_timeout_s: float = READ_TIMEOUT_S,
        backoff_s: float = BACKOFF_S,
        max_backoff_s: float = MAX_BACKOFF_S,
        options: Mapping[str, str] | None = None,
        format: str | None = None,
    ) -> None:
        if not isinstance(source, (str, os.PathLike)) or not os.fspath(source):
            raise InvalidParameterException(f"source must be a URL, device or path, got {source!r}")
        for name, value in (
            ("open_timeout_s", open_timeout_s),
            ("read_timeout_s", read_timeout_s),
            ("backoff_s", backoff_s),
            ("max_backoff_s", max_backoff_s),
        ):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise InvalidParameterException(f"{name} must be a number > 0, got {value!r}")
        if max_attempts is not None and (not isinstance(max_attempts, int) or max_attempts < 1):
            raise InvalidParameterException(f"max_attempts must be >= 1, got {max_attempts!r}")
        self.source = os.fspath(source)
        self.reconnect = reconnect
        self.max_attempts = max_attempts
        self.timeouts = (float(open_timeout_s), float(read_timeout_s))
        self.backoff = (float(backoff_s), float(max_backoff_s))
        self.options = {str(k): str(v) for k, v in (options or {}).items()}
        self.format = format or ("v4l2" if _DEVICE.match(self.source) else None)
        self.stats = StreamStats()
        self._latest: StreamFrame | None = None
        self._ready = threading.Condition()
        self._stop = threading.Event()
        self._finished = threading.Event()
        self._offset_ms = 0.0  # added to this connection's timestamps
        self._last_ms = -1.0
        self._thread = threading.Thread(target=self._run, name="persontrack-stream", daemon=True)
        self._thread.start()

    # -- consumer side ----------------------------------------------------------------------

    def read(self, timeout: float | None = None) -> StreamFrame | None:
        """The newest frame not yet read; waits for one. None when the reader has ended
        (stopped, or the source is gone for good) or ``timeout`` seconds passed."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._ready:
            while self._latest is None:
                if self._finished.is_set() or self._stop.is_set():
                    return None
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._ready.wait(0.2 if remaining is None else min(remaining, 0.2))
            frame, self._latest = self._latest, None
            self.stats.delivered += 1
            return frame

    def frames(self) -> Iterator[StreamFrame]:
        """The newest frames, one after another, until the reader ends or is stopped."""
        while True:
            frame = self.read()
            if frame is None:
                return
            yield frame

    @property
    def running(self) -> bool:
        """Whether the decoding thread still runs."""
        return not self._finished.is_set()

    def stop(self, timeout: float | None = None) -> None:
        """Stop decoding; returns once the thread has ended (at most ``timeout`` seconds,
        default the read timeout plus one second)."""
        self._stop.set()
        with self._ready:
            self._ready.notify_all()
        if threading.current_thread() is not self._thread:
            self._thread.join(self.timeouts[1] + 1.0 if timeout is None else timeout)

    close = stop

    def __enter__(self) -> StreamReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"StreamReader({self.source!r}, running={self.running}, stats={self.stats})"

    # -- decoding thread --------------------------------------------------------------------

    def _run(self) -> None:
        delay = self.backoff[0]
        failures = 0
        try:
            while not self._stop.is_set():
                opened = self._read_connection()
                if self._stop.is_set() or not self.reconnect:
                    break
                if opened:
                    failures, delay = 0, self.backoff[0]
                else:
                    failures += 1
                    if self.max_attempts is not None and failures >= self.max_attempts:
                        break
                self._stop.wait(delay)
                if not opened:
                    delay = min(delay * 2, self.backoff[1])
        finally:
            self._finished.set()
            with self._ready:
                self._ready.notify_all()

    def _read_connection(self) -> bool:
        """Open the source and decode it until it ends or drops; whether a frame came."""
        import av

        try:
            container = av.open(
                self.source, format=self.format, options=self.options, timeout=self.timeouts
            )
        except (av.FFmpegError, OSError) as exc:
            self.stats.failed_attempts += 1
            self.stats.last_error = f"cannot open {self.source}: {exc}"
            return False
        self.stats.connections += 1
        first: float | None = None
        try:
            if not container.streams.video:
                self.stats.last_error = f"{self.source} has no video stream"
                return False
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            rate = float(stream.average_rate or stream.guessed_rate or 25.0)
            declared = _rate(stream)
            ctx = stream.codec_context
            self.stats.codec, self.stats.format = str(ctx.name), str(container.format.long_name)
            self.stats.frame_rate, self.stats.color_range = declared, _color_range(ctx)
            started = time.monotonic()
            for frame in container.decode(stream):
                if self._stop.is_set():
                    break
                seconds = frame.time
                if seconds is None:  # no timestamps (some devices): time of arrival
                    seconds = time.monotonic() - started
                if first is None:
                    first = seconds
                    if self._last_ms >= 0:  # a reconnect: carry on after the last frame
                        self._offset_ms = self._last_ms + 1000.0 / rate
                ms = max(self._offset_ms + (seconds - first) * 1000.0, self._last_ms + 1.0)
                self._last_ms = ms
                self._publish(
                    StreamFrame(
                        self.stats.decoded,
                        int(round(ms)),
                        time.time(),
                        frame.to_ndarray(format="rgb24"),
                    )
                )
            else:
                if not self._stop.is_set():
                    self.stats.last_error = f"{self.source} ended"
        except (av.FFmpegError, OSError, EOFError) as exc:
            self.stats.last_error = f"{self.source} dropped: {exc}"
        finally:
            container.close()
        return first is not None

    def _publish(self, frame: StreamFrame) -> None:
        with self._ready:
            if self._latest is not None:
                self.stats.dropped += 1
            self._latest = frame
            self.stats.decoded += 1
            self._ready.notify_all()
