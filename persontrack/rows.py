"""Result rows: one tuple per tracked person per frame, in :data:`~persontrack.COLUMNS`
order, the DataFrame they make, and what is done to it after the video (fragments linked,
boxes smoothed)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .schema import COLUMNS, validate_frame
from .tracking.postprocess import link_tracks, smooth_tracks

__all__ = ["frame_rows", "link_fragments", "pixel_tracks", "rows_frame", "smooth_boxes"]


def frame_rows(
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
    """The rows of one frame's tracked people (``ids``; boxes ``xyxy`` in pixels)."""
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


def pixel_tracks(df: pd.DataFrame, frame: np.ndarray, width: int, height: int) -> pd.DataFrame:
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


def link_fragments(
    df: pd.DataFrame,
    frame_rate: float,
    width: int,
    height: int,
    embeddings: np.ndarray | None = None,
) -> pd.DataFrame:
    """Join fragments of one person under one Index, renumbered 0, 1, … by first sighting.

    ``embeddings``: (len(df), D) appearance of each row, NaN rows for none.
    """
    mot = pixel_tracks(df, df["FrameNumber"].to_numpy(np.int64) + 1, width, height)
    linked = link_tracks(mot, frame_rate, embeddings=embeddings).sort_values("row")
    ids = pd.Series(linked["id"].to_numpy(), index=df.index)
    first = df.assign(_id=ids).groupby("_id")["Timestamp"].min().sort_values(kind="mergesort")
    order = {old: k for k, old in enumerate(first.index)}
    return df.assign(Index=ids.map(order).astype("int64"))


def smooth_boxes(df: pd.DataFrame, sigma_ms: float, width: int, height: int) -> pd.DataFrame:
    """Each Index's boxes smoothed over the analysed frames (consecutive in that order)."""
    frames = np.sort(df["FrameNumber"].unique())
    ordinal = pd.Series(np.arange(1, len(frames) + 1), index=frames)
    span_s = (df["Timestamp"].max() - df["Timestamp"].min()) / 1000.0
    fps = (len(frames) - 1) / span_s if len(frames) > 1 and span_s > 0 else 1.0
    mot = pixel_tracks(df, ordinal.loc[df["FrameNumber"]].to_numpy(), width, height)
    smooth = smooth_tracks(mot, fps, sigma_ms=sigma_ms).sort_values("row")
    left = np.clip(smooth["x"].to_numpy() / width, 0.0, 1.0)
    top = np.clip(smooth["y"].to_numpy() / height, 0.0, 1.0)
    w = np.clip(smooth["w"].to_numpy() / width, 0.0, 1.0 - left)
    h = np.clip(smooth["h"].to_numpy() / height, 0.0, 1.0 - top)
    return df.assign(Left=left, Top=top, Width=w, Height=h)


def rows_frame(rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    """Rows from :meth:`~persontrack.pipeline.FrameTracking.step` as a results DataFrame."""
    return validate_frame(pd.DataFrame.from_records(rows, columns=list(COLUMNS)), fill_missing=True)
