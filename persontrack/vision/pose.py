"""Body landmarks of people already found: MediaPipe's BlazePose landmark model on OpenVINO.

MediaPipe's ``PoseLandmarker`` runs two networks on every image it is given: BlazePose's own
person detector, to place the person, then the landmark network on a crop around them. The
box detector of :mod:`persontrack.vision.detection` has already placed each person, so
:class:`PoseLandmarks` runs only the landmark network (``pose_landmark_full.tflite``, shipped
with persontrack from the mediapipe 0.10.21 wheel, or the ``pose_landmarks_detector.tflite``
of an official ``pose_landmarker_*.task`` bundle), through OpenVINO's TFLite reader, on an
upright square crop centred on each box, all people of a frame in one batch. Measured against
``PoseLandmarker`` on the same people of the shared videos (benchmarks/pose_landmarks.py):
the landmarks land a median 2.9 % of the person's height from its, at a third of the time
per person (docs/benchmarks/landmark_sizes.md).

Examples
--------
>>> import numpy as np
>>> from persontrack.vision.pose import PoseLandmarks
>>> model = PoseLandmarks()
>>> empty = np.zeros((360, 640, 3), np.uint8)
>>> points, score = model.predict(empty, np.array([[100, 50, 160, 250]]))
>>> points.shape, bool(score[0] < 0.5)  # 33 x [x, y, z, visibility, presence]; nobody there
((1, 33, 5), True)
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from .._checks import check_rgb_image
from ..errors import InternalServerError, InvalidParameterException
from ..threads import thread_budget
from ._openvino import compile_config
from ._quiet import openvino

__all__ = ["CROP_SCALE", "SECOND_LOOK_BELOW", "PoseLandmarks"]

CROP_SCALE = 1.25
"""Side of the square crop around a person, relative to the longer side of their box: the
margin BlazePose's own region of interest leaves around the body (MediaPipe scales its
detector's body circle by 1.25)."""

SECOND_LOOK_BELOW = 0.5
"""Pose score below which a person gets a second look (see :meth:`PoseLandmarks.predict`).
The box's crop misses a pose BlazePose would find when the box holds only part of the
body (cut by the frame's edge or hidden): on data/sample.mp4 a second look centred on the
hips raised the people scored >= 0.5 from 6 in 14 to 11 in 14. 0.5 is PoseLandmarker's own
``min_pose_presence_confidence``."""
_HIPS, _BODY = 33, 34  # the points BlazePose places its next crop by: hips, top of the body
_BODY_MARGIN = 1.25  # MediaPipe's scale of that body circle

_BUNDLE_MEMBER = "pose_landmarks_detector.tflite"
_SHIPPED_MODEL = "pose_landmark_full.tflite"
_POINTS = 33  # the network predicts 39: the last six place the next crop

# Compiled networks by (file, size, mtime, threads): one compilation per process.
_COMPILED: dict[tuple[str, int, int, int | None], Any] = {}
_LOCK = threading.Lock()


