"""Annotated video: the footage written back with each person's box, Index and trail.

The quickest way to judge a tracker is to watch its output over the footage. This module
draws results on frames (:func:`annotate_frame`) and writes a whole video with them
(:func:`annotate_video`); :func:`show_video` plays the file in a notebook.

What is drawn, in the colour of the person's Index (:func:`persontrack.analysis.plot.index_color`,
the colour of the plots):

- on an analysed frame, the person's box (solid) with the Index in a tag above it, the face
  box (thinner) and, optionally, the skeleton of the 33 body landmarks;
- on a frame between analysed ones (``every_n_frames``/``target_fps``), the last known boxes,
  dashed and thinner with a white tag: where people were, not new detections;
- a trail of each person's recent positions that fades out over ``trail_ms``.

Frames are decoded, drawn and encoded one at a time, so memory does not grow with the
length of the video.

Examples
--------
>>> import tempfile, pandas as pd, persontrack as pt
>>> df = pt.validate_frame(pd.DataFrame({
...     "Timestamp": [0, 500, 1000], "Index": [0, 0, 0],
...     "Left": [0.1, 0.3, 0.5], "Top": [0.2, 0.25, 0.3],
...     "Width": [0.2, 0.2, 0.2], "Height": [0.6, 0.6, 0.6]}), fill_missing=True)
>>> out = pt.annotate_video("data/sample.mp4", df, tempfile.mkdtemp() + "/boxes.mp4")
>>> pt.read_metadata(out).Codec in ("h264", "vp9")
True
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd

from ..errors import InvalidParameterException
from ..schema import BODY_LANDMARK_NAMES
from ._frames import analysis_step, as_results, groups_by_time, rewrite_video
from .plot import index_color

TRAIL_MS = 2000.0
"""How long a person's trail stays on screen (ms): two seconds show where someone came
from without covering the scene on busy footage (pedestrian_survaillance, 30 fps)."""

TRAIL_SHADES = 4
"""Opacity steps of a fading trail (each step is one blend of the frame: 4 keep the fade
smooth at the cost of about 1 ms a frame at 640x360)."""

MIN_VISIBILITY = 0.5
"""Body landmarks less visible than this (MediaPipe's visibility, 0-1) are not drawn."""

_BONES_BY_NAME = (
    ("left_shoulder", "right_shoulder"),
    ("left_shoulder", "left_elbow"),
    ("left_elbow", "left_wrist"),
    ("right_shoulder", "right_elbow"),
    ("right_elbow", "right_wrist"),
    ("left_shoulder", "left_hip"),
    ("right_shoulder", "right_hip"),
    ("left_hip", "right_hip"),
    ("left_hip", "left_knee"),
    ("left_knee", "left_ankle"),
    ("left_ankle", "left_heel"),
    ("left_heel", "left_foot_index"),
    ("right_hip", "right_knee"),
    ("right_knee", "right_ankle"),
    ("right_ankle", "right_heel"),
    ("right_heel", "right_foot_index"),
    ("nose", "left_eye"),
    ("nose", "right_eye"),
    ("left_eye", "left_ear"),
    ("right_eye", "right_ear"),
    ("mouth_left", "mouth_right"),
)
BONES: tuple[tuple[int, int], ...] = tuple(
    (BODY_LANDMARK_NAMES.index(a), BODY_LANDMARK_NAMES.index(b)) for a, b in _BONES_BY_NAME
)
"""Pairs of body landmarks (positions in ``BodyLandmarks``) joined in a skeleton."""

_JOINTS = np.array(sorted({k for bone in BONES for k in bone} - set(range(1, 11))))
# Joints marked with a dot: the body's, not the ten points of the eyes, ears and mouth.


def rgb255(index: int) -> tuple[int, int, int]:
    """The colour of person ``index`` as 0-255 RGB (the colour of the plots).

    Examples
    --------
    >>> from persontrack.analysis.annotate import rgb255
    >>> rgb255(0)
    (31, 119, 180)
    """
    r, g, b, _ = index_color(index)
    return round(r * 255), round(g * 255), round(b * 255)


def _thickness(shape: tuple[int, ...]) -> int:
    # 3 px at 360 rows: thick enough that the colour survives 4:2:0 chroma subsampling.
    return max(2, round(min(shape[0], shape[1]) / 120))


def _dashed_rectangle(
    img: np.ndarray, p1: tuple[int, int], p2: tuple[int, int], color: Any, thickness: int
) -> None:
    (x1, y1), (x2, y2) = p1, p2
    dash = max(4 * thickness, 6)
    for a, b in (
        ((x1, y1), (x2, y1)),
        ((x2, y1), (x2, y2)),
        ((x2, y2), (x1, y2)),
        ((x1, y2), (x1, y1)),
    ):
        length = max(abs(b[0] - a[0]), abs(b[1] - a[1]))
        for start in range(0, length, 2 * dash):
            end = min(start + dash, length)
            s = (
                a[0] + (b[0] - a[0]) * start // max(length, 1),
                a[1] + (b[1] - a[1]) * start // max(length, 1),
            )
            e = (
                a[0] + (b[0] - a[0]) * end // max(length, 1),
                a[1] + (b[1] - a[1]) * end // max(length, 1),
            )
            cv2.line(img, s, e, color, thickness, cv2.LINE_AA)


def _tag(
    img: np.ndarray, text: str, x: int, y: int, color: tuple[int, int, int], *, held: bool
) -> None:
    """The Index in a tag standing on the box's top-left corner (inside when at the top)."""
    scale = max(min(img.shape[:2]) / 600, 0.4)
    weight = max(1, round(scale * 2))
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, weight)
    pad = max(2, round(3 * scale))
    top = y - th - base - 2 * pad
    if top < 0:
        top = y
    x = min(max(x, 0), max(img.shape[1] - tw - 2 * pad, 0))
    box = (x, top), (x + tw + 2 * pad, top + th + base + 2 * pad)
    if held:  # white with a coloured outline: readable on any background, unlike a new tag
        cv2.rectangle(img, box[0], box[1], (255, 255, 255), -1)
        cv2.rectangle(img, box[0], box[1], color, 1, cv2.LINE_AA)
        ink = color
    else:
        cv2.rectangle(img, box[0], box[1], color, -1)
        luma = 0.299 * color[0] + 0.587 * color[1] + 0.114 * color[2]
        ink = (0, 0, 0) if luma > 150 else (255, 255, 255)
    origin = (x + pad, top + pad + th)
    cv2.putText(img, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, ink, weight, cv2.LINE_AA)


