"""MediaPipe's face networks on OpenVINO: BlazeFace boxes and the 478-point face mesh.

:class:`BlazeFace` is MediaPipe's face detector graph (letterboxed input in [-1, 1], SSD
anchors, weighted non-maximum suppression at IoU 0.3). :class:`FaceMesh` is its legacy
``FaceMesh`` graph in static image mode: BlazeFace on the image, a square region 1.5 times
each face, turned upright by its eyes, through ``face_landmark.tflite`` (468 points, [0, 1]
input, dropped when its face score is below 0.5), and each eye's region (2.3 times the eye
corners' distance) through ``iris_landmark.tflite`` (the image-right eye mirrored), whose
five iris points are the mesh's points 468-477. All networks are the shipped files of
:mod:`persontrack.vision.models`. The mesh with attention that mediapipe's ``FaceMesh``
used (``refine_landmarks=True``) holds MediaPipe custom operations that OpenVINO cannot
read; docs/benchmarks/faces_stack.md measures this pair against it.
"""

from __future__ import annotations

import math
import os
import threading
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..threads import thread_budget
from ._openvino import compile_config
from ._quiet import openvino
from .models import face_detector_model, shipped_model

_NMS_IOU = 0.3  # MediaPipe's min_suppression_threshold for faces
_ROI_SCALE = 1.5  # face region around a detection, for the mesh
_EYE_SCALE = 2.3  # eye region around the eye corners, for the iris
_PRESENCE = 0.5  # face score below which the mesh is dropped
_LEFT_EYE, _RIGHT_EYE = (33, 133), (362, 263)  # image-left / image-right eye corners

_COMPILED: dict[tuple[str, int | None], Any] = {}
_LOCK = threading.Lock()


def _compiled(path: Path, threads: int | None) -> Any:
    key = (str(path), threads)
    with _LOCK:
        if key not in _COMPILED:
            core = openvino().Core()
            _COMPILED[key] = core.compile_model(
                core.read_model(str(path)), "CPU", compile_config(threads)
            )
        return _COMPILED[key]


def _anchors(size: int, strides: tuple[int, ...]) -> np.ndarray:
    """(N, 2) SSD anchor centres (ratios) of MediaPipe's face detectors: layers of one
    stride share a grid, each layer adding two anchors per cell (one without
    ``interpolated_scale_aspect_ratio`` for the full-range model)."""
    out = []
    i = 0
    while i < len(strides):
        stride, per_cell = strides[i], 0
        while i < len(strides) and strides[i] == stride:
            per_cell += 2 if len(strides) > 1 else 1
            i += 1
        n = math.ceil(size / stride)
        ys, xs = np.mgrid[0:n, 0:n]
        centres = np.column_stack([(xs.ravel() + 0.5) / n, (ys.ravel() + 0.5) / n])
        out.append(np.repeat(centres, per_cell, axis=0))
    return np.concatenate(out)


def _iou_one(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    iw = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    ih = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = iw * ih
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-12)


def _weighted_nms(
    boxes: np.ndarray, points: np.ndarray, scores: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MediaPipe's weighted NMS: each kept face is the score-weighted mean of the
    detections overlapping the best remaining one, with that one's score."""
    order = np.argsort(-scores, kind="stable")
    boxes, points, scores = boxes[order], points[order], scores[order]
    kb, kp, ks = [], [], []
    left = np.arange(len(scores))
    while len(left):
        iou = _iou_one(boxes[left[0]], boxes[left])
        group = left[iou > _NMS_IOU]
        wgt = scores[group][:, None]
        kb.append((boxes[group] * wgt).sum(0) / wgt.sum())
        kp.append((points[group] * wgt[:, :, None]).sum(0) / wgt.sum())
        ks.append(scores[left[0]])
        left = left[iou <= _NMS_IOU]
    return (
        np.array(kb).reshape(-1, 4),
        np.array(kp).reshape(-1, points.shape[1], 2),
        np.array(ks, np.float64),
    )


class BlazeFace:
    """MediaPipe's BlazeFace face detector on OpenVINO.

    Examples
    --------
    >>> boxes, points, scores = BlazeFace().detect(np.zeros((90, 160, 3), np.uint8), 0.5)
    >>> boxes.shape, points.shape
    ((0, 4), (0, 6, 2))
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        full_range: bool = False,
        threads: int | None = None,
    ) -> None:
        model = face_detector_model(path, full_range=full_range)
        self._net = _compiled(model, threads or thread_budget())
        self._request = self._net.create_infer_request()
        self._size = int(self._net.inputs[0].get_partial_shape()[1].get_length())
        strides = (4,) if full_range else (8, 16, 16, 16)
        self._anchors = _anchors(self._size, strides)

    def detect(
        self, image: np.ndarray, min_score: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Faces of an RGB ``image``: (N, 4) boxes and (N, 6, 2) keypoints (eyes, nose,
        mouth, ears) in pixels, (N,) scores in [0, 1], best first."""
        h, w = image.shape[:2]
        size = self._size
        scale = size / max(h, w)
        pad = np.array([(size - w * scale) / 2, (size - h * scale) / 2])
        m = np.array([[scale, 0.0, pad[0]], [0.0, scale, pad[1]]])
        tensor = cv2.warpAffine(image, m, (size, size), flags=cv2.INTER_LINEAR)
        x = tensor.astype(np.float32)[None] / 127.5 - 1.0
        out = self._request.infer({0: x})
        outs = sorted((np.asarray(v) for v in out.values()), key=lambda a: a.shape[-1])
        logits, raw = outs[0].reshape(-1), outs[1].reshape(-1, 16).astype(np.float64)
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits.astype(np.float64), -100, 100)))
        keep = np.flatnonzero(scores >= min_score)
        if len(keep) == 0:
            return np.zeros((0, 4)), np.zeros((0, 6, 2)), np.zeros(0)
        raw, anchors, scores = raw[keep], self._anchors[keep], scores[keep]
        centre = raw[:, :2] + anchors * size  # tensor pixels
        half = raw[:, 2:4] / 2
        boxes = np.hstack([centre - half, centre + half])
        points = raw[:, 4:].reshape(-1, 6, 2) + anchors[:, None] * size
        boxes = (boxes - np.tile(pad, 2)) / scale
        points = (points - pad) / scale
        return _weighted_nms(boxes, points, scores)


