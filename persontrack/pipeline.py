"""The whole job: video → people and faces → tracker → results DataFrame.

Examples
--------
A short video made on the spot (one frame of matplotlib's photograph of Grace Hopper,
repeated), tracked with every setting at its default but a frame limit:

>>> import av, numpy as np, persontrack as pt, tempfile
>>> from matplotlib import cbook
>>> from PIL import Image
>>> with cbook.get_sample_data("grace_hopper.jpg") as f:
...     photo = np.asarray(Image.open(f).convert("RGB").resize((320, 384)))
>>> path = tempfile.mkdtemp() + "/hopper.mp4"
>>> with av.open(path, "w") as out:
...     stream = out.add_stream("mpeg4", rate=10)
...     stream.width, stream.height = 320, 384
...     for _ in range(4):
...         out.mux(stream.encode(av.VideoFrame.from_ndarray(photo, format="rgb24")))
...     out.mux(stream.encode())
>>> result = pt.track_video(path, {"max_frames": 4})
>>> result.frame["Index"].unique().tolist(), bool(result.frame["FaceConfidence"].notna().all())
([0], True)
>>> result.to_response()["Persons"][0]["Person"]["Face"]["Pose"].keys()
dict_keys(['Pitch', 'Roll', 'Yaw'])
"""

from __future__ import annotations

import collections
import dataclasses
import itertools
import os
import queue
import threading
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from ._version import __version__
from .convert import EXTENSION_KEY, RESPONSE_ATTR, dataframe_to_response, sort_results
from .errors import InvalidParameterException
from .io.video import Frame, VideoMetadata, open_video
from .schema import COLUMNS, compact_landmarks, validate_frame
from .threads import thread_budget
from .tracking.postprocess import link_tracks, smooth_tracks, track_appearance
from .tracking.tracker import Tracker
from .vision.detection import PersonDetector
from .vision.detections import Detections
from .vision.faces import FaceAnalyzer, attach_faces
from .vision.reid import AppearanceEmbedder

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
52 and 61 (README "Landmarks and faces")."""

STAGES = ("decode", "detect", "appearance", "track", "landmarks", "faces", "convert")
"""The stages of :func:`track_video` timed in :attr:`TrackingResult.timings`."""

VIDEO_TRACKER_SETTINGS: dict[str, Any] = {
    "max_cost": 0.75,
    "appearance_refresh_ms": 1000.0,
    "appearance_crowd_refresh_ms": 300.0,
    "appearance_clear_margin": 0.3,
    "merged_box_containment": 0.6,
}
"""Tracker settings that differ from :class:`Tracker`'s defaults when tracking video.

:class:`PersonDetector` reports calibrated confidences (the share of boxes of that score
that are people, measured on MOT17 frames), so the tracker's own confidence thresholds keep
their meaning: a new track starts on a box that is a person 8 times in 10 (raw score about
0.31 of the shipped detector) and continues on weaker ones. The matching gate is a little
wider (0.75, not 0.7): a person coming out from behind another is first seen in part, off
the predicted centre (on the sample video the default gate gave them a second Index).

