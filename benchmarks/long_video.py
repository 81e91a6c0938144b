"""Hours of video on Dask: wall time with 1 vs N workers, and peak memory against length.

Makes a long video in /tmp (never in the repository) by concatenating a shared clip
(``../shared/data/videos/one-by-one-person-detection.mp4``, 139 s, 768x432, 10 fps) with
ffmpeg (stream copy, no re-encoding) and tracks its first ``--minutes`` minutes the way a
job does: time segments as Dask tasks on a LocalCluster of ``--workers`` processes, each
segment's stitched rows written to a CSV file as soon as it is done, nothing kept::

    PYTHONPATH=. .venv/bin/python benchmarks/long_video.py --minutes 5 10 20 --workers 1 2

Each (minutes, workers) run is a fresh interpreter. Printed per run: wall time (from
before the LocalCluster starts), tracking time (from when its workers are up), CPU seconds
(user + system) of all Dask workers and of the driving process during the tracking, rows,
people, and peak RSS (``ru_maxrss``) of the driving process and of the largest Dask
worker, plus their sum. Memory is flat in the video's length when the 20-minute run's
peaks are those of the 5-minute one. Workers' CPU seconds that grow with their number
mean they fight over cores (each segment task keeps to one thread per library:
``persontrack/threads.py``); ``--pin`` also binds worker k to core k. Timing on a shared,
loaded machine is pessimistic: compare CPU seconds there.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _shared import shared_data

SHARED = shared_data()
CLIP = SHARED / "videos" / "one-by-one-person-detection.mp4"


def make_long_video(minutes: float, out: Path) -> Path:
    """``out``: the clip repeated to at least ``minutes`` minutes (kept when already there)."""
    from persontrack.jobs._storage import probe_duration

    if out.is_file() and (probe_duration(out) or 0) >= minutes * 60:
        return out
    if shutil.which("ffmpeg") is None:
        raise SystemExit("ffmpeg is needed to make the long video")
    clip_s = 139.4
    loops = int(minutes * 60 / clip_s) + 1
    listing = out.with_suffix(".txt")
    listing.write_text("".join(f"file '{CLIP}'\n" for _ in range(loops)))
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing),
         "-c", "copy", str(out)],
        check=True,
    )  # fmt: skip
    return out


def _usage() -> tuple[float, int]:
    """CPU seconds (user + system) and peak RSS (KiB) of this process."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime, r.ru_maxrss


