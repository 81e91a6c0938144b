"""Cost of appearance per analysed frame: crops embedded and the embedder's CPU time.

Runs :func:`persontrack.track_video` on the first ``--seconds`` of a shared video
(landmarks and faces off: they do not change which crops are embedded) once per setting
and prints a markdown row each: crops embedded per analysed frame, the embedder's CPU and
wall milliseconds per analysed frame (``AppearanceEmbedder.embed`` timed from the
outside), people. CPU time is steadier than wall time on a shared machine; compare rows of
one run::

    PYTHONPATH=$PWD .venv/bin/python benchmarks/appearance_cost.py \\
        --videos pedestrian_survaillance.mp4
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np
from _shared import shared_videos

import persontrack as pt
from persontrack.vision.reid import AppearanceEmbedder

SETTINGS: dict[str, dict[str, Any]] = {
    "0277, every crop": {"appearance": "0277", "tracker": {"appearance_refresh_ms": 0.0}},
    "0287, every crop": {"appearance": "0287", "tracker": {"appearance_refresh_ms": 0.0}},
    "0287, every crowded crop": {"tracker": {"appearance_crowd_refresh_ms": 0.0}},
    "0287, every touching crop": {"tracker": {"appearance_clear_margin": 0.0}},
    "default (0287, crops that matter)": {},
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--videos", nargs="*", default=["pedestrian_survaillance.mp4"])
    ap.add_argument("--set", action="append", default=[], metavar="NAME=JSON")
    args = ap.parse_args()
    runs = dict(SETTINGS)
    for item in args.set:
        name, _, value = item.partition("=")
        runs[name] = json.loads(value)
    spent = {"crops": 0, "cpu": 0.0, "wall": 0.0}
    embed = AppearanceEmbedder.embed

    def counted(self: AppearanceEmbedder, frame: np.ndarray, xyxy: np.ndarray, **kw: Any):  # type: ignore[no-untyped-def]
        cpu, wall = time.process_time(), time.perf_counter()
        out = embed(self, frame, xyxy, **kw)
        spent["cpu"] += time.process_time() - cpu
        spent["wall"] += time.perf_counter() - wall
        spent["crops"] += int((~np.isnan(out).any(axis=1)).sum())
        return out

    AppearanceEmbedder.embed = counted  # type: ignore[method-assign]
    print(
        "| video | appearance | frames | crops a frame | CPU ms a frame | wall ms a frame "
        "| people |"
    )
    print("|---|---|---|---|---|---|---|")
    for video in args.videos:
        path = shared_videos() / video
        fps = min(pt.pipeline.DEFAULT_TARGET_FPS, pt.read_metadata(path).FrameRate)
        base = {"landmarks": False, "faces": False, "max_frames": round(args.seconds * fps)}
        for model in ("0277", "0287"):  # compile the models before timing
            pt.track_video(path, {**base, "max_frames": 2, "appearance": model})
        for name, settings in runs.items():
            spent.update(crops=0, cpu=0.0, wall=0.0)
            result = pt.track_video(path, {**base, **settings})
            n = max(int(result.timings["frames"]), 1)
            print(
                f"| {video} | {name} | {n} | {spent['crops'] / n:.2f} | "
                f"{1000 * spent['cpu'] / n:.1f} | {1000 * spent['wall'] / n:.1f} | "
                f"{result.frame['Index'].nunique()} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