One box around two people (``merged_box_containment``, off in :class:`Tracker`) is
nobody's: this detector draws one for a frame or two where one person walks in front of
another, and it went to the wrong track (PETS09-S2L1, README "Identity through
crossings").

Appearance: a person alone, whose track's appearance is under a second old
(``appearance_refresh_ms``), is not embedded; nor is one with someone near (within a body
height) whose appearance is under 300 ms old (``appearance_crowd_refresh_ms``), nor one
whose box touches another's but whose track motion alone settles
(``appearance_clear_margin`` 0.3 in cost units: no other track or detection nearly as
close, no lost, tentative or unexplained neighbour); new, unexplained and contested
detections always are. On PETS09-S2L1 end to end (0287, 864 px) that embeds 2.0 crops a
frame, against 2.8 with every touching one, 4.0 with every crowded one and 6.1 with every
crop, at the same identity IDF1 92.0 and 4 ID switches as with every touching or crowded
one (91.5 / 3 with every crop; README "Identity through crossings"). On
``pedestrian_survaillance.mp4``, where people walk in groups, 1.5 crops a frame instead of
3.9 with every touching one (``benchmarks/speed_ceiling.py``), with the same 15 Indexes.
"""


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
        default settings run at about 1.04x real time on 2 cores (README "Idle machine").
        ``None``: every analysed frame.
    faces : bool, default True
        Find the faces of the tracked people at least ``face_min_height`` pixels tall and
        attach them to those people.
    face_min_height : float, default 80
        Least person box height in pixels for a face to be searched for and attached.
        Measured by shrinking people of the shared videos whose face is found at full
        size (benchmarks/landmark_sizes.py): 7 faces in 10 are still found at 80 px, 1 in
        3 at 64 px (README "Landmarks and faces").
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
        Keyword arguments for :class:`Tracker`, over :data:`VIDEO_TRACKER_SETTINGS` and
        the tracker's own defaults.
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
        if m is not None and (isinstance(m, bool) or not isinstance(m, int) or m < 1):
            raise InvalidParameterException(f"max_frames must be an integer >= 1, got {m!r}")
        sm = self.smooth_ms
        if isinstance(sm, bool) or not isinstance(sm, (int, float)) or not 0 <= sm <= 10_000:
            raise InvalidParameterException(
                f"smooth_ms must be a number of milliseconds in [0, 10000], got {sm!r}"
            )
        for name in ("faces", "landmarks"):
            if not isinstance(getattr(self, name), bool):
                raise InvalidParameterException(
                    f"{name} must be True or False, got {getattr(self, name)!r}"
                )
        lf = self.landmark_fps
        if lf is not None and (
            isinstance(lf, bool) or not isinstance(lf, (int, float)) or not 0 < lf <= 1000
        ):
            raise InvalidParameterException(
                f"landmark_fps must be None or a number of analyses per second in (0, 1000], "
                f"got {lf!r}"
            )
        fr = self.face_retry_ms
        if fr is not None and (
            isinstance(fr, bool) or not isinstance(fr, (int, float)) or not 0 <= fr <= 60_000
        ):
            raise InvalidParameterException(
                f"face_retry_ms must be None or milliseconds in [0, 60000], got {fr!r}"
            )
        fh = self.face_min_height
        if isinstance(fh, bool) or not isinstance(fh, (int, float)) or not 0 <= fh < 1e6:
            raise InvalidParameterException(
                f"face_min_height must be a number of pixels >= 0, got {fh!r}"
            )
        up = self.detector_max_upscale
        if up is not None and (
            isinstance(up, bool) or not isinstance(up, (int, float)) or not 1.0 <= up <= 16.0
        ):
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
        if not isinstance(self.tracker, Mapping):
            raise InvalidParameterException(
                f"tracker settings must be a dict, got {type(self.tracker).__name__}"
            )

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


def versions() -> dict[str, str]:
    """Versions of persontrack and the libraries that shape its output."""
    from importlib.metadata import version

    return {"persontrack": __version__, "openvino": version("openvino"), "numpy": np.__version__}


@dataclass
class TrackingResult:
    """The output of :func:`track_video`.

    Attributes
    ----------
    frame : pandas.DataFrame
        Results, one row per person per analysed timestamp (see :mod:`persontrack.schema`).
    metadata : VideoMetadata
        The video's Rekognition VideoMetadata.
    settings : dict
        The settings used.
    versions : dict
        persontrack, OpenVINO and numpy versions.
    timings : dict
        Wall-clock seconds spent in each stage of :data:`STAGES` (``convert``: making the
        result rows and the DataFrame, linking and smoothing included), and ``frames``, the
        number of frames analysed. Not part of the results.
    appearance : dict or None
        ``{Index: unit vector}``, each person's mean appearance embedding (without
        ``appearance`` in the settings: None). Not part of the results; segments of one
        video are stitched by it (:class:`persontrack.tracking.stitch.Stitcher`).
    """

    frame: pd.DataFrame
    metadata: VideoMetadata
    settings: dict[str, Any]
    versions: dict[str, str]
    timings: dict[str, float] = field(default_factory=dict, compare=False)
    appearance: dict[int, np.ndarray] | None = field(default=None, compare=False, repr=False)

    def to_response(self, **kwargs: Any) -> dict[str, Any]:
        """The full GetPersonTracking response (see :func:`dataframe_to_response`).

        With ``extensions=True`` (the default here) the response also carries the frame
        numbers, detection confidences, body landmarks, versions and settings.
        """
        kwargs.setdefault("extensions", True)
        extra = dict(kwargs.pop("extra", None) or {})
        extra.setdefault(EXTENSION_KEY, {"Versions": self.versions, "Settings": self.settings})
        return dataframe_to_response(self.frame, self.metadata, extra=extra, **kwargs)


def _as_settings(settings: TrackingSettings | Mapping[str, Any] | None) -> TrackingSettings:
    if settings is None:
        return TrackingSettings()
    if isinstance(settings, TrackingSettings):
        return settings
    if isinstance(settings, Mapping):
        return TrackingSettings.from_dict(settings)
    raise InvalidParameterException(
        f"settings must be TrackingSettings or a dict, got {type(settings).__name__}"
    )


def _rows(
    timestamp_ms: int,
    frame_number: int,
    ids: np.ndarray,
    xyxy: np.ndarray,
    confidence: np.ndarray,
    landmarks: np.ndarray | None,
    faces: list[dict[str, Any] | None],
    width: int,
    height: int,
) -> list[tuple[Any, ...]]:
    rows = []
    for k, index in enumerate(ids):
        x1, y1, x2, y2 = xyxy[k]
        face = faces[k]
        if face is not None:
            fb, pose, q = face["BoundingBox"], face.get("Pose", {}), face.get("Quality", {})
            face_values: tuple[Any, ...] = (
                fb["Left"],
                fb["Top"],
                fb["Width"],
                fb["Height"],
                face["Confidence"],
                pose.get("Pitch", np.nan),
                pose.get("Roll", np.nan),
                pose.get("Yaw", np.nan),
                q.get("Brightness", np.nan),
                q.get("Sharpness", np.nan),
                face.get("Landmarks"),
            )
        else:
            face_values = (np.nan,) * 10 + (None,)
        # A person too small for landmarks (or without a plausible skeleton) has NaN ones.
        body = None
        if landmarks is not None and not np.isnan(landmarks[k]).all():
            body = np.round(landmarks[k], 6).tolist()
        rows.append(
            (
                timestamp_ms,
                frame_number,
                int(index),
                x1 / width,
                y1 / height,
                (x2 - x1) / width,
                (y2 - y1) / height,
                float(confidence[k]) * 100.0,
                *face_values,
                None,
                body,
            )
        )
    return rows


def _pixel_tracks(df: pd.DataFrame, frame: np.ndarray, width: int, height: int) -> pd.DataFrame:
    """Results as the MOT-style rows of :mod:`persontrack.tracking.postprocess` (pixel boxes), with
    ``row``, each row's position in ``df``, to put the answer back in order."""
    return pd.DataFrame(
        {
            "frame": frame,
            "id": df["Index"].to_numpy(),
            "x": df["Left"].to_numpy() * width,
            "y": df["Top"].to_numpy() * height,
            "w": df["Width"].to_numpy() * width,
            "h": df["Height"].to_numpy() * height,
            "row": np.arange(len(df)),
        }
    )


