"""Redacted video: a copy of the footage with every tracked person's face (or whole body)
made unrecognisable, and nothing else changed.

:func:`redact_video` writes the copy; :func:`redact_frame` redacts one frame;
:func:`head_boxes` says where each result row's head is. On frames between analysed ones
(``every_n_frames``/``target_fps``) the regions follow each person's box interpolated
between the analysed frames before and after (:class:`persontrack.analysis._frames.Timeline`).

Where a person's face was found, its face box (with :data:`FACE_MARGIN`) is covered. Where
it was not (turned away, too small, faces off), the head is covered: the box around the
head's body landmarks when they were seen, else the top of the person's box.

Examples
--------
>>> import tempfile, pandas as pd, persontrack as pt
>>> df = pt.validate_frame(pd.DataFrame({
...     "Timestamp": [0, 500, 1000], "Index": [0, 0, 0],
...     "Left": [0.1, 0.3, 0.5], "Top": [0.2, 0.25, 0.3],
...     "Width": [0.2, 0.2, 0.2], "Height": [0.6, 0.6, 0.6]}), fill_missing=True)
>>> out = pt.redact_video("data/sample.mp4", df, tempfile.mkdtemp() + "/redacted.mp4")
>>> pt.read_metadata(out).FrameCount == pt.read_metadata("data/sample.mp4").FrameCount
True
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd

from ..errors import InvalidParameterException
from ._frames import Timeline, analysis_step, as_results, box_pixels, rewrite_video

__all__ = [
    "BLUR_TARGETS",
    "METHODS",
    "RegionTimeline",
    "check_blur",
    "head_boxes",
    "redact_frame",
    "redact_video",
]

BLUR_TARGETS = ("faces", "people")
"""What :func:`redact_video` covers: each person's face (head), or the whole person."""
METHODS = ("gaussian", "pixelate")
"""How a region is made unrecognisable."""

FACE_MARGIN = 0.25
"""Share of a face box's size added on every side: a face detector's box runs from brow to
chin, so without it hair, ears and the jaw line stay sharp (checked by eye on the shared face
videos)."""
PERSON_MARGIN = 0.05
"""Share of a person box's size added on every side with ``blur="people"`` (a detector's box
may cut a hand or the top of the hair)."""
HEAD_POINTS = slice(0, 11)
"""Body landmarks of the head (nose, eyes, ears, mouth: MediaPipe's 0-10)."""
MIN_HEAD_VISIBILITY = 0.5
"""Head landmarks less visible than this do not place the head (MediaPipe's visibility)."""
HEAD_SPREAD = 2.2
"""Head size / extent of its visible landmarks: the eyes, ears and mouth span about half
of a head's width and height."""
HEAD_OF_WIDTH = 0.4
"""A head is at least this share of its person box's width wide (a standing adult's box is
about 2.5 heads wide; close-ups cut at the frame's edge are narrower): the floor of a head
placed from landmarks, which may be only the two eyes (face-demographics-walking-and-pause:
13 px between them on a 62 px face)."""
TOP_OF_BOX = 0.35
"""Without a face or head landmarks, the covered top of a person's box: this share of its
height (a standing adult's head is about 0.13 of it; the rest covers a stooping person or a
misplaced box), across its whole width ..."""
TOP_OF_WIDTH = 0.6
"""... and at least this share of its width down from its top: a person cut by the frame's
bottom edge has a short box (head-pose-face-detection: the chin at 0.44 of the box's height,
0.5 of its width)."""
SIGMA_SHARE = 0.15
"""Gaussian blur: the standard deviation as a share of the region's shorter side (eyes,
nose and mouth, each about a fifth of a face, blend into one patch)."""
PIXEL_BLOCKS = 6
"""Pixelation: blocks across the region's shorter side (the coarsest that still shows a head)."""
EDGE_HOLD_MS = 500.0
"""A person's region is also covered this long (ms) before their first and after their last
entry (and beside a gap longer than ``MAX_GAP_MS``): a tracker confirms a new person a few
frames late and loses one a few frames early (face-demographics-walking-and-pause: the man
enters the results on the third frame, the woman on the left leaves them five frames before
the end while still standing there)."""
REDACT_CRF = 18
"""x264 quality of a redacted copy: close to visually lossless, so the frame outside the
covered regions stays as it was (mean absolute difference < 4 on the shared videos)."""


