"""Shared helpers for the Jobs API tests (fixtures live in the test modules)."""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path
from typing import Any

from persontrack.jobs.client import PersonTrackingClient, client

FAKE_TRACKER = f"{Path(__file__).with_name('jobs_fakes.py')}:fake_track"
VIDEO = {"S3Object": {"Bucket": "videos", "Name": "sample.mp4"}}


def make_buckets(root: Path, sample_video: Path) -> Path:
    (root / "videos").mkdir(parents=True, exist_ok=True)
    shutil.copy(sample_video, root / "videos" / "sample.mp4")
    return root


class Clients:
    """Creates clients on one data dir and stops every worker they started at the end."""

    def __init__(self, data_dir: Path, bucket_root: Path, gate: Path) -> None:
        self.data_dir, self.bucket_root, self.gate = data_dir, bucket_root, gate
        self.made: list[PersonTrackingClient] = []

    def __call__(self, **options: Any) -> PersonTrackingClient:
        options.setdefault("tracker", FAKE_TRACKER)
        options.setdefault("settings", {"rows": 50})
        c = client(data_dir=self.data_dir, bucket_root=self.bucket_root, **options)
        self.made.append(c)
        return c

    def gated(self, **settings: Any) -> dict[str, Any]:
        """Settings that hold a fake job until :meth:`open_gate`."""
        return {"rows": 50, "gate": str(self.gate), **settings}

    def open_gate(self) -> None:
        self.gate.touch()

    def shutdown(self) -> None:
        self.open_gate()
        pids = set()
        for c in self.made:
            pids.update(p.pid for p in c._children)
            c.close()
        from persontrack.errors import InternalServerError
        from persontrack.jobs._store import JobStore

        try:
            pids.update(w["pid"] for w in JobStore(self.data_dir / "jobs.sqlite3").live_workers())
        except InternalServerError:
            pass  # a test broke the store on purpose
        # workers get a moment to finish what the open gate released, then are stopped
        deadline = time.monotonic() + 1
        for c in self.made:
            for child in c._children:
                try:
                    child.wait(timeout=max(0.1, deadline - time.monotonic()))
                except Exception:
                    child.kill()
                    child.wait(timeout=10)
        from persontrack.jobs._store import pid_alive

        for pid in pids:
            if pid and pid_alive(pid):
                while pid_alive(pid) and time.monotonic() < deadline:
                    time.sleep(0.05)
                if pid_alive(pid):
                    os.kill(pid, signal.SIGKILL)


def wait_state(c: PersonTrackingClient, job_id: str, states: set[str], timeout=60.0):
    """Poll the store until the job's internal state is one of ``states``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = c.store.get_job(job_id)
        if job is not None and job["state"] in states:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never reached {states}: {c.store.get_job(job_id)}")
