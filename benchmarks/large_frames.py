"""Time and peak memory of reading and tracking videos with large frames.

Writes a short blank video at each size (H.264 via PyAV) into a temporary folder and runs,
each in a fresh process, ``read``: decode every frame with :func:`persontrack.open_video`,
and ``track``: :func:`persontrack.track_video`. Prints a markdown table of wall time and
peak RSS (``ru_maxrss`` of the child). Sizes over ``MAX_FRAME_PIXELS`` (8K UHD) show the
VideoTooLargeException they now raise, before any frame is decoded.

Run::

    .venv/bin/python benchmarks/large_frames.py                      # 1080p, 4K, 8K, 8000x8000
    .venv/bin/python benchmarks/large_frames.py --sizes 3840x2160 --frames 3 --modes read
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

_CHILD = """
import json, sys, time
import persontrack as pt
mode, path = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
try:
    if mode == "read":
        with pt.open_video(path) as video:
            n = sum(1 for _ in video.frames())
        outcome = f"{n} frames"
    else:
        outcome = f"{len(pt.track_video(path).frame)} rows"
except pt.PersonTrackError as exc:
    outcome = f"{type(exc).__name__}: {exc.message[:60]}"
seconds = time.perf_counter() - t0
# VmHWM starts afresh at exec (ru_maxrss would include the parent's at fork)
with open("/proc/self/status") as f:
    rss = next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024
print(json.dumps({"outcome": outcome, "seconds": seconds, "rss_mb": rss}))
"""


def write_video(path: Path, width: int, height: int, frames: int) -> None:
    import av

    with av.open(str(path), "w") as c:
        codec = "libx264" if width * height <= 8192 * 4320 else "mjpeg"
        s = c.add_stream(codec, rate=2)
        s.width, s.height = width, height
        s.pix_fmt = "yuv420p" if codec == "libx264" else "yuvj420p"
        frame = av.VideoFrame(width, height, s.pix_fmt)
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        for i in range(frames):
            frame.pts = i
            for p in s.encode(frame):
                c.mux(p)
        for p in s.encode():
            c.mux(p)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1920x1080,3840x2160,7680x4320,8000x8000")
    parser.add_argument("--frames", type=int, default=2)
    parser.add_argument("--modes", default="read,track")
    args = parser.parse_args()
    print("| size | mode | outcome | seconds | peak RSS MB |")
    print("|---|---|---|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes.split(","):
            width, height = (int(v) for v in size.split("x"))
            path = Path(tmp) / f"{size}.mkv"
            write_video(path, width, height, args.frames)
            for mode in args.modes.split(","):
                run = subprocess.run(
                    [sys.executable, "-c", _CHILD, mode, str(path)],
                    capture_output=True,
                    text=True,
                    timeout=1800,
                )
                lines = [line for line in run.stdout.splitlines() if line.startswith("{")]
                if not lines:
                    print(f"| {size} | {mode} | crashed: {run.stderr[-200:]!r} | | |")
                    continue
                r = json.loads(lines[-1])
                print(
                    f"| {size} | {mode} | {r['outcome']} | {r['seconds']:.1f} | {r['rss_mb']:.0f} |"
                )


if __name__ == "__main__":
    main()