def check_blur(blur: Any, method: Any) -> None:
    """InvalidParameterException unless ``blur`` and ``method`` are known."""
    if blur not in BLUR_TARGETS:
        raise InvalidParameterException(f"blur must be 'faces' or 'people', got {blur!r}")
    if method not in METHODS:
        raise InvalidParameterException(f"method must be 'gaussian' or 'pixelate', got {method!r}")


def _expand(boxes: np.ndarray, share: float) -> np.ndarray:
    if not len(boxes):
        return boxes
    size = np.column_stack([boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]])
    pad = np.hstack([-size, size]) * share
    return boxes + pad


def _landmark_heads(rows: pd.DataFrame, w: int, h: int) -> np.ndarray:
    """Head boxes (pixels) from the visible head landmarks; NaN rows where there are none."""
    out = np.full((len(rows), 4), np.nan)
    floor = HEAD_OF_WIDTH * rows["Width"].to_numpy(float) * w
    for k, marks in enumerate(rows["BodyLandmarks"]):
        if marks is None:
            continue
        m = np.asarray(marks, dtype=float)
        if m.ndim != 2 or m.shape[0] < HEAD_POINTS.stop:
            continue
        head = m[HEAD_POINTS]
        head = head[head[:, 3] >= MIN_HEAD_VISIBILITY]
        if len(head) < 2:
            continue
        x, y = head[:, 0] * w, head[:, 1] * h
        side = max(HEAD_SPREAD * max(x.max() - x.min(), y.max() - y.min()), floor[k])
        cx, cy = (x.max() + x.min()) / 2, (y.max() + y.min()) / 2
        # the landmarks sit low in the head (eyes to mouth): the skull reaches higher
        out[k] = (cx - side / 2, cy - 0.6 * side, cx + side / 2, cy + 0.45 * side)
    return out


def head_boxes(rows: Any, width: int, height: int) -> np.ndarray:
    """Where each row's head is: ``(n, 4)`` boxes ``x1, y1, x2, y2`` in pixels.

    The face box grown by :data:`FACE_MARGIN` when a face was found, else the box around the
    visible head landmarks (at least :data:`HEAD_OF_WIDTH` of the person box wide), else the
    top of the person's box (:data:`TOP_OF_BOX`, :data:`TOP_OF_WIDTH`).

    Examples
    --------
    >>> import pandas as pd, persontrack as pt
    >>> from persontrack.analysis.redact import head_boxes
    >>> rows = pt.validate_frame(pd.DataFrame({"Timestamp": [0], "Index": [0],
    ...     "Left": [0.2], "Top": [0.1], "Width": [0.2], "Height": [0.8]}), fill_missing=True)
    >>> head_boxes(rows, 100, 100).round(1).tolist()
    [[20.0, 10.0, 40.0, 38.0]]
    """
    df = as_results(rows)
    person = box_pixels(df, width, height)
    top = person.copy()
    tall, wide = person[:, 3] - person[:, 1], person[:, 2] - person[:, 0]
    top[:, 3] = person[:, 1] + np.minimum(np.maximum(TOP_OF_BOX * tall, TOP_OF_WIDTH * wide), tall)
    marks = _landmark_heads(df, width, height)
    heads = np.where(np.isnan(marks).any(axis=1, keepdims=True), top, marks)
    face = _expand(box_pixels(df, width, height, "Face"), FACE_MARGIN)
    return np.where(np.isnan(face).any(axis=1, keepdims=True), heads, face)


def _regions(rows: pd.DataFrame, width: int, height: int, blur: str) -> np.ndarray:
    if blur == "people":
        return _expand(box_pixels(rows, width, height), PERSON_MARGIN)
    return head_boxes(rows, width, height)


