"""The settings of a run: everything that decides its output (stored with the results).

Examples
--------
>>> from persontrack.settings import TrackingSettings, as_settings
>>> as_settings({"max_frames": 4}) == TrackingSettings(max_frames=4)
True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ._checks import in_range, is_number
from .errors import InvalidParameterException
from .tracking.config import TrackerConfig

__all__ = [
    "DEFAULT_TARGET_FPS",
    "FACE_MIN_HEIGHT",
    "FACE_RETRY_MS",
    "TrackingSettings",
    "as_settings",
]

DEFAULT_TARGET_FPS = 16.0
"""Frames analysed per second of video when no rate is given: about the number of entries
per second Rekognition People Pathing reports for a person."""

FACE_MIN_HEIGHT = 80.0
"""Default ``face_min_height`` (pixels): see :class:`TrackingSettings`."""

FACE_RETRY_MS = 125.0
"""Default ``face_retry_ms``: a person whose face was not found is searched for again on
about every other analysed frame. People seen from behind or too far for their face were
searched for on every frame: on ``pedestrian_survaillance.mp4`` that was 4.8 s of a 22-s
run, for 9 Face entries. Measured with ``benchmarks/face_retry.py`` (first 20 s): at 125
ms the face stage costs 2.5 s there; the face videos keep 52 of 57 (walking), 69 of 75
(classroom) and all of their Face entries (walking-and-pause, head-pose); at 250 ms,
52 and 61 (docs/benchmarks/landmark_sizes.md)."""


@dataclass(frozen=True)
class TrackingSettings:
    """Everything that decides a run's output (stored with the results).

    Parameters
    ----------
    every_n_frames : int, optional
        Analyse frames 0, n, 2n, … (1: every frame). Exclusive with ``target_fps``.
    target_fps : float, optional
        Analyse about this many frames per second (never more than the video has). When
        neither this nor ``every_n_frames`` is given, :data:`DEFAULT_TARGET_FPS` (about
        Rekognition's rate of entries per second).
    max_frames : int, optional
        Stop after analysing this many frames (a preview of a long video).
    detector_preset : {"fast", "balanced", "thorough"}, default "balanced"
        Person detector speed/recall trade-off (see :class:`PersonDetector`).
    detector_max_upscale : float or None, default None
        Most a video smaller than the preset's input size is enlarged for the detector
        (:class:`~persontrack.DetectorSettings` ``max_upscale``); ``None``: to the preset's
        size; 1.0: never (the detector's time falls by a third to two thirds on small
        videos, and small, far or partly hidden people are found less often).
    detector : str, optional
        The person box detector: a path to an OpenVINO IR ``.xml`` or a YOLOX ``.onnx``
        file, or the name of a model shipped in the package; ``None`` (default) for the
        shipped ``person-vehicle-bike-detection-2003`` (see
        :mod:`persontrack.vision.box_models`).
    landmarks : bool, default True
        Add the 33 body landmarks of the tracked people at least ``landmark_min_height``
        pixels tall (:class:`~persontrack.DetectorSettings`); others get none.
    landmark_fps : float, optional, default 8
        Most body-landmark analyses per second of video for one person (tracked by key):
        the other entries of that person carry no landmarks. The landmark network runs
        once or twice per landmarked person (~11 ms each on 2 cores); at 8 a second the
        default settings run at about 1.04x real time on 2 cores
        (docs/benchmarks/idle_machine.md).
        ``None``: every analysed frame.
    faces : bool, default True
        Find the faces of the tracked people at least ``face_min_height`` pixels tall and
        attach them to those people.
    face_min_height : float, default 80
        Least person box height in pixels for a face to be searched for and attached.
        Measured by shrinking people of the shared videos whose face is found at full
        size (benchmarks/landmark_sizes.py): 7 faces in 10 are still found at 80 px, 1 in
        3 at 64 px (docs/benchmarks/landmark_sizes.md).
    face_retry_ms : float or None, default 125
        A person whose face was not found is searched for again only after this many
        milliseconds of video (their entries in between have no Face); people whose face
        was found are searched for on every analysed frame. ``None``: everyone on every
        analysed frame. See :data:`FACE_RETRY_MS`.
    pose_model, face_detector_model : str, optional
        Paths of official MediaPipe files (``pose_landmarker*.task``,
        ``blaze_face_short_range.tflite``) to use instead of the shipped models.
    appearance : str or None, default "0287"
        Re-identification model whose embeddings of each person's crop help the tracker
        keep one Index per person through crossings, occlusions and exits (see
        :mod:`persontrack.vision.reid`): ``"0287"`` (int8, about 0.4 of 0277's cost),
        ``"0277"`` (more accurate per crop on the benchmark's boxes; end to end on
        PETS09-S2L1, embedding every crop, both give identity IDF1 91.5) or the path
        of an OpenVINO IR ``.xml`` file.
        ``None`` tracks by motion only. Only the crops the tracker needs are embedded
        (:meth:`Tracker.appearance_due`; ``appearance_refresh_ms`` in
        :data:`VIDEO_TRACKER_SETTINGS`).
    tracker : dict
        Fields of :class:`TrackerConfig` over its defaults (the one tracker default of
        every path); unknown keys and out-of-range values are refused when the settings
        are built.
    link_fragments : bool, default True
        After the video, give one Index to track fragments that are the same person
        (:func:`persontrack.tracking.postprocess.link_tracks`: a person lost behind someone else and
        found again, or, with ``appearance``, who left the view and came back within 5
        minutes). Off: each Index is final when its frame is analysed.
    smooth_ms : float, default 0
        After the video, average each person's boxes over time with a Gaussian of this
        standard deviation in milliseconds (:func:`persontrack.tracking.postprocess.smooth_tracks`
        over the analysed frames): steadier paths, as a person's box otherwise alternates
        between the landmarks' extent and a detector's box. 0 keeps each frame's own box,
        as Rekognition reported it. Faces and body landmarks are not moved.
    video_backend : {"auto", "decord", "pyav"}, default "auto"
        Frame reader.
    """

    every_n_frames: int | None = None
    target_fps: float | None = None
    max_frames: int | None = None
    detector_preset: str = "balanced"
    detector_max_upscale: float | None = None
    detector: str | None = None
    landmarks: bool = True
    landmark_fps: float | None = 8.0
    faces: bool = True
    face_min_height: float = FACE_MIN_HEIGHT
    face_retry_ms: float | None = FACE_RETRY_MS
    pose_model: str | None = None
    face_detector_model: str | None = None
    appearance: str | None = "0287"
    tracker: Mapping[str, Any] = field(default_factory=dict)
    link_fragments: bool = True
    smooth_ms: float = 0.0
    video_backend: Literal["auto", "decord", "pyav"] = "auto"

    def __post_init__(self) -> None:
        m = self.max_frames
        if m is not None and not (is_number(m, int) and m >= 1):
            raise InvalidParameterException(f"max_frames must be an integer >= 1, got {m!r}")
        sm = self.smooth_ms
        if not in_range(sm, 0, 10_000):
            raise InvalidParameterException(
                f"smooth_ms must be a number of milliseconds in [0, 10000], got {sm!r}"
            )
        for name in ("faces", "landmarks"):
            if not isinstance(getattr(self, name), bool):
                raise InvalidParameterException(
                    f"{name} must be True or False, got {getattr(self, name)!r}"
                )
        lf = self.landmark_fps
        if lf is not None and not in_range(lf, 0, 1000, low_open=True):
            raise InvalidParameterException(
                f"landmark_fps must be None or a number of analyses per second in (0, 1000], "
                f"got {lf!r}"
            )
        fr = self.face_retry_ms
        if fr is not None and not in_range(fr, 0, 60_000):
            raise InvalidParameterException(
                f"face_retry_ms must be None or milliseconds in [0, 60000], got {fr!r}"
            )
        fh = self.face_min_height
        if not in_range(fh, 0, 1e6, high_open=True):
            raise InvalidParameterException(
                f"face_min_height must be a number of pixels >= 0, got {fh!r}"
            )
        up = self.detector_max_upscale
        if up is not None and not in_range(up, 1.0, 16.0):
            raise InvalidParameterException(
                f"detector_max_upscale must be None or a factor in [1, 16], got {up!r}"
            )
        d = self.detector
        if d is not None and (not isinstance(d, str) or not d):
            raise InvalidParameterException(
                f"detector must be a model file path, a shipped model's name or None, got {d!r}"
            )
        a = self.appearance
        if a is not None and (not isinstance(a, str) or not a):
            raise InvalidParameterException(
                f"appearance must be a re-id model name, a model file path or None, got {a!r}"
            )
        TrackerConfig.from_dict(self.tracker)  # unknown keys, ranges: refused here

    def to_dict(self) -> dict[str, Any]:
        """Settings as a JSON-compatible dict."""
        d = dataclasses.asdict(self)
        d["tracker"] = dict(self.tracker)
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> TrackingSettings:
        """Settings from a dict; unknown keys raise InvalidParameterException."""
        data = dict(data or {})
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidParameterException(
                f"unknown tracking settings {unknown}; known settings are {sorted(known)}"
            )
        return cls(**data)


def as_settings(settings: TrackingSettings | Mapping[str, Any] | None) -> TrackingSettings:
    """``settings`` as :class:`TrackingSettings` (None: the defaults; a dict: checked)."""
    if settings is None:
        return TrackingSettings()
    if isinstance(settings, TrackingSettings):
        return settings
    if isinstance(settings, Mapping):
        return TrackingSettings.from_dict(settings)
    raise InvalidParameterException(
        f"settings must be TrackingSettings or a dict, got {type(settings).__name__}"
    )
