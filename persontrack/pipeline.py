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

import dataclasses
import itertools
import os
import time
import types
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .boxes_ahead import BoxesAhead
from .convert import sort_results
from .io.video import open_video
from .result import TrackingResult, tracking_result, versions
from .rows import frame_rows, link_fragments, pixel_tracks, rows_frame, smooth_boxes
from .schema import compact_landmarks
from .settings import (
    DEFAULT_TARGET_FPS,
    FACE_MIN_HEIGHT,
    FACE_RETRY_MS,
    TrackingSettings,
    as_settings,
)
from .tracking.config import TrackerConfig
from .tracking.postprocess import track_appearance
from .tracking.tracker import Tracker
from .vision.detection import PersonDetector
from .vision.detections import Detections
from .vision.faces import FaceAnalyzer, attach_faces
from .vision.reid import AppearanceEmbedder

__all__ = [
    "DEFAULT_TARGET_FPS",
    "FACE_MIN_HEIGHT",
    "FACE_RETRY_MS",
    "STAGES",
    "VIDEO_TRACKER_SETTINGS",
    "FrameTracking",
    "TrackingResult",
    "TrackingSettings",
    "rows_frame",
    "track_video",
    "versions",
]

STAGES = ("decode", "detect", "appearance", "track", "landmarks", "faces", "convert")
"""The stages of :func:`track_video` timed in :attr:`TrackingResult.timings`."""

VIDEO_TRACKER_SETTINGS: Mapping[str, Any] = types.MappingProxyType(TrackerConfig().as_dict())
"""The tracker settings of a video: :class:`TrackerConfig`'s defaults, the same as
:class:`Tracker`'s and every other path's (read-only; kept for callers that read it).

:class:`PersonDetector` reports calibrated confidences (the share of boxes of that score
that are people, measured on MOT17 frames), so the tracker's confidence thresholds keep
their meaning on its boxes. Each setting's range, reason and measurements across the dev
families are in ``docs/tracker.md``; ``TrackingSettings(tracker={...})`` overrides fields
and is checked when the settings are built.
"""


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
        self.tracker = Tracker(**s.tracker)
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
        new_rows = frame_rows(
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
        as the jobs API does: see :func:`persontrack.segments.track_in_segments`.

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
        from .segments import track_in_segments

        return track_in_segments(source, settings, workers=workers, progress=progress)
    s = as_settings(settings)
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
            with BoxesAhead(frames, per_frame.detector, spent) as ahead:
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
        df = link_fragments(df, meta.FrameRate, width, height, embeddings)
    appearance = None
    if dimension:
        appearance = {} if embeddings is None else track_appearance(
            pixel_tracks(df, df["FrameNumber"].to_numpy(np.int64) + 1, width, height),
            embeddings,
        )  # fmt: skip
    if s.smooth_ms > 0 and len(df):
        df = smooth_boxes(df, float(s.smooth_ms), width, height)
    df = compact_landmarks(sort_results(df, "TIMESTAMP"))
    _lap(spent, "convert", clock)
    result = tracking_result(
        df,
        meta,
        s.to_dict(),
        versions(),
        timings={**spent, "frames": analysed},
        appearance=appearance,
    )
    if progress is not None:
        progress(1.0)
    return result
