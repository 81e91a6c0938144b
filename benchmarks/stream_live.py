"""Live tracking of a 15 fps 640x360 stream at default settings: what is analysed, how late.

Debian's ffmpeg plays a real video (``pedestrian_survaillance.mp4``, many people; the
sample video without the shared data) in a loop, resampled to 15 fps and 640x360, as an
MPEG-TS stream over UDP on 127.0.0.1, in real time (``-re``). ``pt.track_stream`` tracks it
with default settings for ``--seconds`` after the first result. Printed:

- frames the stream sent, decoded, analysed, and not analysed (skipped because the analysis
  was busy: live tracking analyses the newest frame whenever it is free, so it never falls
  behind, it analyses fewer frames);
- RSS at the start and end of the measured window (memory does not grow with time);
- latency from receiving a frame to its rows (analysis), and to the chunk that delivers
  them (plus up to ``chunk_s`` = 1 s of chunking).

    python benchmarks/stream_live.py [--seconds 40] [--shared ../shared/data]
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd

import persontrack as pt

REPO = Path(__file__).resolve().parents[1]
FPS, SIZE = 15, (640, 360)


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    args = parser.parse_args()
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise SystemExit("needs ffmpeg: bash tests/stream/setup.sh")
    video = args.shared / "videos" / "pedestrian_survaillance.mp4"
    if not video.is_file():
        video = REPO / "data" / "sample.mp4"
    url = f"udp://127.0.0.1:{free_udp_port()}"
    cmd = [ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-re", "-stream_loop"]
    cmd += ["-1", "-i", str(video), "-an", "-vf", f"fps={FPS},scale={SIZE[0]}:{SIZE[1]}"]
    cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "15"]
    cmd += ["-f", "mpegts", f"{url}?pkt_size=1316"]
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    rows: list[pd.DataFrame] = []
    delivery: list[float] = []
    try:
        live = pt.track_stream(url)
        start = None
        for chunk in live:
            now = time.time()
            if start is None:
                if live.stats()["frames_analysed"] == 0:
                    continue
                # Measure from the first analysed frame (models loaded, stream joined).
                start, base, rss0 = time.monotonic(), live.stats(), rss_mb()
                continue
            rows.append(chunk)
            delivery += (now - chunk["WallClock"].astype("int64") / 1e9).tolist()
            if time.monotonic() - start >= args.seconds:
                break
        elapsed = time.monotonic() - start if start is not None else float("nan")
        end, rss1 = live.stats(), rss_mb()
        live.stop()
    finally:
        server.terminate()
        server.wait()
    decoded = end["frames_decoded"] - base["frames_decoded"]
    analysed = end["frames_analysed"] - base["frames_analysed"]
    df = pd.concat(rows) if rows else pt.empty_frame()
    print(f"stream: {video.name} as {FPS} fps {SIZE[0]}x{SIZE[1]} MPEG-TS/UDP, default settings")
    print(f"measured window: {elapsed:.1f} s (after the first analysed frame)")
    print(
        f"frames sent ~{FPS * elapsed:.0f}, decoded {decoded}, analysed {analysed} "
        f"({analysed / elapsed:.2f}/s), not analysed {decoded - analysed} "
        f"({100 * (decoded - analysed) / max(decoded, 1):.0f}%)"
    )
    print(
        f"entries {len(df)}, people (Index values) {df['Index'].nunique()}, "
        f"reconnects {end['reconnects']}"
    )
    print(
        f"latency frame -> rows: mean {end['latency_s_mean']:.2f} s, "
        f"p95 {end['latency_s_p95']:.2f} s, max {end['latency_s_max']:.2f} s"
    )
    if delivery:
        d = np.array(delivery)
        print(
            f"latency frame -> chunk delivered: mean {d.mean():.2f} s, "
            f"p95 {np.percentile(d, 95):.2f} s, max {d.max():.2f} s"
        )
    print(f"RSS: {rss0:.0f} MB at start of window, {rss1:.0f} MB at end")


if __name__ == "__main__":
    main()