class PoseLandmarks:
    """BlazePose's 33 body landmarks of people given by their boxes.

    Parameters
    ----------
    path : str or path-like, optional
        An official ``pose_landmarker_*.task`` bundle (its landmark network is used) or a
        BlazePose landmark ``.tflite`` file; ``None`` (default): the shipped full model.
    threads : int, optional
        OpenVINO inference threads; ``None``: the process's thread budget
        (:func:`persontrack.threads.thread_budget`, e.g. 1 in a Dask task), else OpenVINO
        chooses.

    Raises
    ------
    InvalidParameterException
        ``path`` is missing, unreadable, or not a BlazePose landmark model.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, threads: int | None = None):
        xml = _model_file(path)
        threads = threads or thread_budget()
        key = (str(xml), xml.stat().st_size, xml.stat().st_mtime_ns, threads)
        with _LOCK:
            compiled = _COMPILED.get(key)
            if compiled is None:
                compiled = _COMPILED[key] = _compile(xml, threads, path is not None)
        self._compiled = compiled
        self._request = compiled.create_infer_request()
        self._size = int(compiled.inputs[0].get_partial_shape()[1].get_length())

    def predict(
        self,
        image: np.ndarray,
        boxes: np.ndarray,
        *,
        crop_scale: float = CROP_SCALE,
        second_look_below: float | None = SECOND_LOOK_BELOW,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Landmarks of the person in each box.

        Parameters
        ----------
        image : numpy.ndarray
            (H, W, 3) RGB uint8 image. Not modified.
        boxes : numpy.ndarray
            (N, 4) person boxes ``[x1, y1, x2, y2]`` in pixels of ``image``.
        crop_scale : float, default :data:`CROP_SCALE`
            Side of the square crop, relative to the longer side of the box.
        second_look_below : float or None, default :data:`SECOND_LOOK_BELOW`
            People whose pose score is below this get a second crop, placed as BlazePose
            places its own (centred on the hips the first look found, sized by the body), and
            the better-scored look is kept. ``None``: one look.

        Returns
        -------
        points : numpy.ndarray
            (N, 33, 5) float64 ``[x, y, z, visibility, presence]``: x and y in pixels of
            ``image``, z (depth from the hips, negative towards the camera) in pixels at the
            same scale, visibility and presence in [0, 1].
        score : numpy.ndarray
            (N,) the network's confidence that a person's pose is in the crop, in [0, 1].
        """
        image = check_rgb_image(image)
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        centres = (boxes[:, :2] + boxes[:, 2:]) / 2
        sides = np.maximum((boxes[:, 2:] - boxes[:, :2]).max(axis=1), 1.0) * crop_scale
        points, score = self._look(image, centres, sides)
        if second_look_below is not None:
            again = np.flatnonzero(score < second_look_below)
            if len(again):
                hips, body = points[again, _HIPS, :2], points[again, _BODY, :2]
                side = 2.0 * np.hypot(*(body - hips).T) * _BODY_MARGIN
                p2, s2 = self._look(image, hips, np.maximum(side, 1.0))
                better = s2 > score[again]
                points[again[better]], score[again[better]] = p2[better], s2[better]
        out = points[:, :_POINTS].copy()
        out[:, :, 3:] = 1.0 / (1.0 + np.exp(-out[:, :, 3:]))
        return out, np.clip(score, 0.0, 1.0)

    def _look(
        self, image: np.ndarray, centres: np.ndarray, sides: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """All 39 raw points (frame pixels; visibility and presence as logits) and the pose
        score of upright square crops of ``sides`` around ``centres``."""
        n, size = len(centres), self._size
        if n == 0:
            return np.zeros((0, 39, 5)), np.zeros(0)
        import cv2

        batch = np.empty((n, size, size, 3), np.float32)
        back = np.empty((n, 2, 3))
        for i, ((cx, cy), side) in enumerate(zip(centres, sides, strict=True)):
            s = size / side
            # frame -> crop: scale about the centre; outside the frame is black
            m = np.array([[s, 0.0, size / 2 - s * cx], [0.0, s, size / 2 - s * cy]])
            crop = cv2.warpAffine(image, m, (size, size), flags=cv2.INTER_LINEAR)
            np.multiply(crop, 1.0 / 255.0, out=batch[i], casting="unsafe")
            back[i] = cv2.invertAffineTransform(m)
        out = self._request.infer({0: batch})
        raw = np.asarray(out[self._compiled.outputs[0]], np.float64).reshape(n, -1, 5)
        score = np.asarray(out[self._compiled.outputs[1]], np.float64).reshape(n)
        points = raw.copy()
        points[:, :, :2] = np.einsum("nij,npj->npi", back[:, :, :2], raw[:, :, :2])
        points[:, :, :2] += back[:, None, :, 2]
        points[:, :, 2] = raw[:, :, 2] * back[:, None, 0, 0]
        return points, score


def _model_file(path: str | os.PathLike[str] | None) -> Path:
    """The landmark network's ``.tflite`` file: the shipped one, or the user's (taken out of
    a ``.task`` bundle into the model cache)."""
    from .models import _bundle_member, _is_tflite, model_cache_dir, shipped_model

    if path is None:
        return shipped_model(_SHIPPED_MODEL)
    p = Path(path)
    if p.suffix == ".tflite":
        if not p.is_file():
            raise InvalidParameterException(f"pose model file {str(p)!r} does not exist")
        if not _is_tflite(p.read_bytes()[:16]):
            raise InvalidParameterException(f"pose model {str(p)!r} is not a TFLite model")
        return p
    data = _bundle_member(p, _BUNDLE_MEMBER, "pose_model")
    import hashlib

    target = model_cache_dir() / f"pose_landmarks_{hashlib.sha256(data).hexdigest()[:16]}.tflite"
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)
    return target


def _compile(model_file: Path, threads: int | None, user: bool) -> Any:
    ov = openvino()

    core = ov.Core()
    try:
        model = core.read_model(str(model_file))
        shape = model.inputs[0].get_partial_shape()
        if len(model.outputs) < 2 or shape.rank.get_length() != 4 or shape[3].get_length() != 3:
            raise ValueError(f"inputs {shape}, {len(model.outputs)} outputs")
        model.reshape({model.inputs[0]: [-1, shape[1].get_length(), shape[2].get_length(), 3]})
    except (RuntimeError, ValueError) as e:
        if not user:
            raise InternalServerError(f"cannot load {model_file}: {e}") from e
        raise InvalidParameterException(
            f"pose model {str(model_file)!r} is not a BlazePose landmark network ({e})"
        ) from e
    return core.compile_model(model, "CPU", compile_config(threads))
