"""A video written again frame by frame, and where each tracked person is on every frame.

Shared by :func:`persontrack.annotate_video` and :func:`persontrack.redact_video`:
:func:`rewrite_video` decodes, paints and encodes one frame at a time (memory does not grow
with the video), and :class:`Timeline` gives each person's box on any frame, also between
analysed ones (``every_n_frames``/``target_fps``), by linear interpolation.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InvalidParameterException
from ..schema import validate_frame

H264_ENCODERS = ("libx264", "libopenh264")
"""H.264 encoders tried in this order (every browser plays H.264 in MP4)."""

FALLBACK_ENCODERS = ("libvpx-vp9", "libvpx")
"""Encoders used when PyAV has no H.264 encoder: VP9/VP8 also play in every current browser."""

MAX_GAP_MS = 1000.0
"""A person missed on analysed frames for up to this long (ms) is followed along the line
between the boxes before and after the gap; over longer gaps people stop or turn, and the
boxes are held from each side for one analysis step instead."""


def encoder(codec: str | None) -> str:
    """The PyAV encoder to use: ``codec`` if given, else H.264, else VP9/VP8."""
    import av

    available = av.codecs_available
    if codec is not None:
        if codec not in available:
            raise InvalidParameterException(f"codec {codec!r} is not available in this PyAV build")
        return codec
    for name in (*H264_ENCODERS, *FALLBACK_ENCODERS):
        if name in available:
            return name
    raise InvalidParameterException("PyAV has no H.264, VP9 or VP8 encoder: pass codec=")


Painter = Callable[[Any], np.ndarray]
"""Paints one decoded :class:`persontrack.io.video.Frame`: returns the RGB image to write."""


def rewrite_video(
    video: str | os.PathLike[str],
    path: str | os.PathLike[str],
    start: Callable[[Any], Painter],
    *,
    codec: str | None = None,
    crf: int = 23,
    progress: bool = False,
    backend: str = "auto",
) -> Path:
    """Write every frame of ``video`` to ``path`` as painted by ``start(metadata)``.

    ``start`` receives the video's :class:`persontrack.io.video.VideoMetadata` and returns
    the painter called on each frame in order. Returns ``path``.
    """
    import av
    from tqdm.auto import tqdm

    from ..io.video import open_video

    out_path = Path(path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with open_video(video, backend=backend) as reader:  # type: ignore[arg-type]
        meta = reader.metadata
        w, h = meta.FrameWidth, meta.FrameHeight
        fps = meta.FrameRate if meta.FrameRate > 0 else 25.0
        name = encoder(codec)
        paint = start(meta)
        options = (
            {"movflags": "+faststart"}
            if out_path.suffix.lower() in (".mp4", ".mov", ".m4v")
            else {}
        )
        with (
            av.open(str(out_path), "w", options=options) as out,
            tqdm(
                total=meta.FrameCount, unit="frame", disable=not progress, desc=out_path.name
            ) as bar,
        ):
            stream = out.add_stream(name, rate=Fraction(fps).limit_denominator(1001))
            stream.width, stream.height = w + w % 2, h + h % 2
            stream.pix_fmt = "yuv420p"
            if name == "libx264":
                stream.options = {"crf": str(crf), "preset": "veryfast"}
            elif name.startswith("libvpx"):
                stream.options = {
                    "crf": str(crf + 8),
                    "b": "0",
                    "deadline": "realtime",
                    "cpu-used": "8",
                }
            for frame in reader.frames():
                image = paint(frame)
                if image.shape[:2] != (stream.height, stream.width):
                    image = np.pad(image, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
                out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
                bar.update(1)
            out.mux(stream.encode())
    return out_path


def analysis_step(stamps: np.ndarray, frame_ms: float) -> float:
    """The usual time (ms) between analysed timestamps (one frame when there is one)."""
    times = np.unique(stamps)
    return float(np.median(np.diff(times))) if len(times) > 1 else frame_ms


class Timeline:
    """Each person's values (boxes) on any frame, interpolated between analysed ones.

    For a frame at ``now`` a person of ``values`` is shown when ``now`` is

    - within ``tol`` of one of its analysed timestamps: that entry's values;
    - between two of its entries at most ``max(MAX_GAP_MS, 1.5 * step)`` apart: the values
      on the straight line between them;
    - less than ``hold`` from its nearest entry (before its first, after its last, or
      across a long gap): that entry's values.

    Parameters
    ----------
    index : array of int
        The person (``Index``) of each entry.
    times : array of float
        The timestamp (ms) of each entry.
    values : (n, k) array of float
        What is interpolated (e.g. boxes as ``x1, y1, x2, y2``).
    step : float
        The usual time between analysed timestamps (:func:`analysis_step`).
    tol : float
        Half a frame (ms).
    hold : float, optional
        How long (ms) an entry is held beyond its person's first and last entries. Default
        ``step - tol``: over the frames skipped after it (none when every frame was analysed).
    """

    def __init__(
        self,
        index: np.ndarray,
        times: np.ndarray,
        values: np.ndarray,
        *,
        step: float,
        tol: float,
        hold: float | None = None,
    ) -> None:
        order = np.lexsort((times, index))
        index, times, values = index[order], times[order].astype(float), values[order]
        people, first = np.unique(index, return_index=True)
        bounds = [*first.tolist(), len(index)]
        self.people: list[tuple[int, np.ndarray, np.ndarray]] = [
            (int(p), times[a:b], values[a:b])
            for p, a, b in zip(people, bounds[:-1], bounds[1:], strict=True)
        ]
        self.step, self.tol = float(step), float(tol)
        self.max_gap = max(MAX_GAP_MS, 1.5 * self.step)
        self.hold = self.step - self.tol if hold is None else float(hold)
        self.width = values.shape[1] if values.ndim == 2 else 0

    def at(self, now: float) -> tuple[list[int], np.ndarray]:
        """The persons shown at ``now`` and their values (one row each)."""
        shown: list[int] = []
        rows: list[np.ndarray] = []
        hold = self.hold
        for person, t, v in self.people:
            if now < t[0] - hold or now > t[-1] + hold:
                continue
            j = int(np.searchsorted(t, now))  # t[j-1] < now <= t[j]
            after = j if j < len(t) else None
            before = j - 1 if j > 0 else None
            if after is not None and t[after] - now <= self.tol:
                value = v[after]
            elif before is not None and now - t[before] <= self.tol:
                value = v[before]
            elif before is not None and after is not None and t[after] - t[before] <= self.max_gap:
                a = (now - t[before]) / (t[after] - t[before])
                value = v[before] + a * (v[after] - v[before])
            else:
                near = [k for k in (before, after) if k is not None and abs(now - t[k]) < hold]
                if not near:
                    continue
                value = v[min(near, key=lambda k: abs(now - t[k]))]
            shown.append(person)
            rows.append(value)
        if not rows:
            return [], np.empty((0, self.width))
        return shown, np.vstack(rows)


def groups_by_time(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct timestamps of ``df`` (sorted by Timestamp) and each one's row range."""
    stamps = df["Timestamp"].to_numpy(np.int64)
    times, starts = np.unique(stamps, return_index=True)
    ends = np.append(starts[1:], len(df))
    return times, starts, ends


