"""Read videos: Rekognition-style metadata and a stream of RGB frames.

Frames are decoded with decord when it is installed and can read the file, and with PyAV
otherwise (ARM machines, GIFs, containers decord rejects) and under a thread budget (a Dask
segment task: decord cannot be held to one thread). Decoding streams, so memory does
not grow with the length of the video; frames larger than :data:`MAX_FRAME_PIXELS` (8K UHD)
or with a side over :data:`MAX_FRAME_SIDE` are refused with VideoTooLargeException from
the container's header, before a frame is decoded, so memory stays bounded.

Examples
--------
>>> import persontrack as pt
>>> meta = pt.read_metadata("data/sample.mp4")
>>> meta.Format, meta.FrameWidth, meta.FrameHeight
('QuickTime / MOV', 640, 360)
>>> with pt.open_video("data/sample.mp4") as video:
...     frames = list(video.frames(target_fps=2))
>>> frames[0].index, frames[0].timestamp_ms, frames[0].image.shape
(0, 0, (360, 640, 3))
"""

from __future__ import annotations

import io
import math
import numbers
import os
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import IO, Any, Literal, Union

import numpy as np

from ..errors import InvalidParameterException, InvalidS3ObjectException, VideoTooLargeException
from ..threads import thread_budget
from . import _readers

DECORD_CORES_AT_ONE_THREAD = 1.45
"""Cores decord keeps busy when told ``num_threads=1`` (measured: decoding 1,200 frames of a
768x432 H.264 video, every 10th converted, took 0.82 s and 1.19 CPU seconds; PyAV with one
thread 0.93 s and 0.91 CPU seconds). Two Dask workers decoding with decord side by side
therefore fought over the cores (each 43 % slower than alone, PyAV 1 % slower): with
``open_video(backend="auto")`` reading with PyAV under a thread budget, 2 workers tracked
20 minutes of video 1.75x as fast as one, against 1.49x with decord
(``benchmarks/long_video.py --minutes 20 --workers 1 2``, docs/benchmarks/idle_machine.md)."""

MAX_FRAME_PIXELS = _readers.MAX_FRAME_PIXELS
"""Largest frame read, in pixels (8K UHD, 7680x4320); larger is VideoTooLargeException."""
MAX_FRAME_SIDE = _readers.MAX_FRAME_SIDE
"""Longest frame side read, in pixels (10,000); longer is VideoTooLargeException."""
FrameTooLargeError = _readers.FrameTooLargeError
check_frame_size = _readers.check_frame_size

Source = Union[str, "os.PathLike[str]", IO[bytes]]
Backend = Literal["auto", "decord", "pyav"]

BACKENDS: tuple[str, ...] = ("auto", "decord", "pyav")
"""Accepted values of ``backend``."""

_REKOGNITION_FIELDS = (
    "Codec",
    "DurationMillis",
    "Format",
    "FrameRate",
    "FrameHeight",
    "FrameWidth",
    "ColorRange",
)


