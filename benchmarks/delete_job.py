"""Time of ``delete_job`` (VACUUM + WAL checkpoint): it rewrites the whole store.

Builds a store of ``--jobs`` SUCCEEDED jobs of ``--rows`` synthetic rows each (the rows of
``benchmarks/jobs_paging.py``, written as a worker writes them), then deletes one and prints
the store's size and the time ``delete_job`` took (the write lock is held for about that
long), and checks that none of the deleted job's bytes are left in the files.

Run::

    .venv/bin/python benchmarks/delete_job.py --jobs 4 --rows 100000
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path

import jobs_paging
from jobs_paging import build

from persontrack.jobs._store import DB_FILE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ids = []
        synthetic = jobs_paging.synthetic_frame
        for k in range(args.jobs):  # each job its own rows
            jobs_paging.synthetic_frame = lambda n, k=k: synthetic(n, seed=k)  # type: ignore
            c, job_id = build(root / "data", root / f"buckets{k}", args.rows)
            ids.append(job_id)
        path = root / "data" / DB_FILE
        with sqlite3.connect(path) as db:
            key = db.execute("SELECT job_key FROM jobs WHERE job_id = ?", (ids[0],)).fetchone()[0]
            sample = [
                r[0]
                for r in db.execute(
                    "SELECT person FROM results WHERE job_key = ? LIMIT 200", (key,)
                )
            ]
        size = sum(p.stat().st_size for p in path.parent.glob(DB_FILE + "*"))
        t = time.perf_counter()
        c.delete_job(ids[0])
        took = time.perf_counter() - t
        after = sum(p.stat().st_size for p in path.parent.glob(DB_FILE + "*"))
        left = sum(
            1
            for p in path.parent.rglob("*")
            if p.is_file()
            for s in [ids[0], *sample]
            if s.encode() in p.read_bytes()
        )
        print(
            f"store {size / 1e6:.0f} MB ({args.jobs} jobs x {args.rows:,} rows): delete_job "
            f"{took:.2f} s, store then {after / 1e6:.0f} MB; pieces of the job left: {left}"
        )
        c.close()


if __name__ == "__main__":
    main()
