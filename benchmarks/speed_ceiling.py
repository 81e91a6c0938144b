"""The fastest a tracking run can be on this machine: the CPU each stage needs per frame.

Run from the repository root (reads ../shared/data/videos, or $PERSONTRACK_SHARED_DATA)::

    .venv/bin/python benchmarks/speed_ceiling.py [--video pedestrian_survaillance.mp4]
    .venv/bin/python benchmarks/speed_ceiling.py --set detector_max_upscale=1.0

Wall-clock speed depends on how well the stages share the cores; the CPU time they need
does not. This script runs each stage of ``persontrack track --no-landmarks --no-faces`` on
its own, with one OpenVINO thread (no time lost to threads waiting for each other), over the
video's analysed frames at the default rate, and prints its CPU milliseconds per analysed
frame:

- decode: reading and sampling the frames (``open_video``, the pipeline's backend);
- detect: the person detector at the settings' preset and input size;
- appearance: the re-id embeddings of the crops the tracker asks for
  (:meth:`persontrack.Tracker.appearance_due` on the real boxes, the video's tracker
  settings), and how many crops that is per frame;
- track: the tracker's updates;
- start-up: importing the pipeline and loading its networks, once per run (in a fresh
  process, as the CLI does).

The sum, spread over every core with no time lost, gives the ceiling: the real-time
factor no scheduling can beat (video seconds per wall-clock second), for the whole video
with the start-up and for a long one without it. Figures are CPU time, so they hold on a
busy machine too (a little inflated by shared caches).
"""

from __future__ import annotations

import argparse
import ast
import os
import subprocess
import sys
import time

import numpy as np
from _shared import shared_videos

import persontrack as pt
from persontrack.pipeline import DEFAULT_TARGET_FPS, VIDEO_TRACKER_SETTINGS
from persontrack.vision.reid import AppearanceEmbedder

STARTUP = """
import time
t = time.process_time()
import persontrack as pt
from persontrack.pipeline import FrameTracking, TrackingSettings
FrameTracking(TrackingSettings(landmarks=False, faces=False, {extra}), 626, 360).close()
print(time.process_time() - t)
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", default="pedestrian_survaillance.mp4")
    parser.add_argument("--set", action="append", default=[], help="TrackingSettings, k=v")
    args = parser.parse_args()
    extra: dict[str, object] = {}
    for item in args.set:
        key, _, value = item.partition("=")
        extra[key] = ast.literal_eval(value)
    settings = pt.TrackingSettings(landmarks=False, faces=False, **extra)  # type: ignore[arg-type]
    path = shared_videos() / args.video
    if not path.is_file():
        print(f"missing {path}", file=sys.stderr)
        return 1
    meta = pt.read_metadata(path)
    rate = min(settings.target_fps or DEFAULT_TARGET_FPS, meta.FrameRate)

    cpu = time.process_time()
    frames = [f.image for f in pt.iter_frames(path, target_fps=rate, backend="auto")]
    n = len(frames)
    ms: dict[str, float] = {"decode": 1000 * (time.process_time() - cpu) / n}

    detector = pt.PersonDetector(
        settings.detector_preset,
        landmarks=False,
        threads=1,
        max_upscale=settings.detector_max_upscale,
    )
    detector.find_boxes(frames[0])  # compile
    cpu = time.process_time()
    found = [detector.find_boxes(image) for image in frames]
    ms["detect"] = 1000 * (time.process_time() - cpu) / n
    detector.close()

    assert settings.appearance is not None
    embedder = AppearanceEmbedder(settings.appearance, threads=1)
    embedder.embed(frames[0], found[0].xyxy)  # compile
    tracker = pt.Tracker(**{**VIDEO_TRACKER_SETTINGS, **settings.tracker})
    low = float(tracker.settings["low_confidence"])  # type: ignore[arg-type]
    crops = 0
    embed_cpu = track_cpu = 0.0
    for k, (image, dets) in enumerate(zip(frames, found, strict=True)):
        t_ms = round(1000 * k / rate)
        cpu = time.process_time()
        emb = np.full((len(dets), embedder.dimension), np.nan, np.float32)
        used = np.flatnonzero(dets.confidence >= low)
        used = used[tracker.appearance_due(dets.xyxy[used], t_ms)]
        emb[used] = embedder.embed(image, dets.xyxy[used], rgb=True)
        crops += len(used)
        mid = time.process_time()
        tracker.update(
            pt.Detections(dets.xyxy, dets.confidence, dets.landmarks, embedding=emb), t_ms
        )
        embed_cpu += mid - cpu
        track_cpu += time.process_time() - mid
    ms["appearance"] = 1000 * embed_cpu / n
    ms["track"] = 1000 * track_cpu / n

    extra_src = ", ".join(f"{k}={v!r}" for k, v in extra.items())
    startup = float(
        subprocess.run(
            [sys.executable, "-c", STARTUP.format(extra=extra_src)],
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        ).stdout.split()[-1]
    )
    cores = os.cpu_count() or 1
    per_frame = sum(ms.values())
    video_s = n / rate
    long_factor = cores * 1000 / per_frame / rate
    whole_factor = video_s / ((per_frame * n / 1000 + startup) / cores)
    print(
        f"{args.video} ({meta.FrameWidth}x{meta.FrameHeight}, {video_s:.1f} s), "
        f"{n} frames analysed ({rate:g} a second), {cores} cores, settings {extra or 'default'}"
    )
    print()
    print("| stage | CPU ms per analysed frame |")
    print("|---|---|")
    for stage, value in ms.items():
        note = f" ({crops / n:.2f} crops a frame)" if stage == "appearance" else ""
        print(f"| {stage} | {value:.1f}{note} |")
    print(f"| **all** | **{per_frame:.1f}** |")
    print(f"| start-up (once) | {1000 * startup:.0f} |")
    print()
    print(
        f"Ceiling on {cores} cores: {long_factor:.2f}x real time on a long video, "
        f"{whole_factor:.2f}x for this one with its start-up."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