def run_once(
    video: Path, minutes: float, workers: int, settings: dict, segment: float, pin: bool
) -> dict:
    """Track the first ``minutes`` of ``video`` on ``workers`` processes; return figures."""
    from dataclasses import replace

    from persontrack.io.files import ResultsWriter
    from persontrack.io.video import read_metadata
    from persontrack.segments import dask_client, overlap_for, plan_segments, track_segments

    overlap = overlap_for(settings, read_metadata(video).FrameRate, 2.0)
    segments = plan_segments(minutes * 60, segment_seconds=segment, overlap_seconds=overlap)
    segments[-1] = replace(segments[-1], end_ms=int(minutes * 60_000))
    rows, people = 0, set()
    t0 = time.perf_counter()
    with (
        dask_client(workers, pin_cores=pin) as client,
        tempfile.NamedTemporaryFile("w", suffix=".csv") as out_file,
        ResultsWriter(out_file, format="csv") as out,
    ):
        client.wait_for_workers(workers)
        started = client.run(_usage)  # workers' CPU seconds before any task
        driver_cpu0 = _usage()[0]
        t1 = time.perf_counter()
        for _, chunk, _ in track_segments(
            client, "persontrack.pipeline:track_video", str(video), settings, segments
        ):
            out.write(chunk)
            rows += len(chunk)
            people.update(chunk["Index"].unique().tolist())
            del chunk
        now = time.perf_counter()
        wall, tracking = now - t0, now - t1
        ended = client.run(_usage)
        driver_cpu = _usage()[0] - driver_cpu0
    worker_cpu = sum(ended[w][0] - started[w][0] for w in ended)
    peaks = {w: u[1] for w, u in ended.items()}
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "minutes": minutes,
        "workers": workers,
        "segments": len(segments),
        "wall_s": round(wall, 1),
        "tracking_s": round(tracking, 1),
        "worker_cpu_s": round(worker_cpu, 1),
        "driver_cpu_s": round(driver_cpu, 1),
        "rows": rows,
        "people": len(people),
        "driver_mib": round(me / 1024),
        "worker_mib": round(max(peaks.values()) / 1024),
        "total_mib": round((me + sum(peaks.values())) / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[5, 10, 20])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--every-n", type=int, default=10, help="analyse every Nth frame")
    parser.add_argument("--preset", default="fast", help="detector preset")
    parser.add_argument("--faces", action="store_true", help="also analyse faces")
    parser.add_argument("--segment", type=float, default=60.0, help="seconds per segment")
    parser.add_argument("--video", type=Path, default=Path("/tmp/persontrack-long.mp4"))
    parser.add_argument("--pin", action="store_true", help="bind worker k to core k")
    parser.add_argument("--backend", default="auto", help="video_backend: auto, decord, pyav")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: one run, JSON out
    args = parser.parse_args()
    settings = {"every_n_frames": args.every_n, "detector_preset": args.preset,
                "faces": args.faces, "video_backend": args.backend}  # fmt: skip
    if args.one:
        minutes, workers = json.loads(args.one)
        print(json.dumps(run_once(args.video, minutes, workers, settings, args.segment, args.pin)))
        return
    video = make_long_video(max([*args.minutes, 20.0]), args.video)
    print(f"video {video} ({video.stat().st_size / 1e6:.0f} MB); settings {settings}; "
          f"segments of {args.segment:g} s; CPUs {os.cpu_count()}; pinned {args.pin}; "
          f"load average {os.getloadavg()[0]:.2f}\n")  # fmt: skip
    print("| minutes | workers | segments | wall s | tracking s | worker CPU s | driver CPU s "
          "| rows | people | driver MiB | largest worker MiB | total MiB |")  # fmt: skip
    print("|---" * 12 + "|")
    results = []
    for minutes in args.minutes:
        for workers in args.workers:
            cmd = [sys.executable, __file__, "--one", json.dumps([minutes, workers]),
                   "--video", str(video), "--every-n", str(args.every_n), "--preset",
                   args.preset, "--segment", str(args.segment)]  # fmt: skip
            cmd += ["--faces"] if args.faces else []
            cmd += ["--pin"] if args.pin else []
            cmd += ["--backend", args.backend]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                raise SystemExit(proc.stderr[-3000:])
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            results.append(r)
            print(f"| {r['minutes']:g} | {r['workers']} | {r['segments']} | {r['wall_s']} | "
                  f"{r['tracking_s']} | {r['worker_cpu_s']} | {r['driver_cpu_s']} | "
                  f"{r['rows']} | {r['people']} | {r['driver_mib']} | {r['worker_mib']} | "
                  f"{r['total_mib']} |", flush=True)  # fmt: skip
    by = {(r["minutes"], r["workers"]): r for r in results}
    for m in args.minutes:
        if (m, 1) in by and (m, max(args.workers)) in by and max(args.workers) > 1:
            n = max(args.workers)
            a, b = by[(m, 1)], by[(m, n)]
            print(f"\n{m:g} min: speedup with {n} workers {a['wall_s'] / b['wall_s']:.2f}x "
                  f"(tracking only {a['tracking_s'] / b['tracking_s']:.2f}x; worker CPU s "
                  f"{a['worker_cpu_s']} -> {b['worker_cpu_s']})")  # fmt: skip
    w = max(args.workers)
    lo, hi = min(args.minutes), max(args.minutes)
    if (lo, w) in by and (hi, w) in by and lo != hi:
        a, b = by[(lo, w)], by[(hi, w)]
        ratio = b["total_mib"] / a["total_mib"]
        print(f"peak total RSS {hi:g} min / {lo:g} min with {w} workers: {ratio:.2f} "
              f"({a['total_mib']} -> {b['total_mib']} MiB)")  # fmt: skip


if __name__ == "__main__":
    main()