def _link_fragments(
    df: pd.DataFrame,
    frame_rate: float,
    width: int,
    height: int,
    embeddings: np.ndarray | None = None,
) -> pd.DataFrame:
    """Join fragments of one person under one Index, renumbered 0, 1, … by first sighting.

    ``embeddings``: (len(df), D) appearance of each row, NaN rows for none.
    """
    mot = _pixel_tracks(df, df["FrameNumber"].to_numpy(np.int64) + 1, width, height)
    linked = link_tracks(mot, frame_rate, embeddings=embeddings).sort_values("row")
    ids = pd.Series(linked["id"].to_numpy(), index=df.index)
    first = df.assign(_id=ids).groupby("_id")["Timestamp"].min().sort_values(kind="mergesort")
    order = {old: k for k, old in enumerate(first.index)}
    return df.assign(Index=ids.map(order).astype("int64"))


def _smooth_boxes(df: pd.DataFrame, sigma_ms: float, width: int, height: int) -> pd.DataFrame:
    """Each Index's boxes smoothed over the analysed frames (consecutive in that order)."""
    frames = np.sort(df["FrameNumber"].unique())
    ordinal = pd.Series(np.arange(1, len(frames) + 1), index=frames)
    span_s = (df["Timestamp"].max() - df["Timestamp"].min()) / 1000.0
    fps = (len(frames) - 1) / span_s if len(frames) > 1 and span_s > 0 else 1.0
    mot = _pixel_tracks(df, ordinal.loc[df["FrameNumber"]].to_numpy(), width, height)
    smooth = smooth_tracks(mot, fps, sigma_ms=sigma_ms).sort_values("row")
    left = np.clip(smooth["x"].to_numpy() / width, 0.0, 1.0)
    top = np.clip(smooth["y"].to_numpy() / height, 0.0, 1.0)
    w = np.clip(smooth["w"].to_numpy() / width, 0.0, 1.0 - left)
    h = np.clip(smooth["h"].to_numpy() / height, 0.0, 1.0 - top)
    return df.assign(Left=left, Top=top, Width=w, Height=h)


