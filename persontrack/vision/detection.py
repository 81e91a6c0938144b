"""People in one image: boxes from a CNN detector, body landmarks from MediaPipe.

:class:`PersonDetector` works in two steps:

1. *Boxes*: a person box detector run by OpenVINO on the whole frame
   (:mod:`persontrack.vision.box_models`). By default Intel's
   ``person-vehicle-bike-detection-2003`` (INT8, shipped in the package); any OpenVINO IR
   detector of a documented output layout, or a YOLOX ONNX file, can replace it
   (``model=``). Overlapping boxes are merged by non-maximum suppression, and the model's
   raw score is mapped to a calibrated confidence: the precision measured at that score on
   MOT17 street frames (see :data:`persontrack.vision.box_models.SHIPPED`), so that 0.8
   means "8 boxes in 10 with this score were a person" whatever the model.
2. *Landmarks*: BlazePose's landmark network (MediaPipe's, run by OpenVINO:
   :mod:`persontrack.vision.pose`) on a square crop around each person at least
   ``landmark_min_height`` pixels tall gives the 33 body landmarks; smaller people (and
   people on whom it finds no pose) keep their box with NaN landmarks.
   :meth:`PersonDetector.find_boxes` and :meth:`PersonDetector.add_landmarks` run the steps
   apart (the video pipeline adds landmarks to tracked people only).

Examples
--------
>>> import numpy as np, persontrack as pt
>>> image = np.zeros((360, 640, 3), np.uint8)
>>> with pt.PersonDetector("fast") as detector:
...     detections = detector.detect(image)
>>> len(detections)
0
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterable
from dataclasses import asdict, dataclass, fields, replace
from types import TracebackType
from typing import Any

import numpy as np

from .._checks import check_rgb_image
from ..errors import InvalidParameterException
from ..geometry import box_intersection, nms
from .box_models import BoxModel, calibrate
from .detections import Detections
from .pose import PoseLandmarks

__all__ = ["PRESETS", "DetectorSettings", "PersonDetector"]

_SHOULDERS = (11, 12)


@dataclass(frozen=True)
class DetectorSettings:
    """Settings of :class:`PersonDetector`; every threshold named, with its default.

    Parameters
    ----------
    model : str or None
        The box detector: ``None`` for the shipped ``person-vehicle-bike-detection-2003``
        (also given by that name), or a path to an OpenVINO IR ``.xml`` (``.bin`` beside
        it) or a YOLOX ``.onnx`` file (see :mod:`persontrack.vision.box_models` for the
        output layouts understood).
    input_size : int or None
        Longer side in pixels of the detector's input; the frame is scaled to it, keeping
        its aspect ratio. Larger finds smaller people, at a cost growing with its square
        (measured on MOT17 frames: docs/benchmarks/detection_mot_frames.md). ``None``: the
        model's own
        input size, the frame stretched to it.
    max_upscale : float or None
        Most a frame smaller than ``input_size`` is enlarged for the detector; ``None`` (the
        default): always to ``input_size``; 1.0: never, the detector sees it at its own size
        (rounded to the network's stride of 32), for a third to two thirds of the
        detector's time on the shared videos (all smaller than 864 px;
        benchmarks/upscale_videos.py, docs/benchmarks/detection_mot_frames.md). Enlarging
        finds small and
        partly hidden people the own size misses: end to end on PETS09-S2L1 (768x576,
        people 50-150 px tall) identity IDF1 91.6 enlarged to 864 against 84.9 at 768; a
        person seated behind the cook of the smallest video (426x240) makes 1.75 people a
        frame there against 1.27.
    min_score : float
        Least raw detector score of a person box, in [0, 1] (the model's own scale: the
        shipped models score people 0.2-0.7; YOLOX 0.3-0.9).
    nms_iou : float
        Boxes overlapping a better one by more than this IoU are dropped.
    max_containment : float or None
        A box holding at least this share of a better-scored box at least a quarter its size is
        the same person extended (a seated person and the chair below, say) and dropped;
        ``None`` keeps it.
    person_label : int or None
        The model's class id of people; ``None``: the layout's default (1 for Open Model
        Zoo detectors, 0 for YOLOX on COCO).
    calibrated : bool
        Report the measured precision at the box's score as its confidence (shipped models
        only; a user's model reports its raw score).
    threads : int or None
        OpenVINO inference threads; ``None`` lets OpenVINO use every core.
    landmarks : bool
        Add the 33 body landmarks of the people at least ``landmark_min_height`` tall.
    landmark_min_height : float
        Least box height in pixels for the landmarker to run on a person. Measured by
        shrinking people of the shared videos (benchmarks/landmark_sizes.py): at 80 px a
        skeleton is found for 83 % of them, its landmarks 2.0 % of the height from where
        they are at full size; at 64 px 74 % (2.6 %), at 32 px the error is 9 %
        (docs/benchmarks/landmark_sizes.md). Each landmarked person costs a landmark network run.
    landmark_crop_scale : float
        Side of the square crop given to the landmark network, relative to the box's
        longer side (:data:`persontrack.vision.pose.CROP_SCALE`).
    min_pose_presence : float
        Least pose score of the landmark network for a skeleton to be kept (PoseLandmarker's
        ``min_pose_presence_confidence``); its shoulders must also lie in the box.
    pose_model : str or None
        An official ``pose_landmarker_*.task`` file (its landmark network is used) or a
        BlazePose landmark ``.tflite``; ``None``: the full model of the mediapipe wheel.
    """

    model: str | None = None
    input_size: int | None = 864
    max_upscale: float | None = None
    min_score: float = 0.2
    nms_iou: float = 0.5
    max_containment: float | None = 0.9
    person_label: int | None = None
    calibrated: bool = True
    threads: int | None = None
    landmarks: bool = True
    landmark_min_height: float = 80.0
    landmark_crop_scale: float = 1.25
    min_pose_presence: float = 0.5
    pose_model: str | None = None

    def validate(self) -> None:
        """Raise :class:`InvalidParameterException` for any out-of-range setting."""
        for name in ("min_score", "nms_iou", "min_pose_presence"):
            _check_range(name, getattr(self, name), 0.0, 1.0)
        if self.max_containment is not None:
            _check_range("max_containment", self.max_containment, 0.0, 1.0)
        if self.max_upscale is not None:
            _check_range("max_upscale", self.max_upscale, 1.0, 16.0)
        _check_range("landmark_min_height", self.landmark_min_height, 0.0, np.inf)
        _check_range("landmark_crop_scale", self.landmark_crop_scale, 1.0, 4.0)
        for name in ("calibrated", "landmarks"):
            if not isinstance(getattr(self, name), bool):
                raise InvalidParameterException(f"{name} must be True or False")
        for name, least in (("input_size", 64), ("person_label", 0), ("threads", 1)):
            value = getattr(self, name)
            if value is not None and (
                not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < least
            ):
                raise InvalidParameterException(
                    f"{name} must be None or an integer >= {least}, got {value!r}"
                )
        for name in ("model", "pose_model"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise InvalidParameterException(f"{name} must be a path or None, got {value!r}")


def _check_range(
    name: str, value: Any, lo: float, hi: float, *, lo_open: bool = False, hi_open: bool = False
) -> None:
    ok = isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool)
    if ok:
        v = float(value)
        ok = (
            not np.isnan(v)
            and (v > lo if lo_open else v >= lo)
            and (v < hi if hi_open else v <= hi)
        )
    if not ok:
        lo_b, hi_b = "(" if lo_open else "[", ")" if hi_open else "]"
        raise InvalidParameterException(f"{name} must be a number in {lo_b}{lo}, {hi}{hi_b}")


PRESETS: dict[str, DetectorSettings] = {
    "fast": DetectorSettings(input_size=640),
    "balanced": DetectorSettings(),
    "thorough": DetectorSettings(input_size=1280),
}
"""Named settings of :class:`PersonDetector`; ``balanced`` is the default (measured on
MOT17 frames, docs/benchmarks/detection_mot_frames.md)."""


class PersonDetector:
    """Find people (box, confidence, 33 body landmarks) in RGB images.

    Parameters
    ----------
    preset : {"fast", "balanced", "thorough"}
        Starting settings, see :data:`PRESETS`.
    **overrides
        Any field of :class:`DetectorSettings`, replacing the preset's value; for instance
        ``model="yolox_s.onnx"`` for your own detector.

    Raises
    ------
    InvalidParameterException
        Unknown preset or setting, a value out of range, or a model file that is missing
        or not a detector.

    Examples
    --------
    >>> import numpy as np, persontrack as pt
    >>> detector = pt.PersonDetector("balanced", min_score=0.3)
    >>> detector.settings["min_score"], detector.settings["model_file"].endswith("2003.xml")
    (0.3, True)
    >>> detector.detect(np.zeros((240, 320, 3), np.uint8)).xyxy.shape
    (0, 4)
    >>> detector.close()
    """

    def __init__(self, preset: str = "balanced", **overrides: Any) -> None:
        if not isinstance(preset, str) or preset not in PRESETS:
            raise InvalidParameterException(
                f"preset must be one of {sorted(PRESETS)}, got {preset!r}"
            )
        known = {f.name for f in fields(DetectorSettings)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise InvalidParameterException(
                f"unknown PersonDetector setting(s) {unknown}; known: {sorted(known)}"
            )
        for name in ("model", "pose_model"):
            if isinstance(overrides.get(name), os.PathLike):
                overrides[name] = os.fspath(overrides[name])
        settings = replace(PRESETS[preset], **overrides)
        settings.validate()
        self.preset = preset
        self._settings = settings
        self._boxes: BoxModel | None = BoxModel(
            settings.model,
            input_size=settings.input_size,
            max_upscale=settings.max_upscale,
            person_label=settings.person_label,
            threads=settings.threads,
        )
        self._landmarker: PoseLandmarks | None = None
        if settings.landmarks:
            self._landmarker = PoseLandmarks(settings.pose_model, threads=settings.threads)

    @property
    def settings(self) -> dict[str, Any]:
        """The effective settings, as a plain dict (recorded in results)."""
        path = None if self._boxes is None else os.fspath(self._boxes.path)
        return {"preset": self.preset, **asdict(self._settings), "model_file": path}

    def detect(self, image: np.ndarray) -> Detections:
        """Find the people in one RGB image.

        Parameters
        ----------
        image : numpy.ndarray
            (H, W, 3) RGB, uint8. Not modified.

        Returns
        -------
        Detections
            Boxes in pixels of ``image``, confidences in [0, 1] (calibrated, see
            ``calibrated``), landmarks (N, 33, 4) ``[x, y, z, visibility]`` with x, y as
            ratios of the image's width and height (NaN for people too small for them, or
            with ``landmarks=False``), ordered by decreasing confidence.

        Raises
        ------
        InvalidParameterException
            ``image`` is not a non-empty (H, W, 3) uint8 array, or the detector is closed.
        """
        found = self.find_boxes(image)
        return self.add_landmarks(image, found) if self._settings.landmarks else found

    def find_boxes(self, image: np.ndarray) -> Detections:
        """The person boxes and confidences of ``image``; landmarks all NaN.

        See :meth:`detect` (this is its first step).
        """
        if self._boxes is None:
            raise InvalidParameterException("PersonDetector is closed")
        image = check_rgb_image(image)
        return self._detections(*self._boxes.detect(image, min_score=self._settings.min_score))

    def find_boxes_many(
        self, images: Iterable[np.ndarray], *, streams: int = 2
    ) -> Generator[Detections, None, None]:
        """:meth:`find_boxes` of each image of a sequence (a video's frames, all of one
        size), ``streams`` images in the box network at once
        (:meth:`~persontrack.vision.box_models.BoxModel.detect_many`: less CPU per image).

        Examples
        --------
        >>> import numpy as np, persontrack as pt
        >>> detector = pt.PersonDetector("fast", landmarks=False)
        >>> frames = [np.zeros((240, 320, 3), np.uint8)] * 3
        >>> [len(d) for d in detector.find_boxes_many(frames)]
        [0, 0, 0]
        >>> detector.close()
        """
        if self._boxes is None:
            raise InvalidParameterException("PersonDetector is closed")
        checked = (check_rgb_image(image) for image in images)
        found = self._boxes.detect_many(
            checked, min_score=self._settings.min_score, streams=streams
        )
        for boxes, scores in found:
            yield self._detections(boxes, scores)

    def _detections(self, boxes: np.ndarray, scores: np.ndarray) -> Detections:
        """Detections from a box network's boxes and raw scores: overlaps suppressed,
        scores calibrated, ordered by confidence."""
        assert self._boxes is not None
        s = self._settings
        keep = nms(boxes, scores, s.nms_iou)
        boxes, scores = boxes[keep], scores[keep]
        if s.max_containment is not None:
            keep = _drop_extended(boxes, s.max_containment)
            boxes, scores = boxes[keep], scores[keep]
        conf = calibrate(scores, self._boxes.calibration if s.calibrated else None)
        order = np.lexsort((boxes[:, 1], boxes[:, 0], -conf))
        lm = np.full((len(order), 33, 4), np.nan)
        return Detections(boxes[order], np.clip(conf[order], 0.0, 1.0), lm)

    def add_landmarks(self, image: np.ndarray, detections: Detections) -> Detections:
        """``detections`` with the body landmarks of the people tall enough for them.

        Parameters
        ----------
        image : numpy.ndarray
            The (H, W, 3) RGB uint8 image the detections are from. Not modified.
        detections : Detections
            People in ``image`` (not modified: a new object is returned).

        Returns
        -------
        Detections
            The same boxes and confidences; landmarks (N, 33, 4) as in :meth:`detect`.
        """
        if self._boxes is None:
            raise InvalidParameterException("PersonDetector is closed")
        if self._landmarker is None:
            raise InvalidParameterException("PersonDetector was made with landmarks=False")
        image = check_rgb_image(image)
        s = self._settings
        height, width = image.shape[:2]
        lms = np.full((len(detections), 33, 4), np.nan)
        boxes = detections.xyxy
        tall = np.flatnonzero(boxes[:, 3] - boxes[:, 1] >= s.landmark_min_height)
        points, score = self._landmarker.predict(
            image, boxes[tall], crop_scale=s.landmark_crop_scale
        )
        for i, lm, ok in zip(tall, points, score >= s.min_pose_presence, strict=True):
            box = boxes[i]
            # A skeleton of this person: shoulders inside the box (not a neighbour's).
            sx, sy = lm[list(_SHOULDERS), :2].mean(axis=0)
            if ok and box[0] <= sx <= box[2] and box[1] <= sy <= box[3]:
                lms[i] = lm[:, :4]
        lms[:, :, 0] /= width
        lms[:, :, 1] /= height
        lms[:, :, 2] /= width
        return Detections(detections.xyxy, detections.confidence, lms)

    def close(self) -> None:
        """Release the models; the detector cannot be used afterwards."""
        self._landmarker = None
        self._boxes = None

    def __enter__(self) -> PersonDetector:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"PersonDetector(preset={self.preset!r})"


def _drop_extended(boxes: np.ndarray, max_containment: float) -> np.ndarray:
    """Indices of the boxes (sorted best first) not holding a better box of similar size."""
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    kept: list[int] = []
    for i, b in enumerate(boxes):
        if kept:
            inside = box_intersection(b[None], boxes[kept])[0] / np.maximum(area[kept], 1e-9)
            similar = area[kept] >= 0.25 * area[i]
            if np.any((inside >= max_containment) & similar):
                continue
        kept.append(i)
    return np.array(kept, dtype=np.int64)
