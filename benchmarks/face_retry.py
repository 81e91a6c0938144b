"""Faces searched less often for people whose face was not found: what it saves and costs.

Run from the repository root (reads ../shared/data/videos, or $PERSONTRACK_SHARED_DATA)::

    .venv/bin/python benchmarks/face_retry.py [--seconds 20] [--retry None 250 500]

For each shared video and ``face_retry_ms`` value, tracks the first ``--seconds`` at
default settings (landmarks off: they do not change faces) and prints one markdown row:
entries, entries with a Face, those of them also found with ``None`` (every person searched
on every analysed frame) and the seconds spent in the face stage.
"""

from __future__ import annotations

import argparse
import ast
import sys

from _shared import shared_videos

import persontrack as pt
from persontrack.pipeline import DEFAULT_TARGET_FPS

DEFAULT_VIDEOS = (
    "face-demographics-walking.mp4",
    "face-demographics-walking-and-pause.mp4",
    "head-pose-face-detection-female-and-male.mp4",
    "classroom.mp4",
    "pedestrian_survaillance.mp4",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--videos", nargs="*", default=list(DEFAULT_VIDEOS))
    parser.add_argument("--retry", nargs="*", default=["None", "250", "500"])
    args = parser.parse_args()
    print("| video | face_retry_ms | entries | with a Face | of those, found by None | faces s |")
    print("|---|---|---|---|---|---|")
    for name in args.videos:
        path = shared_videos() / name
        if not path.exists():
            print(f"skipping {name}: not found", file=sys.stderr)
            continue
        reference = None
        for value in args.retry:
            retry = ast.literal_eval(value)
            meta = pt.read_metadata(path)
            frames = int(args.seconds * min(meta.FrameRate, DEFAULT_TARGET_FPS))
            result = pt.track_video(
                path, {"face_retry_ms": retry, "landmarks": False, "max_frames": frames}
            )
            df = result.frame
            found = df[df["FaceConfidence"].notna()]
            keys = set(zip(found["Timestamp"], found["Index"], strict=True))
            if reference is None:
                reference = keys
            print(
                f"| {name} | {retry} | {len(df)} | {len(found)} | {len(keys & reference)} "
                f"| {result.timings['faces']:.2f} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