def _cover(img: np.ndarray, box: np.ndarray, method: str) -> None:
    h, w = img.shape[:2]
    x1, y1 = max(int(np.floor(box[0])), 0), max(int(np.floor(box[1])), 0)
    x2, y2 = min(int(np.ceil(box[2])), w), min(int(np.ceil(box[3])), h)
    if x2 - x1 < 1 or y2 - y1 < 1:
        return
    side = min(x2 - x1, y2 - y1)
    if method == "pixelate":
        patch = img[y1:y2, x1:x2]
        n = max(1, round(side / PIXEL_BLOCKS))
        small = cv2.resize(
            patch,
            (max(1, (x2 - x1) // n), max(1, (y2 - y1) // n)),
            interpolation=cv2.INTER_AREA,
        )
        img[y1:y2, x1:x2] = cv2.resize(small, (x2 - x1, y2 - y1), interpolation=cv2.INTER_NEAREST)
        return
    sigma = max(2.0, SIGMA_SHARE * side)
    pad = int(np.ceil(3 * sigma))
    # blur a padded crop so the region's edge is not darkened by the border
    a, b = max(y1 - pad, 0), min(y2 + pad, h)
    c, d = max(x1 - pad, 0), min(x2 + pad, w)
    blurred = cv2.GaussianBlur(img[a:b, c:d], (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
    img[y1:y2, x1:x2] = blurred[y1 - a : y2 - a, x1 - c : x2 - c]


def redact_frame(image: np.ndarray, regions: np.ndarray, *, method: str = "gaussian") -> np.ndarray:
    """A copy of ``image`` with every region (``x1, y1, x2, y2`` pixels) made unrecognisable.

    Examples
    --------
    >>> import numpy as np
    >>> from persontrack.analysis.redact import redact_frame
    >>> img = np.zeros((40, 40, 3), np.uint8); img[::2] = 255
    >>> out = redact_frame(img, np.array([[0, 0, 20, 40]]))
    >>> bool(out[:, :20].std() < img[:, :20].std() / 4), bool((out[:, 24:] == img[:, 24:]).all())
    (True, True)
    """
    img = np.array(image, dtype=np.uint8, copy=True, order="C")
    for box in np.asarray(regions, dtype=float).reshape(-1, 4):
        if np.isfinite(box).all():
            _cover(img, box, method)
    return img


class RegionTimeline:
    """The regions to cover on any frame of a video of ``width`` x ``height`` at ``fps``."""

    def __init__(self, df: pd.DataFrame, width: int, height: int, fps: float, blur: str) -> None:
        frame_ms = 1000.0 / (fps if fps > 0 else 25.0)
        regions = _regions(df, width, height, blur)
        step = analysis_step(df["Timestamp"].to_numpy(np.int64), frame_ms)
        self.timeline = Timeline(
            df["Index"].to_numpy(np.int64),
            df["Timestamp"].to_numpy(float),
            regions,
            step=step,
            tol=frame_ms / 2,
            hold=max(step - frame_ms / 2, EDGE_HOLD_MS),
        )

    def at(self, now_ms: float) -> np.ndarray:
        """``(n, 4)`` pixel boxes to cover on the frame at ``now_ms``."""
        return self.timeline.at(now_ms)[1]


def redact_video(
    video: str | os.PathLike[str],
    results: Any,
    out: str | os.PathLike[str],
    *,
    blur: str = "faces",
    method: str = "gaussian",
    codec: str | None = None,
    crf: int = REDACT_CRF,
    progress: bool = False,
    backend: str = "auto",
) -> Path:
    """Write a copy of ``video`` with each tracked person's face (or body) unrecognisable.

    Every frame is written, also those between analysed frames: there the regions follow
    each person's box interpolated between the analysed frames around it. Pixels outside
    the covered regions are the source's, up to the encoder's noise.

    Parameters
    ----------
    video : path
        The video the results are of.
    results : DataFrame, TrackingResult or GetPersonTracking response
        The results (a response, or a list of its pages, may come from Rekognition).
    out : path
        The output file (``.mp4``, ``.mkv``, ``.webm``, …); its folder is created.
    blur : {"faces", "people"}, default "faces"
        Cover each person's face (see :func:`head_boxes`) or the whole person box.
    method : {"gaussian", "pixelate"}, default "gaussian"
        A strong Gaussian blur (:data:`SIGMA_SHARE`) or coarse blocks (:data:`PIXEL_BLOCKS`).
    codec : str, optional
        PyAV encoder. Default: H.264, else VP9/VP8.
    crf : int, default :data:`REDACT_CRF`
        Quality for x264/VP9 (lower: better and larger).
    progress : bool, default False
        Show a progress bar (tqdm).
    backend : {"auto", "decord", "pyav"}
        Frame reader.

    Returns
    -------
    pathlib.Path
        ``out``.

    Raises
    ------
    InvalidParameterException
        When the results or an option are invalid.
    InvalidS3ObjectException
        When the video cannot be read.
    """
    check_blur(blur, method)
    df = as_results(results)

    def start(meta: Any) -> Any:
        regions = RegionTimeline(df, meta.FrameWidth, meta.FrameHeight, meta.FrameRate, blur)
        return lambda frame: redact_frame(
            frame.image, regions.at(frame.timestamp_ms), method=method
        )

    return rewrite_video(
        video, out, start, codec=codec, crf=crf, progress=progress, backend=backend
    )