def _landmarks_due(
    detector: PersonDetector,
    image: np.ndarray,
    dets: Detections,
    keys: np.ndarray,
    timestamp_ms: int,
    landmarked: dict[int, int],
    gap_ms: float,
) -> Detections:
    """``dets`` with landmarks for the people not analysed in the last ``gap_ms`` (a little
    less: frames come at a rate that may not divide the gap); ``landmarked`` is updated."""
    due = np.array(
        [timestamp_ms - landmarked.get(int(k), -(10**12)) >= 0.9 * gap_ms for k in keys], bool
    )
    if not due.any():
        return dets
    done = detector.add_landmarks(image, dets[due])
    assert dets.landmarks is not None and done.landmarks is not None
    lms = dets.landmarks.copy()
    lms[due] = done.landmarks
    for k, ok in zip(keys[due], ~np.isnan(done.landmarks).all(axis=(1, 2)), strict=True):
        if ok:  # a person without a skeleton this time is tried again next frame
            landmarked[int(k)] = timestamp_ms
    return Detections(dets.xyxy, dets.confidence, lms)


def _lap(spent: dict[str, float], stage: str, since: float) -> float:
    """Add the time since ``since`` to ``stage``; the time now."""
    now = time.perf_counter()
    spent[stage] += now - since
    return now


