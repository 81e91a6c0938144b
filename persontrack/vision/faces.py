"""Faces as Rekognition ``FaceDetail`` dicts, and which person each face belongs to.

:class:`FaceAnalyzer` finds faces in an RGB frame (also inside the head region of each
person box, so small and far faces are found) and describes each as the default
``FaceDetail`` of Amazon Rekognition: ``BoundingBox``, ``Confidence``, ``Landmarks`` (the 30
``LandmarkType`` values), ``Pose`` and ``Quality``. :func:`attach_faces` then gives each
person at most one face.

Conventions, matched to real Rekognition output (the ``GetPersonTracking`` example of the
Rekognition Developer Guide: two near-frontal faces where ``eyeLeft.X < eyeRight.X`` and
``mouthLeft.X < mouthRight.X``; a face whose nose lies right of its eye midpoint has
``Yaw`` +18.7 and +11.3; eye lines rising to the right give ``Roll`` -5.1 and -15.5, the
on-screen angles being -3.5 and -14.9; the face whose nose tip sits higher, at 40% of the
way from eye line to mouth line against 51% for the other, i.e. looking up, has ``Pitch``
+16.0 against -0.6):

* ``Left``/``Right`` in landmark names are sides of the image for a face looking at the
  camera, so ``eyeLeft`` is the subject's right eye.
* ``Yaw`` > 0: the face turns towards the image's right (the subject's left). Mirroring the
  image flips its sign.
* ``Pitch`` > 0: the face looks up.
* ``Roll``: on-screen angle, clockwise positive, of the line from the image-left eye to the
  image-right eye (> 0 when the image-right eye is lower).

All coordinates are ratios of the full frame, as in Rekognition. Pose comes from
``cv2.solvePnP`` of 14 mesh points against MediaPipe's canonical face model, with a pinhole
camera of focal length max(width, height): signs are reliable, magnitudes good to several
degrees (the visually near-frontal ``grace_hopper.jpg`` gives Yaw 2, Roll -3, Pitch -16).

Models: MediaPipe's networks, shipped with persontrack (:mod:`persontrack.vision.models`)
and run on OpenVINO (:mod:`persontrack.vision._face_networks`): BlazeFace short-range
finds the faces (full-range with ``detector_range="full"``); the face mesh
(``face_landmark.tflite``, 468 points, plus ``iris_landmark.tflite`` for points 468-477)
runs on an upscaled crop around each detected face (the mesh nearest the crop's centre is
taken when a neighbour's face shows too), as ``mp.solutions.face_mesh`` did in static image
mode. Against that (mesh with attention) on the shared face videos: box IoU median 0.97,
landmarks a median 1.6 % of the face's side apart, pose within 3 degrees at the 90th
percentile, 28 of 31 faces (docs/benchmarks/faces_stack.md).

Examples
--------
>>> import numpy as np, persontrack as pt
>>> from matplotlib import cbook
>>> from PIL import Image
>>> with cbook.get_sample_data("grace_hopper.jpg") as f:
...     image = np.asarray(Image.open(f).convert("RGB"))
>>> with pt.FaceAnalyzer() as analyzer:
...     faces = analyzer.analyze(image)
>>> len(faces), len(faces[0]["Landmarks"])
(1, 30)
>>> pt.attach_faces(np.array([[100.0, 100.0, 450.0, 600.0]]), faces, (512, 600))[0] is faces[0]
True
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any, Literal

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment

from .._checks import check_rgb_image
from ..errors import InvalidParameterException
from ..geometry import box_intersection, nms
from . import _face_geometry as geo
from ._face_networks import BlazeFace, FaceMesh

__all__ = ["LANDMARK_TYPES", "FaceAnalyzer", "attach_faces"]

LANDMARK_TYPES: tuple[str, ...] = tuple(geo.LANDMARK_MESH_INDEX)
"""The 30 Rekognition ``LandmarkType`` values, in botocore's order."""

# Side of the square crops handed to the face mesh graph, and how much context around the
# detector's box they hold (the mesh graph runs its own detector on the crop, which wants
# a face of about half the crop).
_MESH_CROP = 256
_MESH_CONTEXT = 2.0
_MESH_MAX_FACES = 3


