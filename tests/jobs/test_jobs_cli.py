"""``persontrack start | get | jobs`` in real subprocesses, one command per process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from jobs_support import FAKE_TRACKER


def run(clients, *args, check=True):
    cmd = [
        sys.executable,
        "-m",
        "persontrack.cli",
        *args,
        "--data-dir",
        str(clients.data_dir),
        "--bucket-root",
        str(clients.bucket_root),
    ]
    env = {**os.environ, "PERSONTRACK_TRACKER": FAKE_TRACKER}
    return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=120, env=env)


def test_start_get_jobs_round_trip(clients):
    c = clients()  # looks at the same store
    start = "start --bucket videos --name sample.mp4 --token cli-1 --tag from-cli".split()
    job_id = json.loads(run(clients, *start).stdout)["JobId"]
    again = json.loads(run(clients, *start).stdout)
    assert again["JobId"] == job_id
    deadline = time.monotonic() + 120
    while c.describe_job(job_id)["JobStatus"] == "IN_PROGRESS" and time.monotonic() < deadline:
        time.sleep(0.2)
    page = json.loads(
        run(clients, "get", job_id, "--max-results", "10", "--sort-by", "INDEX").stdout
    )
    assert page["JobId"] == job_id and page["JobTag"] == "from-cli"
    assert page["JobStatus"] == "SUCCEEDED" and len(page["Persons"]) == 10
    listing = run(clients, "jobs").stdout
    assert job_id in listing and "from-cli" in listing
    lines = [json.loads(line) for line in run(clients, "jobs", "--json").stdout.splitlines()]
    assert [j["JobId"] for j in lines] == [job_id]


def test_cli_pages_with_next_token(clients):
    c = clients(settings={"rows": 25})
    job_id = c.start_person_tracking(
        Video={"S3Object": {"Bucket": "videos", "Name": "sample.mp4"}}
    )["JobId"]
    c.wait(job_id, timeout=60)
    first = json.loads(run(clients, "get", job_id, "--max-results", "20").stdout)
    assert len(first["Persons"]) == 20
    second = json.loads(run(clients, "get", job_id, "--next-token", first["NextToken"]).stdout)
    assert len(second["Persons"]) == 5 and "NextToken" not in second


def test_cli_errors_are_one_line_with_the_rekognition_code(clients):
    clients()
    out = run(clients, "get", "nope", check=False)
    assert out.returncode == 2
    assert out.stderr.strip() == "persontrack: ResourceNotFoundException: job nope does not exist"
    out = run(clients, "start", "--bucket", "videos", "--name", "missing.mp4", check=False)
    assert out.returncode == 2 and "InvalidS3ObjectException" in out.stderr
    out = run(clients, "get", "x", "--max-results", "0", check=False)
    assert out.returncode == 2 and "InvalidParameterException" in out.stderr


def test_start_waits_and_get_follows_every_page(clients):
    c = clients()
    start = "start --bucket videos --name sample.mp4 --token cli-wait --wait".split()
    done = json.loads(run(clients, *start).stdout)
    assert done["JobStatus"] == "SUCCEEDED"
    assert c.describe_job(done["JobId"])["JobStatus"] == "SUCCEEDED"  # ended before it returned
    whole = c.get_person_tracking(JobId=done["JobId"], MaxResults=1000)
    assert 10 < len(whole["Persons"]) < 1000 and "NextToken" not in whole
    every = json.loads(run(clients, "get", done["JobId"], "--max-results", "10", "--all").stdout)
    assert "NextToken" not in every
    assert every["Persons"] == json.loads(json.dumps(whole["Persons"], default=str))