class FrameTracking:
    """The per-frame steps of :func:`track_video`: find people, follow them, describe them.

    One instance holds what lives across frames (the tracker, the detector, the face
    analyser, rows of tracks not yet confirmed, the time spent per stage); :meth:`step`
    takes one frame and returns the result rows it settles. :func:`track_video` and
    :func:`persontrack.track_stream` both run their frames through it.

    Parameters
    ----------
    settings : TrackingSettings
        The run's settings.
    width, height : int
        Frame size in pixels.
    """

    def __init__(self, settings: TrackingSettings, width: int, height: int) -> None:
        s = settings
        self.settings, self.width, self.height = s, width, height
        self.tracker = Tracker(**{**VIDEO_TRACKER_SETTINGS, **s.tracker})
        self.detector = PersonDetector(
            preset=s.detector_preset,
            model=s.detector,
            max_upscale=s.detector_max_upscale,
            landmarks=s.landmarks,
            pose_model=s.pose_model,
        )
        try:
            self.analyzer = (
                FaceAnalyzer(face_detector_path=s.face_detector_model) if s.faces else None
            )
        except BaseException:
            self.detector.close()
            raise
        try:
            self.embedder = AppearanceEmbedder(s.appearance) if s.appearance is not None else None
        except BaseException:
            self.close()
            raise
        # Only boxes the tracker may use are embedded.
        self._min_confidence = float(self.tracker.settings["low_confidence"])  # type: ignore[arg-type]
        self.spent = dict.fromkeys(STAGES, 0.0)
        """Seconds spent per stage of :data:`STAGES` ("decode" is the caller's to add)."""
        self.last_embeddings: list[np.ndarray | None] = []
        """Appearance of each row the latest :meth:`step` returned (None: not embedded)."""
        # Rows of tracks not yet confirmed, by track key: filed under the person's Index
        # once the track is confirmed, dropped if it dies first.
        self.pending: dict[int, list[tuple[tuple[Any, ...], np.ndarray | None]]] = {}
        # Timestamp of each track's last landmark analysis, by track key.
        self.landmarked: dict[int, int] = {}
        # Timestamp of each track's last face search that found no face, by track key.
        self.faceless: dict[int, int] = {}
        self._landmark_gap_ms = 0.0 if s.landmark_fps is None else 1000.0 / s.landmark_fps

    def find_boxes(self, image: np.ndarray) -> Detections:
        """The person boxes of one frame (the first step of :meth:`step`; may run in
        another thread, ahead of :meth:`step` on earlier frames)."""
        clock = time.perf_counter()
        dets = self.detector.find_boxes(image)
        _lap(self.spent, "detect", clock)
        return dets

    def step(
        self,
        image: np.ndarray,
        timestamp_ms: int,
        frame_index: int,
        boxes: Detections | None = None,
    ) -> list[tuple[Any, ...]]:
        """Analyse one frame; the rows (in :data:`COLUMNS` order) settled by it: this
        frame's confirmed people, and earlier rows of tracks it confirms. ``boxes``: the
        frame's :meth:`find_boxes`, when already found."""
        s, spent, tracker, detector = self.settings, self.spent, self.tracker, self.detector
        dets = self.find_boxes(image) if boxes is None else boxes
        clock = time.perf_counter()
        if self.embedder is not None and len(dets):
            emb = np.full((len(dets), self.embedder.dimension), np.nan, np.float32)
            used = np.flatnonzero(dets.confidence >= self._min_confidence)
            used = used[tracker.appearance_due(dets.xyxy[used], timestamp_ms)]
            emb[used] = self.embedder.embed(image, dets.xyxy[used], rgb=True)
            dets = dataclasses.replace(dets, embedding=emb)
        clock = _lap(spent, "appearance", clock)
        ids = tracker.update(dets, timestamp_ms)
        keys = tracker.last_keys
        tracked = keys >= 0
        kept = dets[tracked]
        kept_emb = kept.embedding  # add_landmarks returns new Detections
        clock = _lap(spent, "track", clock)
        if s.landmarks and len(kept):
            kept = _landmarks_due(
                detector,
                image,
                kept,
                keys[tracked],
                timestamp_ms,
                self.landmarked,
                self._landmark_gap_ms,
            )
        clock = _lap(spent, "landmarks", clock)
        faces: list[dict[str, Any] | None] = [None] * len(kept)
        big = np.flatnonzero(kept.xyxy[:, 3] - kept.xyxy[:, 1] >= s.face_min_height)
        kept_keys = keys[tracked]
        if s.face_retry_ms is not None:
            wait = 0.9 * s.face_retry_ms  # frames come at a rate that may not divide it
            big = big[
                [
                    timestamp_ms - self.faceless.get(int(kept_keys[i]), -(10**12)) >= wait
                    for i in big
                ]
            ]
        if self.analyzer is not None and len(big):
            found = self.analyzer.analyze(image, person_boxes=kept.xyxy[big])
            attached = attach_faces(kept.xyxy[big], found, (self.width, self.height))
            for i, face in zip(big, attached, strict=True):
                faces[i] = face
                if face is None:
                    self.faceless[int(kept_keys[i])] = timestamp_ms
                else:
                    self.faceless.pop(int(kept_keys[i]), None)
        clock = _lap(spent, "faces", clock)
        new_rows = _rows(
            timestamp_ms,
            frame_index,
            ids[tracked],
            kept.xyxy,
            kept.confidence,
            kept.landmarks,
            faces,
            self.width,
            self.height,
        )
        settled: list[tuple[Any, ...]] = []
        self.last_embeddings = []
        for k, (row, index, key) in enumerate(
            zip(new_rows, ids[tracked], keys[tracked], strict=True)
        ):
            e = None if kept_emb is None else kept_emb[k]
            if index < 0:
                self.pending.setdefault(int(key), []).append((row, e))
                continue
            for early, early_e in self.pending.pop(int(key), []):
                settled.append((early[0], early[1], int(index), *early[3:]))
                self.last_embeddings.append(early_e)
            settled.append(row)
            self.last_embeddings.append(e)
        live = {t.key for t in tracker.tracks}
        for key in [k for k in self.pending if k not in live]:
            del self.pending[key]
        for key in [k for k in self.landmarked if k not in live]:
            del self.landmarked[key]
        for key in [k for k in self.faceless if k not in live]:
            del self.faceless[key]
        _lap(spent, "convert", clock)
        return settled

    def close(self) -> None:
        """Release the models."""
        analyzer = getattr(self, "analyzer", None)  # None when closed from __init__
        if analyzer is not None:
            analyzer.close()
        self.detector.close()

    def __enter__(self) -> FrameTracking:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _BoxesAhead:
    """Frames with their person boxes, decoded and detected in a thread of their own while
    the caller describes and tracks the frames before (OpenVINO and the decoder release the
    GIL, so the two share the cores). Two frames are in the box network at once, each on
    one thread (:meth:`PersonDetector.find_boxes_many`: on pedestrian_survaillance.mp4
    without landmarks and faces 11.9-12.0 s against 12.8-14.8 s with one frame on both
    threads, and the boxes a Dask segment task's one-thread network finds). At most
    :attr:`AHEAD` frames wait, so memory stays flat. Errors of the thread are raised in the
    caller; leaving early stops the thread. Under a thread budget of one (a Dask segment
    task: :mod:`persontrack.threads`) there is no thread: each frame is detected when the
    caller asks for it."""

    AHEAD = 2
    STREAMS = 2
    """Frames in the box network at once (:meth:`PersonDetector.find_boxes_many`)."""

    def __init__(self, frames: Iterator[Frame], per_frame: FrameTracking) -> None:
        self._frames, self._per_frame = frames, per_frame
        self._threaded = (thread_budget() or 2) > 1
        self._queue: queue.Queue[tuple[Frame, Detections] | BaseException | None] = queue.Queue(
            self.AHEAD
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="persontrack-boxes", daemon=True)

    def _found(self) -> Generator[tuple[Frame, Detections], None, None]:
        """Each frame with its boxes, in order (the frame's decoding and detection timed;
        what the consumer does between frames is not)."""
        spent = self._per_frame.spent
        read: collections.deque[Frame] = collections.deque()
        decoding = [0.0]  # seconds spent decoding since the last frame's boxes

        def images() -> Iterator[np.ndarray]:
            frames = iter(self._frames)
            while True:
                clock = time.perf_counter()
                frame = next(frames, None)
                took = time.perf_counter() - clock
                spent["decode"] += took
                decoding[0] += took
                if frame is None:
                    return
                read.append(frame)
                yield frame.image

        streams = self.STREAMS if self._threaded else 1
        found = self._per_frame.detector.find_boxes_many(images(), streams=streams)
        try:
            clock = time.perf_counter()
            for boxes in found:
                spent["detect"] += time.perf_counter() - clock - decoding[0]
                decoding[0] = 0.0
                yield read.popleft(), boxes
                clock = time.perf_counter()
        finally:
            found.close()

    def _run(self) -> None:
        found = self._found()
        try:
            for item in found:
                while not self._stop.is_set():
                    try:
                        self._queue.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if self._stop.is_set():
                    return
            self._put_final(None)
        except BaseException as e:  # handed to the caller
            self._put_final(e)
        finally:
            found.close()

    def _put_final(self, item: BaseException | None) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def __enter__(self) -> _BoxesAhead:
        if self._threaded:
            self._thread.start()
        return self

    def __iter__(self) -> Iterator[tuple[Frame, Detections]]:
        if not self._threaded:
            yield from self._found()
            return
        while True:
            item = self._queue.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._threaded:
            self._thread.join()


