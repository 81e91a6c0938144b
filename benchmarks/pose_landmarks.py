"""Body landmarks: persontrack's BlazePose-on-OpenVINO against MediaPipe's PoseLandmarker.

Run from the repository root (reads ../shared/data/videos, or $PERSONTRACK_SHARED_DATA)::

    .venv/bin/python benchmarks/pose_landmarks.py [--frames 8] [--videos a.mp4 ...]

On frames sampled from the shared videos (one every 2 s), the shipped person detector finds
the people at least 80 px tall (the default ``landmark_min_height``). Each is given to

- MediaPipe's ``PoseLandmarker`` (IMAGE mode, BlazePose detector + full landmark network,
  two poses) on the square crop persontrack used before, keeping the pose whose shoulders
  are in the box nearest its centre, and
- :class:`persontrack.vision.pose.PoseLandmarks` (the same full landmark network alone,
  on OpenVINO, all people of a frame in one batch) with the pipeline's acceptance rule.

Prints, per video and in all: people, skeletons each accepts, the median and 90th percentile
distance between their landmarks (those MediaPipe sees with visibility > 0.5) in % of the
person's height, and ms per person of each. Both run on the same process and threads, so the
ratio holds on a busy machine; the absolute ms are pessimistic there.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
from _shared import shared_videos

from persontrack.io.video import open_video
from persontrack.vision.detection import PersonDetector

DEFAULT_VIDEOS = (
    "pedestrian_survaillance.mp4",
    "face-demographics-walking.mp4",
    "classroom.mp4",
    "one-by-one-person-detection.mp4",
    "store-aisle-detection.mp4",
    "people-detection.mp4",
)
MIN_HEIGHT = 80.0
CROP_SCALE = 1.25


def mediapipe_landmarker():  # type: ignore[no-untyped-def]
    # persontrack no longer builds Tasks bundles (mediapipe 1.x cannot write their metadata):
    # give an official pose_landmarker_full.task and install mediapipe beside persontrack.
    task = os.environ.get("PERSONTRACK_POSE_TASK")
    if not task:
        sys.exit("set PERSONTRACK_POSE_TASK to an official pose_landmarker_full.task file")
    from mediapipe.tasks.python import BaseOptions, vision

    return vision.PoseLandmarker.create_from_options(
        vision.PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=task),
            running_mode=vision.RunningMode.IMAGE,
            num_poses=2,
        )
    )


def mediapipe_skeleton(landmarker, image: np.ndarray, box: np.ndarray) -> np.ndarray | None:  # type: ignore[no-untyped-def]
    """(33, 4) pixel landmarks from PoseLandmarker on a square crop around ``box``."""
    import mediapipe as mp

    height, width = image.shape[:2]
    short = min(height, width)
    side = int(np.clip(round(max(box[2] - box[0], box[3] - box[1]) * CROP_SCALE), 32, short))
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    x = int(np.clip(round(cx - side / 2), 0, width - side))
    y = int(np.clip(round(cy - side / 2), 0, height - side))
    crop = np.ascontiguousarray(image[y : y + side, x : x + side])
    result = landmarker.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=crop))
    best, best_d = None, np.inf
    for pose in result.pose_landmarks:
        lm = np.array([[p.x, p.y, p.z, p.visibility or 0.0, p.presence or 0.0] for p in pose])
        lm[:, 0] = lm[:, 0] * side + x
        lm[:, 1] = lm[:, 1] * side + y
        if lm[[0, 11, 12], 4].mean() < 0.5:
            continue
        sx, sy = lm[[11, 12], :2].mean(axis=0)
        if not (box[0] <= sx <= box[2] and box[1] <= sy <= box[3]):
            continue
        d = float(np.hypot(sx - cx, sy - cy))
        if d < best_d:
            best, best_d = lm[:, :4], d
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=8, help="frames per video (1 per 2 s)")
    parser.add_argument("--videos", nargs="*", default=list(DEFAULT_VIDEOS))
    args = parser.parse_args()
    detector = PersonDetector(landmark_min_height=MIN_HEIGHT)
    landmarker = mediapipe_landmarker()
    print(
        "| video | people >= 80 px | MediaPipe skeletons | persontrack skeletons | both "
        "| median distance % height | p90 % | MediaPipe ms/person | persontrack ms/person |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    total = {"n": 0, "mp": 0, "pt": 0, "both": 0, "t_mp": 0.0, "t_pt": 0.0, "d": []}
    for name in args.videos:
        path = shared_videos() / name
        if not path.exists():
            print(f"skipping {name}: not found", file=sys.stderr)
            continue
        n = got_mp = got_pt = both = 0
        t_mp = t_pt = 0.0
        dist: list[float] = []
        with open_video(path) as video:
            for k, frame in enumerate(video.frames(target_fps=0.5)):
                if k >= args.frames:
                    break
                image = frame.image
                height, width = image.shape[:2]
                found = detector.find_boxes(image)
                tall = found[found.xyxy[:, 3] - found.xyxy[:, 1] >= MIN_HEIGHT]
                if not len(tall):
                    continue
                t = time.perf_counter()
                ours = detector.add_landmarks(image, tall).landmarks
                t_pt += time.perf_counter() - t
                t = time.perf_counter()
                theirs = [mediapipe_skeleton(landmarker, image, b) for b in tall.xyxy]
                t_mp += time.perf_counter() - t
                assert ours is not None
                for box, mine, ref in zip(tall.xyxy, ours, theirs, strict=True):
                    n += 1
                    got_mp += ref is not None
                    has = not np.isnan(mine).all()
                    got_pt += has
                    if ref is None or not has:
                        continue
                    both += 1
                    seen = ref[:, 3] > 0.5
                    xy = mine[:, :2] * [width, height]
                    d = np.hypot(*(xy[seen] - ref[seen, :2]).T) / (box[3] - box[1])
                    dist.append(float(np.median(d)) * 100)
        row(name, n, got_mp, got_pt, both, dist, t_mp, t_pt)
        for key, value in (("n", n), ("mp", got_mp), ("pt", got_pt), ("both", both)):
            total[key] += value  # type: ignore[operator]
        total["t_mp"] += t_mp  # type: ignore[operator]
        total["t_pt"] += t_pt  # type: ignore[operator]
        total["d"] += dist  # type: ignore[operator]
    row(
        "**all**",
        *(int(total[k]) for k in ("n", "mp", "pt", "both")),  # type: ignore[call-overload]
        total["d"],  # type: ignore[arg-type]
        float(total["t_mp"]),  # type: ignore[arg-type]
        float(total["t_pt"]),  # type: ignore[arg-type]
    )
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    landmarker.close()
    return 0


def row(name, n, got_mp, got_pt, both, dist, t_mp, t_pt) -> None:  # type: ignore[no-untyped-def]
    med = f"{np.median(dist):.1f}" if dist else "-"
    p90 = f"{np.percentile(dist, 90):.1f}" if dist else "-"
    per = max(n, 1)
    print(
        f"| {name} | {n} | {got_mp} | {got_pt} | {both} | {med} | {p90} "
        f"| {t_mp / per * 1000:.1f} | {t_pt / per * 1000:.1f} |"
    )


if __name__ == "__main__":
    sys.exit(main())
