"""A stand-in for ``track_video`` for tests about the job store, workers and paging.

It runs in the real worker process and reads the real video's metadata, but instead of
running MediaPipe it emits ``settings["rows"]`` deterministic result rows, so paging,
sorting and concurrency can be tested on thousands of rows in a fraction of a second.
With ``settings["gate"]`` (a file path) it reports progress 0.5 and then waits until that
file exists, so tests can observe and kill a job while it runs.
"""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from persontrack.io.video import read_metadata
from persontrack.schema import validate_frame


def fake_frame(rows: int, persons: int = 7, seed: int = 0) -> pd.DataFrame:
    """``rows`` results of ``persons`` people at 40 ms steps, some with faces and bodies."""
    rng = np.random.default_rng(seed)
    n_ts = -(-rows // persons)
    ts = np.repeat(np.arange(n_ts) * 40, persons)[:rows]
    idx = np.tile(np.arange(persons), n_ts)[:rows]
    face = rng.random(rows) < 0.3
    body = [rng.random((33, 4)).round(4).tolist() if i % 5 == 0 else None for i in range(rows)]
    df = pd.DataFrame(
        {
            "Timestamp": ts,
            "FrameNumber": ts // 40,
            "Index": idx,
            "Left": rng.random(rows) * 0.8,
            "Top": rng.random(rows) * 0.5,
            "Width": np.full(rows, 0.1),
            "Height": np.full(rows, 0.4),
            "Confidence": (rng.random(rows) * 60 + 40).round(3),
            "FaceLeft": np.where(face, 0.3, np.nan),
            "FaceTop": np.where(face, 0.2, np.nan),
            "FaceWidth": np.where(face, 0.05, np.nan),
            "FaceHeight": np.where(face, 0.08, np.nan),
            "FaceConfidence": np.where(face, 99.0, np.nan),
            "BodyLandmarks": body,
        }
    )
    return validate_frame(df, fill_missing=True)


def fake_track(source: str, settings: dict[str, Any] | None = None, *, progress: Any = None):
    settings = dict(settings or {})
    metadata = read_metadata(source)
    if settings.get("fail"):
        raise RuntimeError(settings["fail"])
    gate = settings.get("gate")
    if gate:
        if progress is not None:
            progress(0.5)
        deadline = time.monotonic() + float(settings.get("gate_timeout", 60))
        while not Path(gate).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        if progress is not None:
            # the worker throttles progress writes; make sure the last one lands
            time.sleep(0.6)
            progress(1.0)
    frame = fake_frame(int(settings.get("rows", 50)), seed=int(settings.get("seed", 0)))
    return SimpleNamespace(
        frame=frame,
        metadata=metadata,
        settings=settings,
        versions={"persontrack": "test", "tracker": "fake"},
    )


def fake_track_segments(
    source: str,
    settings: dict[str, Any] | None = None,
    *,
    progress: Any = None,
    start_ms: int = 0,
    end_ms: int | None = None,
):
    """:func:`fake_track` that tracks a time span, as ``track_video`` does for segments.

    The rows are those of the whole fake result in ``[start_ms, end_ms)``, but numbered
    by this span alone (in reverse order of the whole run's Indexes), as a real tracker
    starting there would: the stitching must give them back their Indexes. With
    ``settings["sleep"]`` each span takes that many seconds (to kill workers meanwhile).
    """
    settings = dict(settings or {})
    metadata = read_metadata(source)
    frame = fake_frame(int(settings.get("rows", 50)), seed=int(settings.get("seed", 0)))
    ts = frame["Timestamp"]
    frame = frame[(ts >= start_ms) & ((ts < end_ms) if end_ms is not None else True)]
    local = {old: k for k, old in enumerate(sorted(frame["Index"].unique(), reverse=True))}
    frame = frame.assign(Index=frame["Index"].map(local).astype("int64"))
    steps = 10
    for k in range(steps):
        time.sleep(float(settings.get("sleep", 0)) / steps)
        if progress is not None:
            progress((k + 1) / steps)
    return SimpleNamespace(
        frame=frame.reset_index(drop=True),
        metadata=metadata,
        settings=settings,
        versions={"persontrack": "test", "tracker": "fake-segments"},
    )
