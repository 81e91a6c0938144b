"""Decoder back ends behind :mod:`persontrack.io.video` (private).

Two back ends decode frames: decord (fast, x86 only, cannot read GIFs and some containers)
and PyAV (everywhere). Container facts (codec, format, colour range) always come from PyAV's
probe, since decord does not expose them.

Both back ends stream: decord reads small batches of frames with ``get_batch`` and PyAV
decodes packet by packet, so memory does not grow with the length of the video.
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
import os
import re
import sys
import tempfile
import warnings
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any, TypeVar, Union

import numpy as np

from ..threads import thread_budget

Source = Union[str, "os.PathLike[str]", IO[bytes]]
T = TypeVar("T")

#: Largest frame decoded, in pixels: 8K UHD (7680 x 4320, 33.2 MP; ~100 MB per decoded RGB
#: frame). Rekognition Video documents no frame-size limit of its own (only 10 GB and 6 h);
#: an 8000 x 8000 video ran for minutes at 4.9 GB RSS before this guard (issue 14).
MAX_FRAME_PIXELS = 7680 * 4320
#: Longest frame side decoded, in pixels: Rekognition Image's 10K-pixel limit (DetectLabels).
MAX_FRAME_SIDE = 10_000


class FrameTooLargeError(Exception):
    """The frames are larger than :data:`MAX_FRAME_PIXELS` or :data:`MAX_FRAME_SIDE`."""


def check_frame_size(width: int, height: int) -> None:
    """Raise FrameTooLargeError for frames over the limits, before any is decoded."""
    if max(width, height) > MAX_FRAME_SIDE or width * height > MAX_FRAME_PIXELS:
        raise FrameTooLargeError(
            f"frames are {width}x{height} pixels; the limits are {MAX_FRAME_SIDE} pixels a "
            f"side and {MAX_FRAME_PIXELS / 1e6:.1f} megapixels (7680x4320)"
        )


#: Frame times decord reports beyond this many seconds are its "no timestamp" marker
#: (~9.2e15 s), never a real time: 10x Rekognition's 6-hour limit.
_DECORD_MAX_SECONDS = 10 * 6 * 3600

#: Frames decord decodes per ``get_batch`` call: small, so memory stays flat.
DECORD_BATCH = 8


class BackendError(Exception):
    """One back end could not open or decode the video (the reason is the message)."""


@dataclass(frozen=True)
class Probe:
    """What a back end learnt about the video when it opened it."""

    codec: str
    format: str
    color_range: str
    duration_ms: int
    frame_rate: float
    width: int
    height: int
    frame_count: int | None


def rewind(source: Source) -> None:
    """Seek a file object back to its start (paths need nothing)."""
    if hasattr(source, "seek"):
        source.seek(0)


# --------------------------------------------------------------------------- PyAV


def _color_range(codec_context: Any) -> str:
    # AVCOL_RANGE_JPEG == 2 is full range; "yuvj" pixel formats are full range by
    # definition, and RGB/palette formats (GIF, PNG) carry full-range values.
    pix_fmt = str(codec_context.pix_fmt or "")
    if int(codec_context.color_range or 0) == 2 or pix_fmt.startswith("yuvj"):
        return "FULL"
    if pix_fmt and not pix_fmt.startswith(("yuv", "nv", "p0", "gray")):
        return "FULL"
    return "LIMITED"


def _rate(stream: Any) -> float:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate:
            return float(rate)
    return 0.0


class PyAVBackend:
    """Decode with PyAV (FFmpeg bindings); reads anything FFmpeg reads."""

    name = "pyav"

    def __init__(self, source: Source) -> None:
        import av

        self._source = source
        try:
            container = av.open(source, mode="r")
        except Exception as e:  # any FFmpeg failure means "cannot open"
            raise BackendError(f"{type(e).__name__}: {e}") from None
        try:
            if not container.streams.video:
                raise BackendError("no video stream in the file")
            stream = container.streams.video[0]
            ctx = stream.codec_context
            rate = _rate(stream)
            frames = int(stream.frames or 0) or None
            if stream.duration and stream.time_base:
                duration_ms = float(stream.duration * stream.time_base) * 1000.0
            elif container.duration:
                duration_ms = container.duration / 1000.0  # microseconds
            elif frames and rate:
                duration_ms = frames / rate * 1000.0
            else:
                duration_ms = 0.0
            self.probe = Probe(
                codec=str(ctx.name),
                format=str(container.format.long_name),
                color_range=_color_range(ctx),
                duration_ms=int(round(duration_ms)),
                frame_rate=rate,
                width=int(ctx.width),
                height=int(ctx.height),
                frame_count=frames,
            )
        finally:
            container.close()
        check_frame_size(self.probe.width, self.probe.height)  # before decoding a frame
        # A container can open fine and still hold nothing decodable (header-only files).
        frames_iter = self._decode(warn=False)
        try:
            first = next(frames_iter, None)
        except Exception as e:
            raise BackendError(f"{type(e).__name__}: {e}") from None
        finally:
            frames_iter.close()
        if first is None:
            raise BackendError("no decodable video frame")

    def _decode(
        self, warn: bool = True, start_ms: int = 0
    ) -> Generator[tuple[int, int, Any], None, None]:
        """Yield ``(index, timestamp_ms, av.VideoFrame)`` in presentation order.

        With ``start_ms`` it seeks to the key frame before that time and numbers frames
        by their timestamps (``round(ms * rate / 1000)``: the same numbers as decoding
        from the start, for a constant frame rate).
        """
        import av

        rewind(self._source)
        container = av.open(self._source, mode="r")
        try:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            # 0: FFmpeg's choice (all cores); a Dask task's budget (persontrack/threads.py)
            stream.thread_count = thread_budget() or 0
            tb = stream.time_base
            start = stream.start_time or 0
            rate = self.probe.frame_rate or 25.0
            index, last_ms, errors = 0, -1, 0
            seeking = start_ms > 0 and tb is not None
            if seeking and tb is not None:
                container.seek(
                    start + int(start_ms / 1000.0 / float(tb)), stream=stream, backward=True
                )
                index = -1
            for packet in container.demux(stream):
                try:
                    decoded = packet.decode()
                except av.error.FFmpegError:
                    # One damaged packet: skip it like the ffmpeg CLI does.
                    errors += 1
                    continue
                for frame in decoded:
                    if frame.pts is not None and tb is not None:
                        ms = int(round(float((frame.pts - start) * tb) * 1000.0))
                    else:
                        ms = int(round(index / rate * 1000.0))
                    ms = max(ms, last_ms + 1)  # strictly increasing even with broken pts
                    last_ms = ms
                    if seeking:
                        index = max(int(round(ms * rate / 1000.0)), index + 1)
                        if ms < start_ms:
                            continue
                        yield index, ms, frame
                        continue
                    yield index, ms, frame
                    index += 1
            declared = self.probe.frame_count
            if warn and not seeking and (errors or (declared and index < declared)):
                warnings.warn(
                    f"PyAV decoded {index} of {declared or '?'} frames "
                    f"({errors} undecodable packet(s) skipped); is the file truncated?",
                    RuntimeWarning,
                    stacklevel=3,
                )
        finally:
            container.close()

    def read(self, select: Any, start_ms: int = 0) -> Iterator[tuple[int, int, np.ndarray]]:
        """Yield ``(index, timestamp_ms, rgb)`` for the frames ``select`` (a
        :func:`select_frames` partial) keeps, from ``start_ms`` on (seeking there; the
        sampling grid stays the whole video's, so a segment keeps the frames the whole
        video would)."""
        if start_ms > 0:
            select = functools.partial(select, origin_ms=0.0)
        # Only kept frames are converted to RGB, which is most of the per-frame cost.
        for index, ms, frame in select(self._decode(start_ms=start_ms)):
            yield index, ms, np.ascontiguousarray(frame.to_ndarray(format="rgb24"))

    def close(self) -> None:
        pass


# --------------------------------------------------------------------------- decord


_DECORD_PROBLEM: list[str | None] = []


def decord_problem() -> str | None:
    """Why decord cannot be used here, or None when it imports.

    ``"not installed"``, or the error of an import that fails otherwise (a decord build
    that does not match the installed numpy or FFmpeg libraries): then a RuntimeWarning
    says so once and PyAV reads the videos. Measured: decord 0.6.0 imports and decodes
    frames identical to PyAV's under numpy 2.5 on Python 3.13 (docs/benchmarks/faces_stack.md).
    """
    if not _DECORD_PROBLEM:
        try:
            import decord  # noqa: F401
        except ImportError as e:
            missing = isinstance(e, ModuleNotFoundError) and e.name == "decord"
            _DECORD_PROBLEM.append("not installed" if missing else f"cannot be imported: {e}")
        except Exception as e:  # a broken binary build raises anything
            _DECORD_PROBLEM.append(f"cannot be imported: {type(e).__name__}: {e}")
        else:
            _DECORD_PROBLEM.append(None)
        problem = _DECORD_PROBLEM[0]
        if problem is not None and problem != "not installed":
            warnings.warn(f"decord {problem}; videos are read with PyAV", RuntimeWarning, 2)
    return _DECORD_PROBLEM[0]


def decord_available() -> bool:
    return decord_problem() is None


def _quiet_decord() -> Any:
    import decord

    # decord prints FFmpeg's warnings to stderr unless told otherwise.
    decord.logging.set_level(decord.logging.QUIET)
    return decord


class _Captured:
    text = ""


@contextlib.contextmanager
def _stderr_captured() -> Iterator[_Captured]:
    """Catch what C++ code writes to file descriptor 2 (decord logs its open errors there)."""
    captured = _Captured()
    fd = 2  # the C-level stderr, whatever Python's sys.stderr is (notebooks, pytest)
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    try:
        saved = os.dup(fd)
    except OSError:  # no file descriptor 2 at all
        yield captured
        return
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), fd)
        try:
            yield captured
        finally:
            os.dup2(saved, fd)
            os.close(saved)
            tmp.seek(0)
            captured.text = tmp.read().decode("utf-8", "replace").strip()


def _decord_reason(e: Exception) -> str:
    # decord's messages carry "[hh:mm:ss] /github/workspace/src/...cc:NN: " prefixes.
    text = re.sub(r"\[\d\d:\d\d:\d\d\] \S+:\d+: ", "", str(e)).strip()
    lines = [line for line in text.splitlines() if line.strip()]
    return f"{type(e).__name__}: {lines[-1] if lines else text}"


def _native(arr: Any) -> np.ndarray:
    # With the default "native" bridge decord returns its own NDArray; another bridge set
    # by the user (torch, tf) returns tensors, which numpy can still view.
    if hasattr(arr, "asnumpy"):
        return np.asarray(arr.asnumpy())
    if hasattr(arr, "numpy"):
        return np.asarray(arr.numpy())
    return np.asarray(arr)


class DecordBackend:
    """Decode with decord (random access, fast on x86)."""

    name = "decord"

    def __init__(self, source: Source, probe: Probe | None) -> None:
        if probe is not None:
            check_frame_size(probe.width, probe.height)
        decord = _quiet_decord()
        self._decord = decord
        rewind(source)
        try:
            with _stderr_captured() as captured:
                # decord reads a file object whole into memory; a path streams from disk.
                # num_threads 0: decord's choice; else a Dask task's budget
                vr = decord.VideoReader(source, ctx=decord.cpu(0), num_threads=thread_budget() or 0)
                n = len(vr)
                ts = np.asarray(vr.get_frame_timestamp(range(n)), dtype=np.float64)
                with decord.bridge._BridgeScope("native"):
                    first = _native(vr.get_batch([0]))
                vr.seek(0)  # stop decord's read-ahead (see read())
        except Exception as e:  # decord raises RuntimeError, DECORDError, AssertionError...
            logged = _decord_reason(Exception(captured.text)).split(": ", 1)[-1]
            reason = _decord_reason(e)
            raise BackendError(f"{reason} ({logged})" if logged else reason) from None
        if first.ndim != 4 or first.shape[-1] != 3:
            raise BackendError(f"unexpected frame shape {first.shape}")
        if n and not (np.isfinite(ts).all() and np.abs(ts).max() <= _DECORD_MAX_SECONDS):
            # seen on Matroska files whose packets lack durations: decord reports ~9.2e15 s
            # (its "no timestamp" value), which became INT64_MIN ms; PyAV reads them right
            raise BackendError("decord reads no valid frame timestamps from this file")
        self._vr = vr
        ms = np.round(ts[:, 0] * 1000.0).astype(np.int64)
        # decord's float32 seconds can collide after rounding; keep them strictly increasing.
        self._ms = np.maximum.accumulate(ms - np.arange(n)) + np.arange(n) if n else ms
        rate = float(vr.get_avg_fps())
        height, width = int(first.shape[1]), int(first.shape[2])
        check_frame_size(width, height)
        if probe is None:
            probe = Probe(
                codec="unknown",
                format="unknown",
                color_range="LIMITED",
                duration_ms=int(round(ts[-1, 1] * 1000.0)),
                frame_rate=rate,
                width=width,
                height=height,
                frame_count=n,
            )
        elif probe.frame_count is None:
            probe = Probe(**{**probe.__dict__, "frame_count": n})
        self.probe = probe

    def read(self, select: Any, start_ms: int = 0) -> Iterator[tuple[int, int, np.ndarray]]:
        """Yield ``(index, timestamp_ms, rgb)`` for the frames ``select`` keeps, from
        ``start_ms`` on (decord seeks to them)."""
        keep = [i for i, _, _ in select((i, int(m), None) for i, m in enumerate(self._ms))]
        keep = [i for i in keep if self._ms[i] >= start_ms]
        for start in range(0, len(keep), DECORD_BATCH):
            chunk = keep[start : start + DECORD_BATCH]
            try:
                with self._decord.bridge._BridgeScope("native"):
                    batch = _native(self._vr.get_batch(chunk))
                # After a read, decord keeps decoding the rest of the video in a background
                # thread and holds every frame (dmlc/decord#157, #208): with a slow consumer
                # that is the whole video in RAM. Seeking back to 0 stops and clears it.
                self._vr.seek(0)
            except Exception as e:
                raise BackendError(f"failed at frame {chunk[0]}: {_decord_reason(e)}") from None
            for j, i in enumerate(chunk):
                yield i, int(self._ms[i]), np.ascontiguousarray(batch[j]).copy()

    def close(self) -> None:
        self._vr = None


# --------------------------------------------------------------------------- sampling


def select_frames(
    items: Iterable[tuple[int, int, T]],
    *,
    every_n: int | None,
    target_fps: float | None,
    source_fps: float,
    origin_ms: float | None = None,
) -> Iterator[tuple[int, int, T]]:
    """Keep the ``(index, timestamp_ms, payload)`` items that sampling asks for.

    ``every_n`` keeps indices 0, n, 2n, ...; ``target_fps`` keeps, for each point of the
    grid ``t0 + k * 1000 / target_fps`` ms inside the video, the frame nearest to it (ties
    go to the earlier frame). ``t0`` is the first item's time, or ``origin_ms`` for items
    that start later in the video (a seek): the grid is then the whole video's, from its
    first point less than half a frame before the first item. It looks one frame ahead,
    so it streams.

    Examples
    --------
    >>> frames = [(i, round(i * 1000 / 30), None) for i in range(90)]  # 3 s at 30 fps
    >>> whole = [i for i, _, _ in select_frames(frames, every_n=None, target_fps=16,
    ...                                         source_fps=30)]
    >>> later = [i for i, _, _ in select_frames(frames[40:], every_n=None, target_fps=16,
    ...                                         source_fps=30, origin_ms=0.0)]
    >>> later == [i for i in whole if i >= 40]
    True
    """
    if every_n is not None:
        yield from (it for it in items if it[0] % every_n == 0)
        return
    if target_fps is None or (source_fps > 0 and target_fps >= source_fps):
        yield from items
        return
    step = 1000.0 / target_fps
    frame_ms = 1000.0 / source_fps if source_fps > 0 else step
    grid: float | None = None
    pending: tuple[int, int, T] | None = None
    last = -1
    for it in items:
        ms = it[1]
        if grid is None:
            if origin_ms is None:
                grid = float(ms)
            else:  # the whole video's first grid point after ms - frame_ms / 2
                k = math.floor((ms - frame_ms / 2 - origin_ms) / step) + 1
                grid = origin_ms + max(k, 0) * step
        while ms >= grid:
            if pending is not None and grid - pending[1] <= ms - grid:
                chosen = pending
            else:
                chosen = it
            if chosen[0] > last:
                last = chosen[0]
                yield chosen
            pending = None
            grid += step
        pending = it if it[0] > last else None
    # The last grid point counts only if it falls inside the last frame's display time
    # (less half a millisecond: timestamps are rounded to whole milliseconds).
    if pending is not None and grid is not None and grid < pending[1] + frame_ms - 0.5:
        yield pending


def describe_source(source: Source) -> str:
    """A name for messages: the path, or the file object's name."""
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    name = getattr(source, "name", None)
    if isinstance(name, str):
        return name
    if isinstance(source, io.BytesIO):
        return f"<in-memory video, {len(source.getbuffer())} bytes>"
    return repr(source)
