"""Frames per second of the whole pipeline against decoding alone, on real footage.

Run from the repository root (reads ../shared/data/videos)::

    .venv/bin/python benchmarks/pipeline_speed.py [--frames 120] [--videos a.mp4 b.mp4]

Prints one markdown table: decode-only frames/s (the default reader), the pipeline's
frames/s per detector preset with faces on, people found and peak memory growth.
"""

from __future__ import annotations

import argparse
import itertools
import resource
import sys
import time
from pathlib import Path

import persontrack as pt

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data" / "videos"
DEFAULT_VIDEOS = ("face-demographics-walking.mp4", "pedestrian_survaillance.mp4")


def decode_fps(path: Path, frames: int) -> float:
    with pt.open_video(path) as reader:
        start = time.perf_counter()
        n = sum(1 for _ in itertools.islice(reader.frames(), frames))
        return n / (time.perf_counter() - start)


def pipeline_fps(path: Path, frames: int, preset: str) -> tuple[float, int, int]:
    settings = pt.TrackingSettings(max_frames=frames, detector_preset=preset)
    pt.track_video(path, pt.TrackingSettings(max_frames=1, detector_preset=preset))  # warm up
    start = time.perf_counter()
    result = pt.track_video(path, settings)
    elapsed = time.perf_counter() - start
    n = min(frames, result.metadata.FrameCount or frames)
    return n / elapsed, int(result.frame["Index"].nunique()), len(result.frame)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=120, help="frames per video (from 0)")
    parser.add_argument("--videos", nargs="*", default=list(DEFAULT_VIDEOS))
    parser.add_argument("--presets", nargs="*", default=["fast", "balanced"])
    args = parser.parse_args()
    print("| video | size | frames | decode fps | preset | pipeline fps | ms/frame | people | rows")
    print("|---|---|---|---|---|---|---|---|---")
    for name in args.videos:
        path = SHARED / name
        if not path.is_file():
            print(f"missing {path}", file=sys.stderr)
            return 1
        meta = pt.read_metadata(path)
        n = min(args.frames, meta.FrameCount or args.frames)
        dec = decode_fps(path, n)
        for preset in args.presets:
            fps, people, rows = pipeline_fps(path, n, preset)
            print(
                f"| {name} | {meta.FrameWidth}x{meta.FrameHeight} | {n} | {dec:.0f} | {preset} "
                f"| {fps:.2f} | {1000 / fps:.0f} | {people} | {rows}",
                flush=True,
            )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS of the benchmark process: {peak:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