def _rotated_crop(
    image: np.ndarray, centre: np.ndarray, side: float, angle: float, size: int, flip: bool
) -> tuple[np.ndarray, np.ndarray]:
    """A ``size`` square crop of ``side`` pixels around ``centre``, turned by ``angle``
    (radians, the region's rotation), mirrored with ``flip``; and the (2, 3) crop ->
    image affine."""
    c, s = math.cos(angle), math.sin(angle)
    k = side / size
    fx = -1.0 if flip else 1.0
    # image = centre + R @ (k * [fx * (u - size/2), v - size/2])
    rot = np.array([[c, -s], [s, c]]) @ np.diag([k * fx, k])
    back = np.hstack([rot, (centre - rot @ np.array([size / 2, size / 2]))[:, None]])
    fwd = cv2.invertAffineTransform(back)
    crop = cv2.warpAffine(
        image, fwd, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return crop, back


def _upright_angle(start: np.ndarray, end: np.ndarray) -> float:
    """MediaPipe's region rotation that makes the line ``start`` -> ``end`` horizontal."""
    return -math.atan2(-(end[1] - start[1]), end[0] - start[0])


class FaceMesh:
    """MediaPipe's static-image face mesh with iris points, on OpenVINO.

    Examples
    --------
    >>> FaceMesh().process(np.zeros((256, 256, 3), np.uint8), 0.5)
    []
    """

    def __init__(self, *, max_faces: int = 3, threads: int | None = None) -> None:
        threads = threads or thread_budget()
        self._detector = BlazeFace(threads=threads)
        self._mesh = _compiled(shipped_model("face_landmark.tflite"), threads)
        self._iris = _compiled(shipped_model("iris_landmark.tflite"), threads)
        self._mesh_request = self._mesh.create_infer_request()
        self._iris_request = self._iris.create_infer_request()
        self._max_faces = max_faces

    def process(self, image: np.ndarray, min_detection: float) -> list[np.ndarray]:
        """(478, 2) meshes in pixels of the RGB ``image``, one per face found."""
        boxes, points, _ = self._detector.detect(image, min_detection)
        meshes = []
        for box, pts in zip(boxes[: self._max_faces], points[: self._max_faces], strict=True):
            centre = (box[:2] + box[2:]) / 2
            side = _ROI_SCALE * max(box[2] - box[0], box[3] - box[1])
            mesh = self._landmarks(image, centre, side, _upright_angle(pts[0], pts[1]))
            if mesh is not None:
                meshes.append(np.vstack([mesh, self._irises(image, mesh)]))
        return meshes

    def _landmarks(
        self, image: np.ndarray, centre: np.ndarray, side: float, angle: float
    ) -> np.ndarray | None:
        crop, back = _rotated_crop(image, centre, side, angle, 192, False)
        out = self._mesh_request.infer({0: crop.astype(np.float32)[None] / 255.0})
        outs = sorted((np.asarray(v) for v in out.values()), key=lambda a: a.size)
        if 1.0 / (1.0 + math.exp(-float(outs[0].ravel()[0]))) < _PRESENCE:
            return None
        xy = outs[1].reshape(468, 3)[:, :2].astype(np.float64)
        return xy @ back[:, :2].T + back[:, 2]

    def _irises(self, image: np.ndarray, mesh: np.ndarray) -> np.ndarray:
        """(10, 2) iris points: five of the image-left eye, then five of the right."""
        out = []
        for corners, flip in ((_LEFT_EYE, False), (_RIGHT_EYE, True)):
            a, b = mesh[corners[0]], mesh[corners[1]]
            side = _EYE_SCALE * max(abs(b[0] - a[0]), abs(b[1] - a[1]), 1.0)
            crop, back = _rotated_crop(image, (a + b) / 2, side, _upright_angle(a, b), 64, flip)
            res = self._iris_request.infer({0: crop.astype(np.float32)[None] / 255.0})
            iris = next(np.asarray(v) for v in res.values() if np.asarray(v).size == 15)
            xy = iris.reshape(5, 3)[:, :2].astype(np.float64)
            out.append(xy @ back[:, :2].T + back[:, 2])
        return np.vstack(out)
