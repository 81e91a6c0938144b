"""Decode speed and memory of persontrack.io.video's back ends.

Prints, per back end, decode-only frames/s (frames converted to RGB numpy arrays, nothing
else) for two real videos, and the RSS growth over a full pass of the 1394-frame
``one-by-one-person-detection.mp4``, once as fast as possible and once with a slow consumer
(4 ms per frame, as a detector would be). Streaming means neither grows with the length of
the video. (decord 0.6.0 on its own decodes the whole video ahead into RAM while the
consumer is busy; persontrack stops that, and the slow-consumer row shows it.)

    python benchmarks/video_decode.py [--shared ../shared/data]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from persontrack.io.video import open_video

REPO = Path(__file__).resolve().parents[1]
VIDEOS = ("one-by-one-person-detection.mp4", "pedestrian_survaillance.mp4")


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def run(path: Path, backend: str, work_s: float = 0.0) -> tuple[int, float, float, float]:
    """Frames, decode frames/s, RSS growth frame 50 -> end (MB), peak RSS growth (MB)."""
    with open_video(path, backend=backend) as video:
        start_rss = rss_mb()
        n, peak, after_warmup, decoding = 0, start_rss, start_rss, 0.0
        frames = video.frames()
        while True:
            t0 = time.perf_counter()
            frame = next(frames, None)
            decoding += time.perf_counter() - t0
            if frame is None:
                break
            n += 1
            if work_s:
                time.sleep(work_s)
            if n == 50:
                after_warmup = rss_mb()
            if n % 25 == 0:
                peak = max(peak, rss_mb())
        end = rss_mb()
    return n, n / decoding, end - after_warmup, peak - start_rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    args = parser.parse_args()
    print(
        f"{'video':32s} {'backend':7s} {'consumer':8s} {'frames':>6s} {'decode fps':>10s} "
        f"{'RSS growth 50->end MB':>22s} {'peak RSS growth MB':>19s}"
    )
    rows = [(name, backend, 0.0) for name in VIDEOS for backend in ("decord", "pyav")]
    rows += [(VIDEOS[0], backend, 0.004) for backend in ("decord", "pyav")]
    for name, backend, work in rows:
        n, fps, growth, peak = run(args.shared / "videos" / name, backend, work)
        consumer = "4 ms/f" if work else "none"
        print(
            f"{name:32s} {backend:7s} {consumer:8s} {n:6d} {fps:10.1f} {growth:22.1f} {peak:19.1f}"
        )


if __name__ == "__main__":
    main()
