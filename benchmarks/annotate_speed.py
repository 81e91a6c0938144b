"""Speed and memory of pt.annotate_video over a long real video.

Draws five people (boxes, tags, trails; every frame "analysed") on the 1394-frame
``one-by-one-person-detection.mp4`` (768x432) and prints frames/s and the RSS at frame 100
and at the end: frames are decoded, drawn and encoded one at a time, so memory does not
grow with the video's length.

    python benchmarks/annotate_speed.py [--shared ../shared/data]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

import persontrack as pt

REPO = Path(__file__).resolve().parents[1]


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    args = parser.parse_args()
    video = args.shared / "videos" / "one-by-one-person-detection.mp4"
    meta = pt.read_metadata(video)
    n = int(meta.FrameCount or 0)
    t = np.round(np.arange(n) * 1000 / meta.FrameRate).astype(int)
    people = [
        pd.DataFrame(
            {
                "Timestamp": t,
                "Index": k,
                "Left": 0.05 + 0.15 * k + 0.05 * np.sin(t / 900 + k),
                "Top": 0.2 + 0.05 * np.cos(t / 700 + k),
                "Width": 0.12,
                "Height": 0.5,
            }
        )
        for k in range(5)
    ]
    df = pt.validate_frame(pd.concat(people, ignore_index=True), fill_missing=True)
    samples: list[float] = []
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.5):
            samples.append(rss_mb())

    watcher = threading.Thread(target=watch, daemon=True)
    start_rss = rss_mb()
    watcher.start()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        out = pt.annotate_video(video, df, Path(tmp) / "a.mp4")
        size = out.stat().st_size
    elapsed = time.perf_counter() - t0
    done.set()
    watcher.join()
    early = samples[min(4, len(samples) - 1)] if samples else float("nan")
    print(f"{video.name}: {n} frames {meta.FrameWidth}x{meta.FrameHeight}, 5 people drawn")
    print(
        f"annotate_video: {n / elapsed:.1f} frames/s ({elapsed:.1f} s), output {size / 1e6:.1f} MB"
    )
    peak, last = max(samples, default=float("nan")), samples[-1] if samples else float("nan")
    print(
        f"RSS: {start_rss:.0f} MB before, {early:.0f} MB after 2 s, "
        f"peak {peak:.0f} MB, {last:.0f} MB at the end"
    )


if __name__ == "__main__":
    main()