def box_pixels(rows: pd.DataFrame, w: int, h: int, prefix: str = "") -> np.ndarray:
    """Boxes ``x1, y1, x2, y2`` in pixels (float) of ``rows`` (``prefix="Face"``: face boxes)."""
    left = rows[prefix + "Left"].to_numpy(float)
    top = rows[prefix + "Top"].to_numpy(float)
    return np.column_stack(
        [
            left * w,
            top * h,
            (left + rows[prefix + "Width"].to_numpy(float)) * w,
            (top + rows[prefix + "Height"].to_numpy(float)) * h,
        ]
    )


def as_results(results: Any) -> pd.DataFrame:
    """Results given as a DataFrame, a TrackingResult or GetPersonTracking response(s)."""
    from ..convert import response_to_dataframe

    frame = getattr(results, "frame", None)
    if isinstance(frame, pd.DataFrame):
        results = frame
    if isinstance(results, pd.DataFrame):
        return validate_frame(results, fill_missing=True)
    if isinstance(results, Mapping) or (
        isinstance(results, Iterable) and not isinstance(results, (str, bytes))
    ):
        return response_to_dataframe(results)
    raise InvalidParameterException(
        "results must be a results DataFrame, a TrackingResult or a GetPersonTracking "
        f"response, got {type(results).__name__}"
    )