def _pixels(value: float, size: int) -> int:
    return round(min(max(value, -1.0), 2.0) * size)


def annotate_frame(
    image: np.ndarray,
    rows: pd.DataFrame,
    *,
    held: bool = False,
    faces: bool = True,
    skeletons: bool = False,
    trails: Mapping[int, Sequence[tuple[float, float, float]]] | None = None,
    now_ms: float = 0.0,
    trail_ms: float = TRAIL_MS,
) -> np.ndarray:
    """A copy of ``image`` with the people of ``rows`` drawn on it.

    Parameters
    ----------
    image : numpy.ndarray
        (H, W, 3) uint8 RGB frame; not modified.
    rows : pandas.DataFrame
        Results rows to draw (normally those of one timestamp).
    held : bool, default False
        Draw the boxes as last known positions (dashed, thinner, white tag) rather
        than as detections of this frame.
    faces : bool, default True
        Draw face boxes.
    skeletons : bool, default False
        Draw the body landmarks joined as a skeleton.
    trails : mapping, optional
        Index → recent ``(timestamp_ms, x, y)`` positions in pixels, oldest first.
    now_ms : float
        The frame's time, for the trails' fading.
    trail_ms : float, default :data:`TRAIL_MS`
        Age (ms) at which a trail point has faded out.

    Returns
    -------
    numpy.ndarray
        The drawn frame.

    Examples
    --------
    >>> import numpy as np, pandas as pd, persontrack as pt
    >>> from persontrack.analysis.annotate import annotate_frame, rgb255
    >>> rows = pt.validate_frame(pd.DataFrame({"Timestamp": [0], "Index": [3],
    ...     "Left": [0.25], "Top": [0.25], "Width": [0.5], "Height": [0.5]}), fill_missing=True)
    >>> out = annotate_frame(np.zeros((100, 100, 3), np.uint8), rows)
    >>> tuple(out[50, 25]) == rgb255(3)
    True
    """
    img = np.array(image, dtype=np.uint8, copy=True, order="C")
    h, w = img.shape[:2]
    t = _thickness(img.shape)
    if trails:
        _draw_trails(img, trails, now_ms, trail_ms, t)
    for row in rows.itertuples(index=False):
        color = rgb255(int(row.Index))
        x1, y1 = _pixels(row.Left, w), _pixels(row.Top, h)
        x2, y2 = _pixels(row.Left + row.Width, w), _pixels(row.Top + row.Height, h)
        if skeletons and row.BodyLandmarks is not None and not held:
            _draw_skeleton(img, np.asarray(row.BodyLandmarks, dtype=float), color, max(1, t - 1))
        if faces and not np.isnan(row.FaceLeft) and not held:
            fx1, fy1 = _pixels(row.FaceLeft, w), _pixels(row.FaceTop, h)
            fx2 = _pixels(row.FaceLeft + row.FaceWidth, w)
            fy2 = _pixels(row.FaceTop + row.FaceHeight, h)
            cv2.rectangle(img, (fx1, fy1), (fx2, fy2), color, max(1, t // 2), cv2.LINE_AA)
        if held:
            _dashed_rectangle(img, (x1, y1), (x2, y2), color, max(1, t - 1))
        else:
            cv2.rectangle(img, (x1, y1), (x2, y2), color, t, cv2.LINE_AA)
        _tag(img, str(int(row.Index)), x1 - t // 2, y1 - t // 2, color, held=held)
    return img


def _draw_trails(
    img: np.ndarray,
    trails: Mapping[int, Sequence[tuple[float, float, float]]],
    now_ms: float,
    trail_ms: float,
    thickness: int,
) -> None:
    shades: list[list[tuple[tuple[int, int], tuple[int, int], tuple[int, int, int]]]]
    shades = [[] for _ in range(TRAIL_SHADES)]
    for index, points in trails.items():
        color = rgb255(index)
        for (_, xa, ya), (tb, xb, yb) in zip(points, list(points)[1:], strict=False):
            age = now_ms - tb
            if not 0 <= age < trail_ms:
                continue
            shade = min(int((1.0 - age / trail_ms) * TRAIL_SHADES), TRAIL_SHADES - 1)
            shades[shade].append(((round(xa), round(ya)), (round(xb), round(yb)), color))
    for shade, segments in enumerate(shades):
        if not segments:
            continue
        overlay = img.copy()
        for a, b, color in segments:
            cv2.line(overlay, a, b, color, thickness, cv2.LINE_AA)
        alpha = (shade + 1) / TRAIL_SHADES
        cv2.addWeighted(overlay, alpha, img, 1.0 - alpha, 0.0, dst=img)


def _draw_skeleton(img: np.ndarray, marks: np.ndarray, color: Any, thickness: int) -> None:
    h, w = img.shape[:2]
    if marks.shape != (len(BODY_LANDMARK_NAMES), 4):
        return
    seen = marks[:, 3] >= MIN_VISIBILITY
    xy = np.round(marks[:, :2] * (w, h)).astype(int)
    for a, b in BONES:
        if seen[a] and seen[b]:
            cv2.line(img, tuple(xy[a]), tuple(xy[b]), color, thickness, cv2.LINE_AA)
    for k in np.flatnonzero(seen[_JOINTS]):
        k = _JOINTS[k]
        cv2.circle(img, tuple(xy[k]), thickness + 1, (255, 255, 255), -1, cv2.LINE_AA)


def _anchor_points(rows: pd.DataFrame, w: int, h: int, anchor: str) -> np.ndarray:
    x = (rows["Left"].to_numpy() + rows["Width"].to_numpy() / 2) * w
    bottom = rows["Top"].to_numpy() + (
        rows["Height"].to_numpy() if anchor == "feet" else rows["Height"].to_numpy() / 2
    )
    return np.column_stack([x, bottom * h])


def annotate_video(
    video: str | os.PathLike[str],
    results: Any,
    path: str | os.PathLike[str],
    *,
    trail_ms: float = TRAIL_MS,
    faces: bool = True,
    skeletons: bool = False,
    hold_ms: float | None = None,
    anchor: str = "center",
    blur: str | None = None,
    blur_method: str = "gaussian",
    codec: str | None = None,
    crf: int = 23,
    progress: bool = False,
    backend: str = "auto",
) -> Path:
    """Write ``video`` again with the people of ``results`` drawn on every frame.

    Parameters
    ----------
    video : path
        The video the results are of.
    results : DataFrame, TrackingResult or GetPersonTracking response
        The results (a response, or a list of its pages, may come from Rekognition).
    path : path
        The output file (``.mp4``, ``.mkv``, ``.webm``, …); its folder is created.
    trail_ms : float, default :data:`TRAIL_MS`
        Length of the fading trails in milliseconds (0: no trails).
    faces : bool, default True
        Draw face boxes.
    skeletons : bool, default False
        Draw body skeletons from the ``BodyLandmarks``.
    hold_ms : float, optional
        How long after an analysed frame its boxes are shown (dashed) on the frames that
        follow. Default: the usual step between analysed timestamps, so the boxes are
        held exactly over the frames that were skipped (none when every frame was
        analysed, and a person who has left is not held).
    anchor : {"center", "feet"}, default "center"
        Point of the box the trail follows.
    blur : {None, "faces", "people"}, default None
        Also make each tracked person's face (or whole body) unrecognisable under the
        drawing, on every frame, as :func:`persontrack.redact_video` does.
    blur_method : {"gaussian", "pixelate"}, default "gaussian"
        How ``blur`` covers a region.
    codec : str, optional
        PyAV encoder. Default: H.264, else VP9/VP8.
    crf : int, default 23
        Quality for x264/VP9 (lower: better and larger).
    progress : bool, default False
        Show a progress bar (tqdm).
    backend : {"auto", "decord", "pyav"}
        Frame reader.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    InvalidParameterException
        When the results or an option are invalid.
    InvalidS3ObjectException
        When the video cannot be read.
    """
    from .redact import RegionTimeline, check_blur, redact_frame

    df = as_results(results)
    if anchor not in ("center", "feet"):
        raise InvalidParameterException(f"anchor must be 'center' or 'feet', got {anchor!r}")
    for name, value in (("trail_ms", trail_ms), ("hold_ms", hold_ms)):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0
        ):
            raise InvalidParameterException(f"{name} must be a number >= 0, got {value!r}")
    if blur is not None:
        check_blur(blur, blur_method)
    df = df.sort_values(["Timestamp", "Index"], kind="mergesort")
    times, starts, ends = groups_by_time(df)

    def start(meta: Any) -> Any:
        w, h = meta.FrameWidth, meta.FrameHeight
        frame_ms = 1000.0 / (meta.FrameRate if meta.FrameRate > 0 else 25.0)
        tol = frame_ms / 2
        hold = analysis_step(times, frame_ms) if hold_ms is None else hold_ms
        regions = None if blur is None else RegionTimeline(df, w, h, meta.FrameRate, blur)
        trails: dict[int, deque[tuple[float, float, float]]] = {}
        k = 0  # next result timestamp not yet reached
        current: int | None = None  # group of the latest result timestamp reached

        def paint(frame: Any) -> np.ndarray:
            nonlocal k, current
            now = frame.timestamp_ms
            while k < len(times) and times[k] <= now + tol:
                rows = df.iloc[starts[k] : ends[k]]
                for index, (x, y) in zip(
                    rows["Index"], _anchor_points(rows, w, h, anchor), strict=True
                ):
                    trails.setdefault(int(index), deque()).append((float(times[k]), x, y))
                current = k
                k += 1
            for index in list(trails):
                points = trails[index]
                while points and now - points[0][0] >= trail_ms:
                    points.popleft()
                if not points:
                    del trails[index]
            shown = df.iloc[0:0]
            held = False
            if current is not None:
                age = now - times[current]
                if abs(age) <= tol:
                    shown = df.iloc[starts[current] : ends[current]]
                elif age < hold - tol:
                    shown, held = df.iloc[starts[current] : ends[current]], True
            image = frame.image
            if regions is not None:
                image = redact_frame(image, regions.at(now), method=blur_method)
            return annotate_frame(
                image,
                shown,
                held=held,
                faces=faces,
                skeletons=skeletons,
                trails=trails if trail_ms > 0 else None,
                now_ms=now,
                trail_ms=trail_ms,
            )

        return paint

    return rewrite_video(
        video, path, start, codec=codec, crf=crf, progress=progress, backend=backend
    )


def show_video(
    path: str | os.PathLike[str], *, width: int | None = 640, max_mb: float = 200.0
) -> Any:
    """Play a video file in a notebook (an HTML5 ``<video>`` with the file embedded).

    Embedded, the video plays wherever the notebook is opened (JupyterLab, VS Code, an
    exported HTML page) without a file server.

    Parameters
    ----------
    path : path
        The video, e.g. from :func:`annotate_video` (H.264 MP4 plays in every browser).
    width : int or None, default 640
        Display width in pixels (None: the video's own).
    max_mb : float, default 200
        Larger files raise instead of bloating the notebook.

    Returns
    -------
    IPython.display.Video
        Shown when it is the last expression of a cell.

    Examples
    --------
    >>> import persontrack as pt
    >>> pt.show_video("data/sample.mp4")._repr_html_()[:6]
    '<video'
    """
    from IPython.display import Video

    p = Path(path)
    if not p.is_file():
        raise InvalidParameterException(f"no video file at {os.fspath(path)!r}")
    size_mb = p.stat().st_size / 1e6
    if size_mb > max_mb:
        raise InvalidParameterException(
            f"{p.name} is {size_mb:.0f} MB, more than max_mb={max_mb:g} to embed in a notebook"
        )
    mimetype = {".webm": "video/webm", ".ogv": "video/ogg"}.get(p.suffix.lower(), "video/mp4")
    return Video(
        str(p),
        embed=True,
        mimetype=mimetype,
        width=width,
        html_attributes="controls loop muted playsinline",
    )
