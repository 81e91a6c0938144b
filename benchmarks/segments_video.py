"""People counted on a shared video tracked whole and in N stitched segments on Dask.

Issue #12 asks that a video tracked in segments (each a Dask task, stitched by
``persontrack.tracking.stitch``) has as many ``Index`` values as when tracked whole. This
script tracks each video whole (one task) and in ``--segments`` segments (the video's
length divided by N, each starting ``--overlap`` seconds early), both through
``persontrack.segments.track_segments`` on a LocalCluster of ``--workers`` processes,
and prints per run: rows, Index values, and Indexes first seen within ``--overlap`` s
after a boundary of the finest cut (a person the stitching did not carry over is born
there; the whole run's count at the same times is the baseline)::

    PYTHONPATH=. .venv/bin/python benchmarks/segments_video.py \\
        --videos pedestrian_survaillance.mp4 --segments 1 4

Landmarks and faces are off by default (they do not decide Indexes; ``--landmarks``
turns them on). Timing on a shared machine is pessimistic and not the point here.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd
from _shared import shared_data

from persontrack.io.video import read_metadata
from persontrack.segments import (
    dask_client,
    overlap_for,
    plan_segments,
    track_segments,
)

SHARED = shared_data()


def track(
    client, video: Path, settings: dict, n: int, overlap_s: float
) -> tuple[pd.DataFrame, list]:
    """The video's stitched rows when cut into ``n`` segments, and the segments."""
    meta = read_metadata(video)
    duration = meta.DurationMillis / 1000
    overlap = overlap_for(settings, meta.FrameRate, overlap_s)
    if n == 1:
        segments = plan_segments(None)
    else:
        segments = plan_segments(duration, segment_seconds=duration / n, overlap_seconds=overlap)
    chunks = [
        rows
        for _, rows, _ in track_segments(
            client, "persontrack.pipeline:track_video", str(video), settings, segments
        )
    ]
    return pd.concat(chunks, ignore_index=True), segments


def born_after(frame: pd.DataFrame, boundaries: list[int], window_ms: float) -> int:
    """Indexes whose first row lies within ``window_ms`` after one of ``boundaries``."""
    first = frame.groupby("Index")["Timestamp"].min()
    return int(sum(((first >= b) & (first < b + window_ms)).sum() for b in boundaries))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--videos", nargs="+", default=["pedestrian_survaillance.mp4"])
    parser.add_argument("--segments", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--overlap", type=float, default=2.0, help="seconds of overlap")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--preset", default="balanced")
    parser.add_argument("--landmarks", action="store_true", help="landmarks and faces on")
    parser.add_argument("--save", type=Path, help="folder to write each run's rows (CSV) to")
    args = parser.parse_args()
    settings = {"detector_preset": args.preset, "landmarks": args.landmarks,
                "faces": args.landmarks}  # fmt: skip
    print(f"settings {settings}; overlap {args.overlap:g} s; {args.workers} Dask worker(s)\n")
    print("| video | segments | rows | Index values | born after a boundary | wall s |")
    print("|---" * 6 + "|")
    with dask_client(args.workers) as client:
        for name in args.videos:
            video = SHARED / "videos" / name
            runs = []
            for n in args.segments:
                t0 = time.perf_counter()
                frame, segments = track(client, video, settings, n, args.overlap)
                runs.append((frame, segments, time.perf_counter() - t0))
            finest = max((r[1] for r in runs), key=len)
            boundaries = [s.start_ms for s in finest if s.start_ms > 0]
            for frame, segments, wall in runs:
                born = born_after(frame, boundaries, args.overlap * 1000)
                people = frame["Index"].nunique()
                print(f"| {name} | {len(segments)} | {len(frame)} | {people} | {born} | "
                      f"{wall:.1f} |", flush=True)  # fmt: skip
                if args.save:
                    frame.to_csv(args.save / f"{name}-{len(segments)}.csv", index=False)


if __name__ == "__main__":
    main()
