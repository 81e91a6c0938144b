"""Latency of one GetPersonTracking page of 1000 from a job with 1,000,000 result rows.

Builds a job store in a temporary folder, writes a SUCCEEDED job whose results are
``--rows`` synthetic rows (40 people at 25 fps, a face with 5 landmarks, pose and quality on
30 % of them, as Rekognition returns) through the same code path a worker uses, then times
``client.get_person_tracking(JobId=..., MaxResults=1000, NextToken=...)`` at pages spread
over the whole job, in both sort orders (goal: median <= 50 ms), and the same page as the
wire body ``persontrack serve`` sends (``get_person_tracking_json``: stored JSON spliced,
not parsed).

Run::

    .venv/bin/python benchmarks/jobs_paging.py            # 1,000,000 rows
    .venv/bin/python benchmarks/jobs_paging.py --rows 100000 --repeat 20
    .venv/bin/python benchmarks/jobs_paging.py --keep /tmp/sp      # keep/reuse the store
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from persontrack.jobs._store import DB_FILE, JobStore
from persontrack.jobs._worker import result_rows
from persontrack.jobs.client import PersonTrackingClient, client
from persontrack.schema import validate_frame


def synthetic_frame(rows: int, people: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    steps = -(-rows // people)
    ts = np.repeat(np.arange(steps) * 40, people)[:rows]
    index = np.tile(np.arange(people), steps)[:rows]
    face = rng.random(rows) < 0.3
    marks = [
        [
            {"Type": t, "X": round(float(x), 6), "Y": round(float(y), 6)}
            for t, x, y in zip(
                ("eyeLeft", "eyeRight", "nose", "mouthLeft", "mouthRight"),
                rng.random(5),
                rng.random(5),
                strict=True,
            )
        ]
        if f
        else None
        for f in face
    ]

    def on_face(values: np.ndarray) -> np.ndarray:
        return np.where(face, values, np.nan)

    return validate_frame(
        pd.DataFrame(
            {
                "Timestamp": ts,
                "FrameNumber": ts // 40,
                "Index": index,
                "Left": rng.random(rows) * 0.8,
                "Top": rng.random(rows) * 0.5,
                "Width": rng.random(rows) * 0.2,
                "Height": rng.random(rows) * 0.5,
                "Confidence": rng.random(rows) * 60 + 40,
                "FaceLeft": on_face(rng.random(rows) * 0.8),
                "FaceTop": on_face(rng.random(rows) * 0.5),
                "FaceWidth": on_face(np.full(rows, 0.05)),
                "FaceHeight": on_face(np.full(rows, 0.08)),
                "FaceConfidence": on_face(rng.random(rows) * 10 + 90),
                "FacePitch": on_face(rng.normal(0, 10, rows)),
                "FaceRoll": on_face(rng.normal(0, 10, rows)),
                "FaceYaw": on_face(rng.normal(0, 20, rows)),
                "FaceBrightness": on_face(rng.random(rows) * 100),
                "FaceSharpness": on_face(rng.random(rows) * 100),
                "FaceLandmarks": marks,
            }
        ),
        fill_missing=True,
    )


def build(data_dir: Path, bucket_root: Path, rows: int) -> tuple[PersonTrackingClient, str]:
    (bucket_root / "videos").mkdir(parents=True)
    (bucket_root / "videos" / "big.mp4").write_bytes(b"\0")
    c = client(data_dir=data_dir, bucket_root=bucket_root)
    store: JobStore = c.store
    job_id, _, _ = store.create_job(
        job_id=os.urandom(32).hex(),
        client_token=None,
        request_hash="bench",
        request={"Video": {"S3Object": {"Bucket": "videos", "Name": "big.mp4"}}},
        source={"kind": "local", "path": str(bucket_root / "videos" / "big.mp4")},
        notification=None,
        config={},
        max_jobs=20,
        max_workers=0,  # the benchmark plays the worker itself
        worker_id="bench",
        heartbeat_timeout=3600,
    )
    store.register_worker("bench", os.getpid())
    job = store.claim_next("bench", os.getpid())
    assert job is not None
    t = time.perf_counter()
    frame = synthetic_frame(rows)
    count = store.add_results(job["job_key"], result_rows(frame))
    t_finish = time.perf_counter()
    store.finish(
        job["job_key"],
        "bench",
        state="SUCCEEDED",
        result_count=count,
        video_metadata={
            "Codec": "h264",
            "DurationMillis": int(frame["Timestamp"].max()) + 40,
            "Format": "QuickTime / MOV",
            "FrameRate": 25.0,
            "FrameHeight": 1080,
            "FrameWidth": 1920,
            "ColorRange": "LIMITED",
        },
    )
    store.remove_worker("bench")
    done = time.perf_counter()
    print(f"stored {count:,} rows in {done - t:.1f} s (finishing the job {done - t_finish:.1f} s)")
    return c, job_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=50, help="pages timed per sort order")
    parser.add_argument("--keep", type=Path, help="build the store here, or reuse it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = args.keep or Path(tmp)
        if (base / "data" / DB_FILE).exists():  # e.g. one serve_paging.py built
            c = client(data_dir=base / "data", bucket_root=base / "buckets")
            job_id = c.store.list_jobs()[-1]["job_id"]
            args.rows = c.store.get_job(job_id)["result_count"]
            print(f"reusing the store in {base}")
        else:
            c, job_id = build(base / "data", base / "buckets", args.rows)
        size = (base / "data" / DB_FILE).stat().st_size
        print(f"store size {size / 1e6:.0f} MB")
        job = c.store.get_job(job_id)
        pages = max(1, args.rows // 1000)
        rng = np.random.default_rng(1)
        for sort_by in ("TIMESTAMP", "INDEX"):
            times, sizes, wire = [], [], []
            offsets = rng.integers(0, pages, 2 * args.repeat) * 1000
            for k, offset in enumerate(offsets):
                token = c.signer.sign(
                    job_id=job_id,
                    job_key=job["job_key"],
                    generation=job["generation"],
                    sort_by=sort_by,
                    offset=int(offset),
                )
                request = {"JobId": job_id, "MaxResults": 1000, "SortBy": sort_by}
                t = time.perf_counter()
                if k % 2:  # alternating, each at its own random page
                    c.get_person_tracking_json(**request, NextToken=token)
                    wire.append((time.perf_counter() - t) * 1000)
                else:
                    page = c.get_person_tracking(**request, NextToken=token)
                    times.append((time.perf_counter() - t) * 1000)
                    sizes.append(len(page["Persons"]))
            assert min(sizes) == min(1000, args.rows)
            print(
                f"get_person_tracking page of 1000, SortBy={sort_by}, {args.rows:,} rows: "
                f"median {statistics.median(times):.1f} ms, "
                f"p95 {float(np.percentile(times, 95)):.1f} ms, max {max(times):.1f} ms "
                f"({args.repeat} random pages); as the wire body: median "
                f"{statistics.median(wire):.1f} ms, p95 {float(np.percentile(wire, 95)):.1f} ms"
            )
        c.close()


if __name__ == "__main__":
    main()
