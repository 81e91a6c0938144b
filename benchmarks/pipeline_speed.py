"""Speed of the whole pipeline on real footage: time per stage and the real-time factor.

Run from the repository root (reads ../shared/data/videos, or $PERSONTRACK_SHARED_DATA)::

    .venv/bin/python benchmarks/pipeline_speed.py [--seconds 10] [--videos a.mp4 b.mp4]
    .venv/bin/python benchmarks/pipeline_speed.py --presets fast balanced --set target_fps=8

For each video and configuration (detector preset; landmarks and faces on, then off) it
tracks the first ``--seconds`` of video at the default analysis rate and prints one markdown
row: analysed frames, ms per analysed frame in each stage (decode, detect, track, landmarks,
faces, convert; from ``TrackingResult.timings``), people, entries, and the real-time factor
(seconds of video per wall-clock second). Also the CPU time of the process per second of
video: on a busy shared machine the wall-clock figures are pessimistic, and
``video seconds / (CPU seconds / cores)`` estimates the factor on an idle one.
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
import time
from pathlib import Path

from _shared import shared_videos

import persontrack as pt
from persontrack.pipeline import STAGES

DEFAULT_VIDEOS = (
    "pedestrian_survaillance.mp4",
    "face-demographics-walking.mp4",
    "classroom.mp4",
)


def run(path: Path, settings: dict[str, object]) -> tuple[pt.TrackingResult, float, float]:
    """The result, its wall-clock and CPU seconds."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = pt.track_video(path, settings)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="video seconds per run")
    parser.add_argument("--videos", nargs="*", default=list(DEFAULT_VIDEOS))
    parser.add_argument("--presets", nargs="*", default=["balanced"])
    parser.add_argument("--set", action="append", default=[], help="TrackingSettings, k=v")
    args = parser.parse_args()
    extra: dict[str, object] = {}
    for item in args.set:
        key, _, value = item.partition("=")
        try:
            extra[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            extra[key] = value
    cores = os.cpu_count() or 1
    stages = " | ".join(f"{s} ms" for s in STAGES)
    print(
        f"| video | size | preset | landmarks+faces | frames | {stages} | people | entries "
        "| x real time (wall) | CPU s per video s | x real time (CPU / cores) |"
    )
    print("|" + "---|" * (11 + len(STAGES)))
    for name in args.videos:
        path = shared_videos() / name
        if not path.is_file():
            print(f"missing {path}", file=sys.stderr)
            return 1
        meta = pt.read_metadata(path)
        for preset in args.presets:
            for on in (True, False):
                settings: dict[str, object] = {
                    "detector_preset": preset,
                    "landmarks": on,
                    "faces": on,
                    **extra,
                }
                pt.track_video(path, {**settings, "max_frames": 2})  # warm up, compile
                rate = settings.get("target_fps") or pt.pipeline.DEFAULT_TARGET_FPS
                settings["max_frames"] = max(1, round(args.seconds * min(rate, meta.FrameRate)))
                result, wall, cpu = run(path, settings)
                t = result.timings
                n = max(int(t["frames"]), 1)
                video_s = n / min(float(rate), meta.FrameRate)  # type: ignore[arg-type]
                ms = " | ".join(f"{1000 * t[s] / n:.1f}" for s in STAGES)
                df = result.frame
                print(
                    f"| {name} | {meta.FrameWidth}x{meta.FrameHeight} | {preset} "
                    f"| {'on' if on else 'off'} | {n} | {ms} | {df['Index'].nunique()} "
                    f"| {len(df)} | {video_s / wall:.2f} | {cpu / video_s:.2f} "
                    f"| {video_s / (cpu / cores):.2f} |",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