class FaceAnalyzer:
    """Find faces in RGB frames and describe them as Rekognition ``FaceDetail`` dicts.

    Holds compiled networks: create once, call :meth:`analyze` per frame, then
    :meth:`close` (or use ``with``). Not thread-safe; use one analyzer per thread.

    Parameters
    ----------
    min_face_confidence : float, default 0.5
        Minimum face detector score, in [0, 1], for a face to be kept.
    min_mesh_confidence : float, default 0.5
        Minimum score, in [0, 1], of the face mesh graph's own detector on the crop around
        a face; faces below it get no landmarks (see ``require_landmarks``).
    detector_range : {"short", "full"}, default "short"
        ``"short"``: short-range BlazeFace (faces within ~2 m, fast). ``"full"``:
        full-range BlazeFace (faces up to ~5 m).
    face_detector_path : str or path-like, optional
        An official ``blaze_face_short_range.tflite`` to use instead of the shipped one
        (``detector_range="short"`` only).
    search_person_heads : bool, default True
        With ``person_boxes`` given to :meth:`analyze`, also search an upscaled crop of
        each person's head region, which finds faces too small for the full-frame pass.
    head_fraction : float, default 0.4
        Height of the searched head region as a fraction of the person box height (the
        region is square and at least as wide as the box), in (0, 1].
    head_crop_size : int, default 256
        Side in pixels to which head regions are resized before detection, >= 64.
    merge_iou : float, default 0.3
        Faces found by several passes whose boxes overlap more than this IoU are merged
        (the highest score wins), in [0, 1].
    landmarks : {"all", "default"}, default "all"
        ``"all"``: the 30 ``LandmarkType`` values. ``"default"``: the five that real People
        Pathing output carries (eyeLeft, eyeRight, nose, mouthLeft, mouthRight).
    require_landmarks : bool, default True
        Drop faces on which the mesh fails (mostly false detections and profiles). When
        False they are kept with ``BoundingBox``, ``Confidence`` and ``Quality`` only.

    Examples
    --------
    >>> import numpy as np, persontrack as pt
    >>> with pt.FaceAnalyzer(min_face_confidence=0.6) as analyzer:
    ...     analyzer.analyze(np.zeros((240, 320, 3), np.uint8))
    []
    """

    def __init__(
        self,
        *,
        min_face_confidence: float = 0.5,
        min_mesh_confidence: float = 0.5,
        detector_range: Literal["short", "full"] = "short",
        face_detector_path: str | os.PathLike[str] | None = None,
        search_person_heads: bool = True,
        head_fraction: float = 0.4,
        head_crop_size: int = 256,
        merge_iou: float = 0.3,
        landmarks: Literal["all", "default"] = "all",
        require_landmarks: bool = True,
    ) -> None:
        _check_unit("min_face_confidence", min_face_confidence)
        _check_unit("min_mesh_confidence", min_mesh_confidence)
        _check_unit("merge_iou", merge_iou)
        _check_unit("head_fraction", head_fraction)
        if head_fraction <= 0:
            raise InvalidParameterException(f"head_fraction must be > 0, got {head_fraction}")
        if detector_range not in ("short", "full"):
            raise InvalidParameterException(
                f"detector_range must be 'short' or 'full', got {detector_range!r}"
            )
        if face_detector_path is not None and detector_range != "short":
            raise InvalidParameterException(
                "face_detector_path applies to detector_range='short' only"
            )
        if landmarks not in ("all", "default"):
            raise InvalidParameterException(
                f"landmarks must be 'all' or 'default', got {landmarks!r}"
            )
        if isinstance(head_crop_size, bool) or not isinstance(head_crop_size, int):
            raise InvalidParameterException(
                f"head_crop_size must be an int, got {type(head_crop_size).__name__}"
            )
        if head_crop_size < 64:
            raise InvalidParameterException(f"head_crop_size must be >= 64, got {head_crop_size}")
        for name, flag in (
            ("search_person_heads", search_person_heads),
            ("require_landmarks", require_landmarks),
        ):
            if not isinstance(flag, bool):
                raise InvalidParameterException(f"{name} must be True or False, got {flag!r}")

        self.min_face_confidence = float(min_face_confidence)
        self.min_mesh_confidence = float(min_mesh_confidence)
        self.detector_range = detector_range
        self.search_person_heads = search_person_heads
        self.head_fraction = float(head_fraction)
        self.head_crop_size = head_crop_size
        self.merge_iou = float(merge_iou)
        self.landmarks = landmarks
        self.require_landmarks = require_landmarks
        self._types = LANDMARK_TYPES if landmarks == "all" else geo.DEFAULT_LANDMARK_TYPES

        self._detector = BlazeFace(face_detector_path, full_range=detector_range == "full")
        self._mesh = FaceMesh(max_faces=_MESH_MAX_FACES)
        self._closed = False

    # --- lifecycle -------------------------------------------------------------------

    def close(self) -> None:
        """Mark the analyzer closed (the compiled networks are shared). Safe to call twice."""
        self._closed = True

    def __enter__(self) -> FaceAnalyzer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"FaceAnalyzer(min_face_confidence={self.min_face_confidence}, "
            f"detector_range={self.detector_range!r}, landmarks={self.landmarks!r})"
        )

    # --- analysis --------------------------------------------------------------------

    def analyze(
        self, image: np.ndarray, person_boxes: np.ndarray | None = None
    ) -> list[dict[str, Any]]:
        """Faces in one frame, as Rekognition ``FaceDetail`` dicts.

        Parameters
        ----------
        image : numpy.ndarray
            (H, W, 3) RGB uint8 frame. Not modified.
        person_boxes : numpy.ndarray, optional
            (N, 4) person boxes ``[x1, y1, x2, y2]`` in pixels; their head regions are
            searched too (see ``search_person_heads``).

        Returns
        -------
        list of dict
            One ``FaceDetail`` per face, highest ``Confidence`` first: ``BoundingBox``
            (ratios of the frame, square in pixels, forehead to chin), ``Confidence``
            (0-100), ``Landmarks``, ``Pose`` (degrees) and ``Quality`` (0-100).

        Raises
        ------
        InvalidParameterException
            Wrong image type/shape/dtype, malformed ``person_boxes``, or a closed analyzer.
        """
        if self._closed:
            raise InvalidParameterException("FaceAnalyzer.analyze: the analyzer is closed")
        image = check_rgb_image(image, min_side=8)
        boxes_in = _check_boxes(person_boxes, "person_boxes")
        h, w = image.shape[:2]

        boxes, scores = self._detect(image)
        if self.search_person_heads and len(boxes_in):
            regions = geo.head_regions(boxes_in, self.head_fraction)
            for region in regions:
                b, s = self._detect_in(image, region, self.head_crop_size)
                boxes = np.concatenate([boxes, b])
                scores = np.concatenate([scores, s])
        keep = nms(boxes, scores, self.merge_iou)

        faces: list[dict[str, Any]] = []
        for i in keep:
            mesh = self._mesh_points(image, boxes[i])
            if mesh is None and self.require_landmarks:
                continue
            box = boxes[i] if mesh is None else geo.mesh_face_box(mesh)
            face: dict[str, Any] = {
                "BoundingBox": {
                    "Width": float((box[2] - box[0]) / w),
                    "Height": float((box[3] - box[1]) / h),
                    "Left": float(box[0] / w),
                    "Top": float(box[1] / h),
                },
                "Confidence": float(np.clip(100.0 * scores[i], 0.0, 100.0)),
            }
            if mesh is not None:
                face["Landmarks"] = geo.rekognition_landmarks(mesh, (w, h), self._types)
                pose = geo.head_pose(mesh, (w, h))
                if pose is not None:
                    face["Pose"] = pose
            face["Quality"] = geo.face_quality(image, box)
            faces.append(face)
        # Merging by detector box can leave two boxes on one face; the mesh boxes tell.
        if len(faces) > 1:
            mesh_boxes = np.array([_pixel_box(f["BoundingBox"], w, h) for f in faces])
            conf = np.array([f["Confidence"] for f in faces])
            faces = [faces[i] for i in nms(mesh_boxes, conf, self.merge_iou)]
        return faces

    def _detect(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Face boxes (pixels) and scores in [0, 1] of the whole ``image``."""
        boxes, _, scores = self._detector.detect(image, self.min_face_confidence)
        return boxes, scores

    def _detect_in(
        self, image: np.ndarray, region: np.ndarray, size: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Detect in a square ``region`` of ``image`` resampled to ``size`` pixels."""
        crop, scale, origin = _square_crop(image, region, size)
        boxes, scores = self._detect(crop)
        return boxes / scale + np.tile(origin, 2), scores

    def _mesh_points(self, image: np.ndarray, box: np.ndarray) -> np.ndarray | None:
        """(478, 2) mesh points (pixels of ``image``) of the face in ``box``, or None."""
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        half = _MESH_CONTEXT * max(box[2] - box[0], box[3] - box[1]) / 2
        region = np.array([cx - half, cy - half, cx + half, cy + half])
        crop, scale, origin = _square_crop(image, region, _MESH_CROP)
        meshes = self._mesh.process(crop, self.min_mesh_confidence)
        if not meshes:
            return None
        # The crop may hold a neighbour's face too: take the mesh nearest the crop centre.
        xy = min(meshes, key=lambda m: float(np.hypot(*(m.mean(axis=0) - _MESH_CROP / 2))))
        return xy / scale + origin


def attach_faces(
    person_boxes: np.ndarray,
    faces: Sequence[dict[str, Any]],
    image_size: tuple[int, int],
    *,
    upper_fraction: float = 0.5,
    min_overlap: float = 0.5,
) -> list[dict[str, Any] | None]:
    """Give each person at most one face and each face at most one person.

    A face may belong to a person when at least ``min_overlap`` of its box lies inside the
    upper part of the person box (the top ``upper_fraction`` of its height, widened by 10%
    on each side and raised by 10% of the height, for heads that stick out). Among the
    allowed pairs the assignment (Hungarian algorithm) minimises, summed over pairs,
    ``(1 - overlap) + distance`` where ``distance`` is the face centre's distance from the
    person's expected head position (horizontal centre, 10% below the top) in units of the
    person box's width and height.

    Parameters
    ----------
    person_boxes : numpy.ndarray
        (N, 4) person boxes ``[x1, y1, x2, y2]`` in pixels.
    faces : sequence of dict
        Rekognition ``FaceDetail`` dicts (only ``BoundingBox`` is read), e.g. from
        :meth:`FaceAnalyzer.analyze`.
    image_size : tuple of int
        (width, height) of the frame in pixels, to read the faces' ratio boxes.
    upper_fraction : float, default 0.5
        Part of the person box, from the top, where their face can be, in (0, 1].
    min_overlap : float, default 0.5
        Minimum fraction of the face box inside that region, in (0, 1].

    Returns
    -------
    list
        N entries: the face dict (the same object as in ``faces``) of each person, or
        None.

    Raises
    ------
    InvalidParameterException
        Malformed boxes, faces, size or parameters.

    Examples
    --------
    >>> import numpy as np, persontrack as pt
    >>> face = {"BoundingBox": {"Left": 0.1, "Top": 0.1, "Width": 0.05, "Height": 0.05}}
    >>> people = np.array([[0.0, 0.0, 30.0, 100.0], [50.0, 40.0, 90.0, 100.0]])
    >>> pt.attach_faces(people, [face], (200, 200))
    [{'BoundingBox': {'Left': 0.1, 'Top': 0.1, 'Width': 0.05, 'Height': 0.05}}, None]
    """
    boxes = _check_boxes(person_boxes, "person_boxes")
    if (
        not isinstance(image_size, (tuple, list))
        or len(image_size) != 2
        or not all(isinstance(v, (int, np.integer)) and v > 0 for v in image_size)
    ):
        raise InvalidParameterException(
            f"image_size must be (width, height) positive integers, got {image_size!r}"
        )
    for name, v in (("upper_fraction", upper_fraction), ("min_overlap", min_overlap)):
        _check_unit(name, v)
        if v <= 0:
            raise InvalidParameterException(f"{name} must be > 0, got {v}")
    if not isinstance(faces, Sequence) or isinstance(faces, (str, bytes)):
        raise InvalidParameterException(
            f"faces must be a list of FaceDetail dicts, got {type(faces).__name__}"
        )
    w, h = int(image_size[0]), int(image_size[1])
    face_boxes = np.array([_face_pixel_box(f, w, h, i) for i, f in enumerate(faces)])
    out: list[dict[str, Any] | None] = [None] * len(boxes)
    if len(boxes) == 0 or len(face_boxes) == 0:
        return out

    x1, y1, x2, y2 = boxes.T
    bw, bh = np.maximum(x2 - x1, 1e-9), np.maximum(y2 - y1, 1e-9)
    region = np.column_stack(
        [x1 - 0.1 * bw, y1 - 0.1 * bh, x2 + 0.1 * bw, y1 + upper_fraction * bh]
    )
    face_area = np.maximum(
        (face_boxes[:, 2] - face_boxes[:, 0]) * (face_boxes[:, 3] - face_boxes[:, 1]), 1e-9
    )
    overlap = box_intersection(region, face_boxes) / face_area[None]  # (people, faces)
    fcx = (face_boxes[:, 0] + face_boxes[:, 2]) / 2
    fcy = (face_boxes[:, 1] + face_boxes[:, 3]) / 2
    dx = (fcx[None] - ((x1 + x2) / 2)[:, None]) / bw[:, None]
    dy = (fcy[None] - (y1 + 0.1 * bh)[:, None]) / bh[:, None]
    cost = (1.0 - overlap) + np.hypot(dx, dy)
    allowed = overlap >= min_overlap
    big = float(cost.max()) + 1e6  # forbidden pairs: never chosen over an allowed one
    rows, cols = linear_sum_assignment(np.where(allowed, cost, big))
    for r, c in zip(rows, cols, strict=True):
        if allowed[r, c]:
            out[r] = faces[c]
    return out


# --- input checks and small helpers ---------------------------------------------------


def _check_unit(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise InvalidParameterException(f"{name} must be a number, got {type(value).__name__}")
    if not (0.0 <= float(value) <= 1.0):
        raise InvalidParameterException(f"{name} must be in [0, 1], got {value}")


def _check_boxes(boxes: object, name: str) -> np.ndarray:
    if boxes is None:
        return np.zeros((0, 4))
    try:
        arr = np.asarray(boxes, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidParameterException(f"{name} must be an (N, 4) array of numbers") from None
    if arr.size == 0:
        return np.zeros((0, 4))
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise InvalidParameterException(
            f"{name} must have shape (N, 4) [x1, y1, x2, y2], got {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise InvalidParameterException(f"{name} must be finite numbers")
    if np.any(arr[:, 2] < arr[:, 0]) or np.any(arr[:, 3] < arr[:, 1]):
        raise InvalidParameterException(f"{name} need x2 >= x1 and y2 >= y1")
    return arr


def _pixel_box(bb: dict[str, float], w: int, h: int) -> list[float]:
    left, top = bb["Left"] * w, bb["Top"] * h
    return [left, top, left + bb["Width"] * w, top + bb["Height"] * h]


def _face_pixel_box(face: object, w: int, h: int, i: int) -> list[float]:
    try:
        bb = face["BoundingBox"]  # type: ignore[index]
        box = _pixel_box({k: float(bb[k]) for k in ("Left", "Top", "Width", "Height")}, w, h)
    except (TypeError, KeyError, ValueError):
        raise InvalidParameterException(
            f"faces[{i}] must be a FaceDetail dict with BoundingBox Left/Top/Width/Height"
        ) from None
    if not all(math.isfinite(v) for v in box):
        raise InvalidParameterException(f"faces[{i}] has a non-finite BoundingBox")
    return box


def _square_crop(
    image: np.ndarray, region: np.ndarray, size: int
) -> tuple[np.ndarray, float, np.ndarray]:
    """``region`` (pixels, made square about its centre) resampled to ``size`` x ``size``.

    Parts outside the image are black. Returns the crop, the scale (crop pixels per image
    pixel) and the region's top-left corner, so ``image_xy = crop_xy / scale + origin``.
    """
    cx, cy = (region[0] + region[2]) / 2, (region[1] + region[3]) / 2
    side = max(region[2] - region[0], region[3] - region[1], 1.0)
    origin = np.array([cx - side / 2, cy - side / 2])
    scale = size / side
    affine = np.array([[scale, 0.0, -origin[0] * scale], [0.0, scale, -origin[1] * scale]])
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    crop = cv2.warpAffine(image, affine, (size, size), flags=interp, borderValue=(0, 0, 0))
    return crop, scale, origin
