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
>>> result.frame["Index"].unique().tolist(), result.frame["FaceConfidence"].notna().all()
([0], True)
>>> result.to_response()["Persons"][0]["Person"]["Face"]["Pose"].keys()
dict_keys(['Pitch', 'Roll', 'Yaw'])
"""

from __future__ import annotations

import dataclasses
import itertools
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from ._version import __version__
from .convert import EXTENSION_KEY, RESPONSE_ATTR, dataframe_to_response, sort_results
from .errors import InvalidParameterException
from .io.video import VideoMetadata, open_video
from .schema import COLUMNS, validate_frame
from .tracking.postprocess import link_tracks, smooth_tracks
from .tracking.tracker import Tracker, TrackState
from .vision.detection import PersonDetector
from .vision.faces import FaceAnalyzer, attach_faces
from .vision.motion import MotionRegions

VIDEO_TRACKER_SETTINGS: dict[str, Any] = {"birth_confidence": 0.5, "max_cost": 0.75}
"""Tracker settings that differ from :class:`Tracker`'s defaults when tracking video.

The tracker's defaults were tuned on MOT17's Faster R-CNN scores; :class:`PersonDetector`
scores a person who fills the frame at about 0.4-0.8 (found by the landmarker on
frame-sized tiles), so a new track may start from a score of 0.5 (two sightings are
still needed before it gets an Index). The matching gate is a little wider (0.75, not
0.7): a person coming out from behind another is first seen in part, off the predicted
centre (on the sample video the default gate gave them a second Index).
"""


@dataclass(frozen=True)
class TrackingSettings:
    """Everything that decides a run's output (stored with the results).

    Parameters
    ----------
    every_n_frames : int, optional
        Analyse frames 0, n, 2n, … Exclusive with ``target_fps``.
    target_fps : float, optional
        Analyse about this many frames per second (never more than the video has).
    max_frames : int, optional
        Stop after analysing this many frames (a preview of a long video).
    detector_preset : {"fast", "balanced", "thorough"}, default "balanced"
        Person detector speed/recall trade-off (see :class:`PersonDetector`).
    faces : bool, default True
        Find faces and attach them to people.
    pose_model, face_detector_model : str, optional
        Paths of official MediaPipe files (``pose_landmarker*.task``,
        ``blaze_face_short_range.tflite``) to use instead of the models built from the
        installed mediapipe wheel.
    box_detector : str or None, default "ssdlite"
        The person box detector proposing people to :class:`PersonDetector`: the packaged
        SSDLite, a path to a MediaPipe ``ObjectDetector`` ``.tflite`` with a ``person``
        label (EfficientDet-Lite on COCO), or None.
    track_regions : bool, default False
        Also look closely at where the people being followed are, so that a person the
        tiles miss in one frame (small, partly hidden) is still found. Off by default:
        on the sample video it split a person passing in front of another.
    motion_regions : bool, default False
        Also look closely where something moves (OpenCV's MOG2 background subtraction
        over the analysed frames; from the 11th on): people too small or blurred for the
        detectors may still be confirmed by the landmarker there. For fixed cameras.
    tracker : dict
        Keyword arguments for :class:`Tracker`, over :data:`VIDEO_TRACKER_SETTINGS` and
        the tracker's own defaults.
    link_fragments : bool, default True
        After the video, give one Index to track fragments that are the same person
        (:func:`persontrack.tracking.postprocess.link_tracks`: a person lost behind someone else and
        found again). Off: each Index is final when its frame is analysed.
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
    faces: bool = True
    track_regions: bool = False
    motion_regions: bool = False
    pose_model: str | None = None
    face_detector_model: str | None = None
    box_detector: str | None = "ssdlite"
    tracker: Mapping[str, Any] = field(default_factory=dict)
    link_fragments: bool = True
    smooth_ms: float = 0.0
    video_backend: Literal["auto", "decord", "pyav"] = "auto"

    def __post_init__(self) -> None:
        m = self.max_frames
        if m is not None and (isinstance(m, bool) or not isinstance(m, int) or m < 1):
            raise InvalidParameterException(f"max_frames must be an integer >= 1, got {m!r}")
        if not isinstance(self.faces, bool):
            raise InvalidParameterException(f"faces must be True or False, got {self.faces!r}")
        sm = self.smooth_ms
        if isinstance(sm, bool) or not isinstance(sm, (int, float)) or not 0 <= sm <= 10_000:
            raise InvalidParameterException(
                f"smooth_ms must be a number of milliseconds in [0, 10000], got {sm!r}"
            )
        b = self.box_detector
        if b is not None and (not isinstance(b, str) or not b):
            raise InvalidParameterException(
                f"box_detector must be 'ssdlite', a model file path or None, got {b!r}"
            )
        if b not in (None, "ssdlite") and not Path(b).is_file():
            raise InvalidParameterException(f"box_detector: model file {b!r} does not exist")
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
    import mediapipe

    return {"persontrack": __version__, "mediapipe": mediapipe.__version__, "numpy": np.__version__}


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
        persontrack and mediapipe versions.
    """

    frame: pd.DataFrame
    metadata: VideoMetadata
    settings: dict[str, Any]
    versions: dict[str, str]

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
        # A person found without a skeleton (e.g. a HOG-only hit) has all-NaN landmarks.
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


def _link_fragments(df: pd.DataFrame, frame_rate: float, width: int, height: int) -> pd.DataFrame:
    """Join fragments of one person under one Index, renumbered 0, 1, … by first sighting."""
    mot = _pixel_tracks(df, df["FrameNumber"].to_numpy(np.int64) + 1, width, height)
    linked = link_tracks(mot, frame_rate).sort_values("row")
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


def _track_regions(tracker: Tracker) -> np.ndarray:
    """Boxes of the people being followed, for the detector to look at closely."""
    boxes = [t.xyxy for t in tracker.tracks if t.state in (TrackState.CONFIRMED, TrackState.LOST)]
    return np.array(boxes).reshape(-1, 4)


def track_video(
    source: str | os.PathLike[str] | Any,
    settings: TrackingSettings | Mapping[str, Any] | None = None,
    *,
    progress: Callable[[float], None] | None = None,
) -> TrackingResult:
    """Find, follow and describe the people in a video.

    Parameters
    ----------
    source : path or binary file object
        The video.
    settings : TrackingSettings or dict, optional
        How to analyse it (defaults: every frame, ``balanced`` detector, faces on).
    progress : callable, optional
        Called with the fraction done (0–1) after each analysed frame.

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
    s = _as_settings(settings)
    tracker = Tracker(**{**VIDEO_TRACKER_SETTINGS, **s.tracker})
    rows: list[tuple[Any, ...]] = []
    with (
        open_video(source, backend=s.video_backend) as reader,
        PersonDetector(
            preset=s.detector_preset, model_path=s.pose_model, box_detector=s.box_detector
        ) as detector,
    ):
        meta = reader.metadata
        width, height = meta.FrameWidth, meta.FrameHeight
        total = max(meta.FrameCount or 0, 1)
        if s.max_frames is not None:
            step = s.every_n_frames or max(round(meta.FrameRate / (s.target_fps or 1e9)), 1)
            total = min(total, s.max_frames * step)
        analyzer = FaceAnalyzer(face_detector_path=s.face_detector_model) if s.faces else None
        try:
            frames = reader.frames(every_n=s.every_n_frames, target_fps=s.target_fps)
            # Rows of tracks not yet confirmed, by track key: filed under the person's
            # Index once the track is confirmed, dropped if it dies first.
            pending: dict[int, list[tuple[Any, ...]]] = {}
            motion = MotionRegions() if s.motion_regions else None
            for frame in itertools.islice(frames, s.max_frames):
                regions = [_track_regions(tracker)] if s.track_regions else []
                if motion is not None:
                    regions.append(motion.update(frame.image))
                dets = detector.detect(
                    frame.image, regions=np.concatenate(regions) if regions else None
                )
                ids = tracker.update(dets, frame.timestamp_ms)
                keys = tracker.last_keys
                tracked = keys >= 0
                kept = dets[tracked]
                if analyzer is not None and len(kept):
                    found = analyzer.analyze(frame.image, person_boxes=kept.xyxy)
                    faces = attach_faces(kept.xyxy, found, (width, height))
                else:
                    faces = [None] * len(kept)
                new_rows = _rows(
                    frame.timestamp_ms,
                    frame.index,
                    ids[tracked],
                    kept.xyxy,
                    kept.confidence,
                    kept.landmarks,
                    faces,
                    width,
                    height,
                )
                for row, index, key in zip(new_rows, ids[tracked], keys[tracked], strict=True):
                    if index < 0:
                        pending.setdefault(int(key), []).append(row)
                        continue
                    for early in pending.pop(int(key), []):
                        rows.append((early[0], early[1], int(index), *early[3:]))
                    rows.append(row)
                live = {t.key for t in tracker.tracks}
                for key in [k for k in pending if k not in live]:
                    del pending[key]
                if progress is not None:
                    progress(min((frame.index + 1) / total, 1.0))
        finally:
            if analyzer is not None:
                analyzer.close()
    df = validate_frame(pd.DataFrame.from_records(rows, columns=list(COLUMNS)), fill_missing=True)
    if s.link_fragments and len(df):
        df = _link_fragments(df, meta.FrameRate, width, height)
    if s.smooth_ms > 0 and len(df):
        df = _smooth_boxes(df, float(s.smooth_ms), width, height)
    df = sort_results(df, "TIMESTAMP")
    result = TrackingResult(df, meta, s.to_dict(), versions())
    df.attrs[RESPONSE_ATTR] = {
        "VideoMetadata": meta.to_dict(),
        EXTENSION_KEY: {"Versions": result.versions, "Settings": result.settings},
    }
    if progress is not None:
        progress(1.0)
    return result