def rows_frame(rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    """Rows from :meth:`FrameTracking.step` as a results DataFrame."""
    return validate_frame(pd.DataFrame.from_records(rows, columns=list(COLUMNS)), fill_missing=True)


def track_video(
    source: str | os.PathLike[str] | Any,
    settings: TrackingSettings | Mapping[str, Any] | None = None,
    *,
    progress: Callable[[float], None] | None = None,
    start_ms: int | None = None,
    end_ms: int | None = None,
    workers: int | None = None,
) -> TrackingResult:
    """Find, follow and describe the people in a video.

    Parameters
    ----------
    source : path or binary file object
        The video.
    settings : TrackingSettings or dict, optional
        How to analyse it (defaults: about 16 frames a second, ``balanced`` detector,
        landmarks and faces on).
    progress : callable, optional
        Called with the fraction done (0–1) after each analysed frame.
    start_ms, end_ms : int, optional
        Track only the frames with ``start_ms <= timestamp < end_ms`` (decoding seeks
        to ``start_ms``; frame numbers and timestamps stay the whole video's).
    workers : int, optional
        Track the video in time segments on this many Dask worker processes (a
        LocalCluster on this machine, or the cluster of ``$PERSONTRACK_DASK_SCHEDULER``),
        as the jobs API does: see :func:`persontrack.jobs.segments.track_in_segments`.

    Returns
    -------
    TrackingResult
        The results DataFrame, VideoMetadata, settings and versions.

    Raises
    ------
    InvalidS3ObjectException
        When the video cannot be read.
    InvalidParameterException
        When a setting is invalid.
    """
    if workers is not None:
        from .jobs.segments import track_in_segments

        return track_in_segments(source, settings, workers=workers, progress=progress)
    s = _as_settings(settings)
    target_fps = s.target_fps
    if target_fps is None and s.every_n_frames is None:
        target_fps = DEFAULT_TARGET_FPS
    rows: list[tuple[Any, ...]] = []
    row_emb: list[np.ndarray | None] = []  # appearance of each row, for linking
    dimension = 0
    analysed = 0
    with open_video(source, backend=s.video_backend) as reader:
        meta = reader.metadata
        width, height = meta.FrameWidth, meta.FrameHeight
        total = max(meta.FrameCount or 0, 1)
        first = 0
        if start_ms is not None or end_ms is not None:
            first = int((start_ms or 0) * meta.FrameRate / 1000)
            last = int((end_ms or meta.DurationMillis) * meta.FrameRate / 1000)
            total = max(min(total, last) - first, 1)
        if s.max_frames is not None:
            step = s.every_n_frames or max(round(meta.FrameRate / (target_fps or 1e9)), 1)
            total = min(total, s.max_frames * step)
        with FrameTracking(s, width, height) as per_frame:
            spent = per_frame.spent
            if per_frame.embedder is not None:
                dimension = per_frame.embedder.dimension
            frames = itertools.islice(
                reader.frames(
                    every_n=s.every_n_frames,
                    target_fps=target_fps,
                    start_ms=start_ms,
                    end_ms=end_ms,
                ),
                s.max_frames,
            )
            with _BoxesAhead(frames, per_frame) as ahead:
                for frame, boxes in ahead:
                    analysed += 1
                    rows += per_frame.step(frame.image, frame.timestamp_ms, frame.index, boxes)
                    row_emb += per_frame.last_embeddings
                    if progress is not None:
                        progress(min(max(frame.index + 1 - first, 0) / total, 1.0))
    clock = time.perf_counter()
    df = rows_frame(rows)
    embeddings = None
    if dimension and len(row_emb) == len(df):
        nan = np.full(dimension, np.nan, np.float32)
        embeddings = np.stack([nan if e is None else e for e in row_emb]) if row_emb else None
    if s.link_fragments and len(df):
        df = _link_fragments(df, meta.FrameRate, width, height, embeddings)
    appearance = None
    if dimension:
        appearance = {} if embeddings is None else track_appearance(
            _pixel_tracks(df, df["FrameNumber"].to_numpy(np.int64) + 1, width, height),
            embeddings,
        )  # fmt: skip
    if s.smooth_ms > 0 and len(df):
        df = _smooth_boxes(df, float(s.smooth_ms), width, height)
    df = compact_landmarks(sort_results(df, "TIMESTAMP"))
    _lap(spent, "convert", clock)
    result = TrackingResult(
        df, meta, s.to_dict(), versions(), {**spent, "frames": analysed}, appearance
    )
    df.attrs[RESPONSE_ATTR] = {
        "VideoMetadata": meta.to_dict(),
        EXTENSION_KEY: {"Versions": result.versions, "Settings": result.settings},
    }
    if progress is not None:
        progress(1.0)
    return result