@dataclass(frozen=True)
class VideoMetadata:
    """Facts about a video, with the field names of Rekognition's ``VideoMetadata``.

    Parameters
    ----------
    Codec : str
        FFmpeg's codec name, e.g. ``"h264"``.
    ColorRange : {"FULL", "LIMITED"}
        Luminance range of the pixels.
    DurationMillis : int
        Length of the video in milliseconds.
    Format : str
        FFmpeg's long container name, e.g. ``"QuickTime / MOV"``.
    FrameHeight, FrameWidth : int
        Frame size in pixels.
    FrameRate : float
        Average frames per second.
    FrameCount : int or None
        Frames the container declares (or decord counts); None when unknown.
        Not part of Rekognition's shape.
    FileExtension : str or None
        Lower-case extension of the file name without the dot, e.g. ``"mp4"``.
        Not part of Rekognition's shape.

    Examples
    --------
    >>> m = VideoMetadata("h264", "LIMITED", 5000, "QuickTime / MOV", 360, 12.0, 640)
    >>> VideoMetadata.from_dict(m.to_dict()) == m
    True
    """

    Codec: str
    ColorRange: str
    DurationMillis: int
    Format: str
    FrameHeight: int
    FrameRate: float
    FrameWidth: int
    FrameCount: int | None = None
    FileExtension: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The Rekognition ``VideoMetadata`` dict (only the fields botocore's shape has)."""
        return {
            "Codec": self.Codec,
            "DurationMillis": int(self.DurationMillis),
            "Format": self.Format,
            "FrameRate": float(self.FrameRate),
            "FrameHeight": int(self.FrameHeight),
            "FrameWidth": int(self.FrameWidth),
            "ColorRange": self.ColorRange,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> VideoMetadata:
        """Build from a Rekognition ``VideoMetadata`` dict; unknown keys are ignored.

        ``FrameCount`` and ``FileExtension`` are read when present.
        """
        if not isinstance(d, Mapping):
            raise InvalidParameterException(
                f"VideoMetadata.from_dict needs a mapping, got {type(d).__name__}"
            )
        missing = [k for k in _REKOGNITION_FIELDS if k not in d]
        if missing:
            raise InvalidParameterException(f"VideoMetadata is missing {', '.join(missing)}")
        count = d.get("FrameCount")
        return cls(
            Codec=str(d["Codec"]),
            ColorRange=str(d["ColorRange"]),
            DurationMillis=int(d["DurationMillis"]),
            Format=str(d["Format"]),
            FrameHeight=int(d["FrameHeight"]),
            FrameRate=float(d["FrameRate"]),
            FrameWidth=int(d["FrameWidth"]),
            FrameCount=None if count is None else int(count),
            FileExtension=d.get("FileExtension"),
        )


@dataclass(frozen=True)
class Frame:
    """One decoded frame.

    Parameters
    ----------
    index : int
        0-based number of the frame in the source video (before any sampling).
    timestamp_ms : int
        Presentation time in milliseconds from the start of the video.
    image : numpy.ndarray
        (H, W, 3) uint8 RGB pixels, C-contiguous.
    """

    index: int
    timestamp_ms: int
    image: np.ndarray = field(repr=False)


def _check_source(source: Any) -> Source:
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if not isinstance(path, str):
            raise InvalidParameterException("video path must be text, not bytes")
        if not os.path.exists(path):
            raise InvalidS3ObjectException(f"Cannot read video {path!r}: file does not exist")
        if not os.path.isfile(path):
            raise InvalidS3ObjectException(f"Cannot read video {path!r}: not a regular file")
        return path
    if isinstance(source, io.TextIOBase):
        raise InvalidParameterException("video file object must be opened in binary mode ('rb')")
    if hasattr(source, "read") and hasattr(source, "seek"):
        return source
    raise InvalidParameterException(
        "source must be a path (str or os.PathLike) or a seekable binary file object, "
        f"got {type(source).__name__}"
    )


def _check_sampling(every_n: Any, target_fps: Any) -> tuple[int | None, float | None]:
    if every_n is not None and target_fps is not None:
        raise InvalidParameterException("give every_n or target_fps, not both")
    if every_n is not None:
        if isinstance(every_n, bool) or not isinstance(every_n, numbers.Integral):
            raise InvalidParameterException(
                f"every_n must be an integer, got {type(every_n).__name__}"
            )
        if every_n < 1:
            raise InvalidParameterException(f"every_n must be >= 1, got {every_n}")
        return int(every_n), None
    if target_fps is not None:
        if isinstance(target_fps, bool) or not isinstance(target_fps, numbers.Real):
            raise InvalidParameterException(
                f"target_fps must be a number, got {type(target_fps).__name__}"
            )
        fps = float(target_fps)
        if not (math.isfinite(fps) and fps > 0):
            raise InvalidParameterException(f"target_fps must be > 0, got {target_fps}")
        return None, fps
    return None, None


def _extension(source: Source) -> str | None:
    name = _readers.describe_source(source)
    ext = os.path.splitext(name)[1].lower().lstrip(".")
    return ext or None


class VideoReader:
    """An open video. Make one with :func:`open_video`; use it as a context manager.

    Attributes
    ----------
    metadata : VideoMetadata
        Facts about the video.
    backend : str
        ``"decord"`` or ``"pyav"``: the decoder in use.
    """

    def __init__(self, impl: Any, source: Source, fallback: Any = None) -> None:
        self._impl: Any = impl
        self._fallback: Any = fallback
        self._source = source
        self.backend: str = impl.name
        p = impl.probe
        self.metadata = VideoMetadata(
            Codec=p.codec,
            ColorRange=p.color_range,
            DurationMillis=p.duration_ms,
            Format=p.format,
            FrameHeight=p.height,
            FrameRate=p.frame_rate,
            FrameWidth=p.width,
            FrameCount=p.frame_count,
            FileExtension=_extension(source),
        )

    def frames(
        self,
        every_n: int | None = None,
        target_fps: float | None = None,
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> Iterator[Frame]:
        """Decode frames in order.

        Parameters
        ----------
        every_n : int, optional
            Keep frames 0, n, 2n, ...
        target_fps : float, optional
            Keep the frames nearest to a regular grid at this rate; a rate at or above the
            video's keeps every frame. Not together with ``every_n``.
        start_ms, end_ms : int, optional
            Only the frames with ``start_ms <= timestamp < end_ms``; decoding seeks to
            ``start_ms`` (frame numbers, and with ``target_fps`` the sampling grid, stay
            those of the whole video).

        Yields
        ------
        Frame
        """
        every_n, target_fps = _check_sampling(every_n, target_fps)
        if self._impl is None:
            raise InvalidParameterException("the video reader is closed")
        select = partial(
            _readers.select_frames,
            every_n=every_n,
            target_fps=target_fps,
            source_fps=self.metadata.FrameRate,
        )
        frames = self._frames(select, int(start_ms or 0))
        return frames if end_ms is None else _until(frames, end_ms)

    def _frames(self, select: Any, start_ms: int = 0) -> Iterator[Frame]:
        name = _readers.describe_source(self._source)
        last = -1
        try:
            for index, ms, image in self._impl.read(select, start_ms):
                last = index
                yield Frame(index=index, timestamp_ms=ms, image=image)
            return
        except _readers.BackendError as e:
            if self._fallback is None:
                raise InvalidS3ObjectException(
                    f"Cannot decode video {name!r} with {self.backend}: {e}"
                ) from None
            reason = f"{self.backend}: {e}"
        # decord opened the file but broke while decoding (damaged or truncated data):
        # PyAV decodes from the start and the frames already given are skipped.
        warnings.warn(
            f"{name}: {reason}; continuing with PyAV after frame {last}",
            RuntimeWarning,
            stacklevel=3,
        )
        self._impl.close()
        self._impl, self._fallback = self._fallback, None
        self.backend = self._impl.name
        try:
            for index, ms, image in self._impl.read(select, start_ms):
                if index > last:
                    yield Frame(index=index, timestamp_ms=ms, image=image)
        except _readers.BackendError as e:
            raise InvalidS3ObjectException(
                f"Cannot decode video {name!r}. {reason}; pyav: {e}"
            ) from None

    def close(self) -> None:
        """Release the decoder."""
        if self._impl is not None:
            self._impl.close()
            self._impl = None

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        m = self.metadata
        return (
            f"VideoReader({_readers.describe_source(self._source)!r}, backend={self.backend!r}, "
            f"{m.FrameWidth}x{m.FrameHeight}, {m.FrameRate:g} fps, {m.DurationMillis} ms)"
        )


def _until(frames: Iterator[Frame], end_ms: int) -> Iterator[Frame]:
    """The frames before ``end_ms``; the decoder stops there."""
    try:
        for frame in frames:
            if frame.timestamp_ms >= end_ms:
                return
            yield frame
    finally:
        frames.close()  # type: ignore[attr-defined]


def open_video(source: Source, *, backend: Backend = "auto") -> VideoReader:
    """Open a video for reading.

    Parameters
    ----------
    source : str, os.PathLike or binary file object
        The video. A file object must be seekable; decord reads it whole into memory.
    backend : {"auto", "decord", "pyav"}
        ``"auto"`` uses decord and falls back to PyAV when decord is not installed or
        cannot read the file; under a thread budget (:func:`persontrack.threads.limit_threads`,
        as in a Dask segment task) it uses PyAV first, as decord cannot be held to one
        thread (:data:`DECORD_CORES_AT_ONE_THREAD`).

    Returns
    -------
    VideoReader

    Raises
    ------
    InvalidS3ObjectException
        The file is missing, empty, not a video or has no decodable frame.
    VideoTooLargeException
        The frames are larger than :data:`MAX_FRAME_PIXELS` or :data:`MAX_FRAME_SIDE`.
    InvalidParameterException
        ``source`` or ``backend`` is of the wrong type or value.

    Examples
    --------
    >>> with open_video("data/sample.mp4", backend="pyav") as video:
    ...     n = sum(1 for _ in video.frames(every_n=10))
    """
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise InvalidParameterException(f"backend must be one of {BACKENDS}, got {backend!r}")
    source = _check_source(source)
    name = _readers.describe_source(source)
    if backend == "decord" and not _readers.decord_available():
        raise InvalidParameterException(f"backend='decord' but decord {_readers.decord_problem()}")

    try:
        return _open(source, name, backend)
    except _readers.FrameTooLargeError as e:
        raise VideoTooLargeException(f"Cannot read video {name!r}: {e}") from None


def _open(source: Source, name: str, backend: Backend) -> VideoReader:
    reasons: dict[str, str] = {}
    pyav: _readers.PyAVBackend | None = None
    try:
        pyav = _readers.PyAVBackend(source)
    except _readers.BackendError as e:
        reasons["pyav"] = str(e)
    # under a thread budget PyAV keeps to it and decord does not
    budgeted = backend == "auto" and pyav is not None and thread_budget() is not None
    if backend in ("auto", "decord") and not budgeted:
        if _readers.decord_available():
            try:
                probe = pyav.probe if pyav is not None else None
                fallback = pyav if backend == "auto" else None
                return VideoReader(_readers.DecordBackend(source, probe), source, fallback)
            except _readers.BackendError as e:
                reasons["decord"] = str(e)
        else:
            reasons["decord"] = _readers.decord_problem() or "not installed"
        if backend == "decord":
            raise InvalidS3ObjectException(
                f"Cannot read video {name!r} with decord: {reasons['decord']}"
            )
    if pyav is not None:
        return VideoReader(pyav, source)
    if backend == "pyav":
        raise InvalidS3ObjectException(f"Cannot read video {name!r} with PyAV: {reasons['pyav']}")
    why = "; ".join(f"{k}: {v}" for k, v in reasons.items())
    raise InvalidS3ObjectException(f"Cannot read video {name!r} (not a readable video). {why}")


def read_metadata(source: Source) -> VideoMetadata:
    """Facts about a video without decoding it all.

    Examples
    --------
    >>> read_metadata("data/sample.mp4").to_dict()["Codec"]
    'h264'
    """
    with open_video(source) as video:
        return video.metadata


def iter_frames(
    source: Source,
    *,
    every_n: int | None = None,
    target_fps: float | None = None,
    backend: Backend = "auto",
) -> Iterator[Frame]:
    """Decode a video's frames one by one (see :meth:`VideoReader.frames`).

    The arguments are checked and the video opened when this is called, not when the
    first frame is asked for.

    Examples
    --------
    >>> stamps = [f.timestamp_ms for f in iter_frames("data/sample.mp4", every_n=12)]
    """
    _check_sampling(every_n, target_fps)
    video = open_video(source, backend=backend)
    frames = video.frames(every_n=every_n, target_fps=target_fps)

    def gen() -> Iterator[Frame]:
        with video:
            yield from frames

    return gen()


def probe_duration(path: str | os.PathLike[str]) -> float | None:
    """The container's duration in seconds, or None when it cannot be read cheaply."""
    try:
        import av

        with av.open(str(path)) as container:
            if container.duration is not None:
                return float(container.duration) / 1_000_000
            durations = [
                float(s.duration * s.time_base)
                for s in container.streams.video
                if s.duration is not None and s.time_base is not None
            ]
            return max(durations) if durations else None
    except Exception:  # unreadable videos are reported by the job, not at start
        return None
