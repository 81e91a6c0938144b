"""Hostile use of jobs: 50 threads racing one ClientRequestToken, more jobs than the limit
at once, a worker killed or stopped, two processes sharing one data dir.

Every case ends in documented states (one job per token, LimitExceededException beyond
20, FAILED with a StatusMessage for a dead or silent worker), no hang, and an intact store.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from jobs_support import FAKE_TRACKER, VIDEO, wait_state

from persontrack.errors import PersonTrackError


def integrity(data_dir) -> str:
    with sqlite3.connect(data_dir / "jobs.sqlite3") as db:
        return db.execute("PRAGMA integrity_check").fetchone()[0]


def test_fifty_threads_one_token_mixed_parameters(clients):
    c = clients(settings=clients.gated())
    barrier = threading.Barrier(50)

    def call(i):
        barrier.wait(timeout=60)
        tag = "a" if i % 2 else "b"  # half the callers send other parameters
        try:
            return c.start_person_tracking(Video=VIDEO, ClientRequestToken="one", JobTag=tag)[
                "JobId"
            ]
        except PersonTrackError as exc:
            return type(exc).__name__

    with ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(call, range(50)))
    ids = {a for a in answers if len(a) == 64}
    errors = {a for a in answers if len(a) != 64}
    assert len(ids) == 1
    assert errors <= {"IdempotentParameterMismatchException"}
    assert 0 < answers.count(next(iter(ids))) < 50
    assert len(c.store.list_jobs()) == 1
    assert integrity(clients.data_dir) == "ok"


def test_many_jobs_at_once_from_many_threads(clients):
    c = clients(settings={"rows": 20}, max_workers=2)

    def call(_):
        try:
            return c.start_person_tracking(Video=VIDEO)["JobId"]
        except PersonTrackError as exc:
            return type(exc).__name__

    with ThreadPoolExecutor(25) as pool:
        answers = list(pool.map(call, range(25)))
    ids = [a for a in answers if len(a) == 64]
    refused = [a for a in answers if len(a) != 64]
    # jobs finishing meanwhile free places, so at least 20 are accepted
    assert len(ids) >= 20 and set(refused) <= {"LimitExceededException"}
    for job in ids:
        assert c.wait(job, timeout=120)["JobStatus"] == "SUCCEEDED"
    assert integrity(clients.data_dir) == "ok"


def test_a_stopped_worker_fails_its_job_after_the_heartbeat_timeout(clients):
    c = clients(settings=clients.gated(), max_workers=1, heartbeat_timeout=3)
    job = c.start_person_tracking(Video=VIDEO)["JobId"]
    running = wait_state(c, job, {"RUNNING"})
    os.kill(running["worker_pid"], signal.SIGSTOP)
    try:
        done = c.wait(job, timeout=30)
        assert done["JobStatus"] == "FAILED"
        assert "stopped responding" in done["StatusMessage"]
    finally:
        os.kill(running["worker_pid"], signal.SIGCONT)
    # the woken worker finds it lost the job: it stays FAILED with no rows
    clients.open_gate()
    time.sleep(1.5)
    assert c.describe_job(job)["JobStatus"] == "FAILED"
    assert c.store.result_rows(c.store.get_job(job)["job_key"]) == []
    assert integrity(clients.data_dir) == "ok"


def test_a_killed_worker_fails_its_job_and_the_next_runs(clients):
    c = clients(settings=clients.gated(), max_workers=1)
    job = c.start_person_tracking(Video=VIDEO)["JobId"]
    running = wait_state(c, job, {"RUNNING"})
    os.kill(running["worker_pid"], signal.SIGKILL)
    done = c.wait(job, timeout=30)
    assert done["JobStatus"] == "FAILED" and "died" in done["StatusMessage"]
    assert integrity(clients.data_dir) == "ok"
    clients.open_gate()
    after = c.start_person_tracking(Video=VIDEO)["JobId"]
    assert c.wait(after, timeout=60)["JobStatus"] == "SUCCEEDED"


_OTHER_PROCESS = """
import json, sys
import persontrack as pt
c = pt.client(data_dir=sys.argv[1], bucket_root=sys.argv[2], tracker=sys.argv[3],
              settings={"rows": 30}, max_workers=2)
video = {"S3Object": {"Bucket": "videos", "Name": "sample.mp4"}}
ids = [c.start_person_tracking(Video=video, ClientRequestToken=f"shared-{i}")["JobId"]
       for i in range(6)]
for job in ids:
    c.wait(job, timeout=120)
print(json.dumps({"ids": ids,
                  "token": c.get_person_tracking(JobId=ids[0], MaxResults=10)["NextToken"]}))
"""


def test_two_processes_share_one_data_dir(clients):
    other = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(_OTHER_PROCESS),
            str(clients.data_dir),
            str(clients.bucket_root),
            FAKE_TRACKER,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    c = clients(settings={"rows": 30}, max_workers=2)
    mine = [
        c.start_person_tracking(Video=VIDEO, ClientRequestToken=f"shared-{i}")["JobId"]
        for i in range(3, 9)
    ]
    out, err = other.communicate(timeout=180)
    assert other.returncode == 0, err
    theirs = json.loads(out)
    # the same token in both processes gave the same job (same parameters)
    assert set(mine[:3]) == set(theirs["ids"][3:])
    for job in set(mine) | set(theirs["ids"]):
        assert c.wait(job, timeout=120)["JobStatus"] == "SUCCEEDED"
    assert len(c.store.list_jobs()) == 9
    # a token issued in the other process pages here (one signing key per data dir)
    page = c.get_person_tracking(JobId=theirs["ids"][0], NextToken=theirs["token"])
    assert len(page["Persons"]) == 20
    assert integrity(clients.data_dir) == "ok"


SEGMENTED = FAKE_TRACKER.replace(":fake_track", ":fake_track_segments")


def test_a_video_overwritten_in_place_during_its_job_fails_it(clients):
    """cp other.mp4 same/path.mp4 while the job runs: FAILED naming the change, never a
    silently partial SUCCEEDED; the same file, no longer written, then gives a whole job."""
    video = clients.bucket_root / "videos" / "sample.mp4"
    settings = {"rows": 400, "sleep": 2.0}  # 5 segments of 1 s, 2 s each, on 2 workers
    c = clients(tracker=SEGMENTED, segment_seconds=1, overlap_seconds=0.4, settings=settings)
    job_id = c.start_person_tracking(Video=VIDEO)["JobId"]
    wait_state(c, job_id, {"RUNNING"})
    deadline = time.monotonic() + 60
    while c.get_progress(job_id) <= 0 and time.monotonic() < deadline:
        time.sleep(0.05)  # a segment is being read
    with open(video, "r+b") as f:  # in place: same inode, as cp onto it does
        data = f.read()
        f.seek(0)
        f.write(data + b"\0" * 4096)
    described = c.wait(job_id, timeout=120)
    assert described["JobStatus"] == "FAILED", described
    message = described["StatusMessage"]
    assert message.startswith("InvalidS3ObjectException: s3://videos/sample.mp4 changed"), message
    assert f"size {len(data)} -> {len(data) + 4096} bytes" in message
    assert c.get_person_tracking(JobId=job_id)["Persons"] == []
    again = c.start_person_tracking(Video=VIDEO)["JobId"]
    assert c.wait(again, timeout=120)["JobStatus"] == "SUCCEEDED"
    assert len(c.get_dataframe(again)) == 400
