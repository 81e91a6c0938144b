"""A live stream as a job of the store, on real local streams (ffmpeg on 127.0.0.1).

GetPersonTracking pages the rows while the stream plays (IN_PROGRESS, a NextToken that
picks up where the last page ended), the job ends SUCCEEDED when stopped, FAILED when the
stream never comes or the tracking process is killed; the CLI form runs in a subprocess.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
from procs import reap
from stream_server import StreamServer, ffmpeg_path, free_port

import persontrack as pt


@pytest.fixture(scope="session")
def ffmpeg() -> str:
    return ffmpeg_path()


def keys(persons: list[dict]) -> list[tuple[int, int]]:
    return [(p["Timestamp"], p["Person"]["Index"]) for p in persons]


def page_all(rek, job_id: str, sort_by: str = "TIMESTAMP", size: int = 1000) -> list[dict]:
    """Every row stored so far (a running stream's job: up to the first page not full)."""
    persons, token = [], None
    while True:
        page = rek.get_person_tracking(
            JobId=job_id, SortBy=sort_by, MaxResults=size, **({"NextToken": token} if token else {})
        )
        persons += page["Persons"]
        token = page.get("NextToken")
        if token is None or len(page["Persons"]) < size:
            return persons


def test_a_stream_job_is_paged_while_it_plays_and_ends_succeeded(ffmpeg, sample_video, tmp_path):
    url = f"udp://127.0.0.1:{free_port()}"
    server = StreamServer(ffmpeg, sample_video, url)
    rek = pt.client(data_dir=tmp_path / "jobs", bucket_root=tmp_path)
    chunks: list[pd.DataFrame] = []
    live = None
    try:
        server.start()
        live = pt.track_stream(url, store=rek, job_tag="door-1", on_chunk=chunks.append)
        assert live.job_id is not None
        # Page with small pages while it plays: each token picks up after the last row.
        seen: list[dict] = []
        token, sizes, durations = None, [], []
        end = time.monotonic() + 60
        while time.monotonic() < end and len(seen) < 12:
            page = rek.get_person_tracking(
                JobId=live.job_id, MaxResults=5, **({"NextToken": token} if token else {})
            )
            assert page["JobStatus"] == "IN_PROGRESS" and page["JobTag"] == "door-1"
            assert page["Video"] == {"Stream": {"Url": url}}
            assert "NextToken" in page  # always, while it runs: the rows to come
            token = page["NextToken"]
            seen += page["Persons"]
            sizes.append(len(seen))
            if "VideoMetadata" in page:
                durations.append(page["VideoMetadata"]["DurationMillis"])
            assert live.running, live.stats()
            time.sleep(0.3)
        assert len(seen) >= 12, live.stats()
        assert sizes[0] < sizes[-1]  # rows grew while it played
        meta = page["VideoMetadata"]
        assert (meta["FrameWidth"], meta["FrameHeight"], meta["Codec"]) == (640, 360, "h264")
        assert meta["FrameRate"] > 0 and durations[-1] > durations[0] >= 0
        # SortBy=INDEX waits for the stream to stop: it would reshuffle as rows come.
        by_index = rek.get_person_tracking(JobId=live.job_id, SortBy="INDEX")
        assert by_index["JobStatus"] == "IN_PROGRESS" and by_index["Persons"] == []
        assert "NextToken" not in by_index
        assert rek.describe_job(live.job_id)["Name"] == url
        live.stop()
        assert not live.running
    finally:
        if live is not None:
            live.stop()
        server.stop()
    # The token issued while it ran gives the rest: every row once, in TIMESTAMP order.
    rest = page_all_from(rek, live.job_id, token)
    done = rek.get_person_tracking(JobId=live.job_id, MaxResults=1)
    assert done["JobStatus"] == "SUCCEEDED" and "StatusMessage" not in done
    everything = page_all(rek, live.job_id)
    assert keys(seen + rest) == keys(everything)
    stamps = [p["Timestamp"] for p in everything]
    assert stamps == sorted(stamps) and len(set(keys(everything))) == len(everything)
    # Nothing lost: the store holds exactly the rows the chunks carried.
    rows = pd.concat(chunks)
    assert sorted(keys(everything)) == sorted(zip(rows["Timestamp"], rows["Index"], strict=True))
    assert sorted(keys(page_all(rek, live.job_id, "INDEX"))) == sorted(keys(everything))
    frame = rek.get_dataframe(live.job_id)
    assert len(frame) == len(everything) == rek.describe_job(live.job_id)["ResultCount"]
    assert done["VideoMetadata"]["DurationMillis"] >= durations[-1]
    rek.close()


def page_all_from(rek, job_id: str, token: str) -> list[dict]:
    persons = []
    while token:
        page = rek.get_person_tracking(JobId=job_id, MaxResults=5, NextToken=token)
        persons += page["Persons"]
        token = page.get("NextToken")
    return persons


def test_a_stream_that_never_answers_fails_and_keeps_no_password(tmp_path):
    port = free_port(kind=1)  # a closed TCP port
    rek = pt.client(data_dir=tmp_path / "jobs", bucket_root=tmp_path)
    url = f"http://cam:s3cret@127.0.0.1:{port}/live"
    live = pt.track_stream(url, store=rek, max_attempts=2, backoff_s=0.1, open_timeout_s=1.0)
    with pytest.raises(pt.InvalidParameterException, match="chunks go to the job store"):
        next(iter(live))
    with pytest.raises(pt.InvalidS3ObjectException, match="no frame from"):
        live.wait(30)
    page = rek.get_person_tracking(JobId=live.job_id)
    assert page["JobStatus"] == "FAILED" and page["Persons"] == []
    assert page["StatusMessage"].startswith("InvalidS3ObjectException: no frame from")
    job = rek.describe_job(live.job_id)
    text = json.dumps(job) + json.dumps(page)
    assert "s3cret" not in text and f"http://cam:***@127.0.0.1:{port}/live" in text
    rek.close()


def test_a_stream_gone_for_good_ends_succeeded_with_the_reason(ffmpeg, sample_video, tmp_path):
    url = f"udp://127.0.0.1:{free_port()}"
    server = StreamServer(ffmpeg, sample_video, url)
    rek = pt.client(data_dir=tmp_path / "jobs", bucket_root=tmp_path)
    live = None
    try:
        server.start()
        live = pt.track_stream(url, store=rek, max_attempts=2, backoff_s=0.2, open_timeout_s=1.0)
        end = time.monotonic() + 60
        while time.monotonic() < end and live.stats()["frames_analysed"] < 3:
            assert live.running
            time.sleep(0.2)
        server.stop()  # the source goes away; the reader tries twice more, then gives up
        assert live.wait(30)
    finally:
        if live is not None:
            live.stop()
        server.stop()
    page = rek.get_person_tracking(JobId=live.job_id)
    assert page["JobStatus"] == "SUCCEEDED", page.get("StatusMessage")
    assert page["StatusMessage"].startswith("the stream ended: ") and url in page["StatusMessage"]
    assert page["VideoMetadata"]["DurationMillis"] > 0
    rek.close()


def run_cli(*args: str) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "persontrack.cli", *args]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def job_id_of(proc: subprocess.Popen[str], timeout: float = 60) -> str:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, "no JobId printed"
    line = proc.stdout.readline()  # printed as soon as the job is registered
    assert line, reap(proc)
    return str(json.loads(line)["JobId"])


def test_cli_stream_job_until_ctrl_c(ffmpeg, sample_video, tmp_path):
    url = f"udp://127.0.0.1:{free_port()}"
    data = tmp_path / "jobs"
    server = StreamServer(ffmpeg, sample_video, url)
    proc = None
    try:
        server.start()
        proc = run_cli("track", url, "--data-dir", str(data), "--tag", "cli", "--no-faces")
        job_id = job_id_of(proc)
        rek = pt.client(data_dir=data, bucket_root=tmp_path)
        end = time.monotonic() + 60
        while time.monotonic() < end and len(page_all(rek, job_id)) < 4:
            assert proc.poll() is None, reap(proc)
            time.sleep(0.5)
        got = subprocess.run(
            [sys.executable, "-m", "persontrack.cli", "get", job_id, "--all", "--data-dir",
             str(data), "--max-results", "2"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert got.returncode == 0, got.stderr
        running = json.loads(got.stdout)
        assert running["JobStatus"] == "IN_PROGRESS" and running["JobTag"] == "cli"
        assert len(running["Persons"]) >= 4 and running["NextToken"]
        t = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
        assert time.monotonic() - t < 15
    finally:
        if proc is not None and proc.poll() is None:
            reap(proc)
        server.stop()
    assert proc.returncode == 0, err[-2000:]
    assert "stopped" in err and job_id in err and "Traceback" not in err
    done = rek.get_person_tracking(JobId=job_id, NextToken=running["NextToken"])
    assert done["JobStatus"] == "SUCCEEDED" and "NextToken" not in done
    everything = page_all(rek, job_id)
    assert keys(running["Persons"] + done["Persons"]) == keys(everything)
    assert all("Face" not in p["Person"] for p in everything)  # --no-faces
    rek.close()


def test_a_stream_without_a_frame_stopped_with_ctrl_c_fails(tmp_path):
    url = f"udp://127.0.0.1:{free_port()}"  # nobody sends to it
    data = tmp_path / "jobs"
    proc = run_cli("track", url, "--data-dir", str(data), "--no-faces")
    try:
        job_id = job_id_of(proc)
        time.sleep(1.0)  # the reader waits for a first frame
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode != 0 and "no frame from" in err, err[-2000:]
    rek = pt.client(data_dir=data, bucket_root=tmp_path)
    page = rek.get_person_tracking(JobId=job_id)
    assert page["JobStatus"] == "FAILED" and page["Persons"] == [], page
    assert page["StatusMessage"].startswith(f"InvalidS3ObjectException: no frame from {url}")
    assert "stopped before the first frame" in page["StatusMessage"]
    rek.close()


def test_a_killed_stream_process_leaves_a_failed_job(ffmpeg, sample_video, tmp_path):
    url = f"udp://127.0.0.1:{free_port()}"
    data = tmp_path / "jobs"
    server = StreamServer(ffmpeg, sample_video, url)
    proc = None
    try:
        server.start()
        proc = run_cli("track", url, "--data-dir", str(data), "--no-faces", "--no-landmarks")
        job_id = job_id_of(proc)
        rek = pt.client(data_dir=data, bucket_root=tmp_path)
        assert rek.get_person_tracking(JobId=job_id)["JobStatus"] == "IN_PROGRESS"
        os.kill(proc.pid, signal.SIGKILL)  # no chance to stop: a crash
        proc.communicate(timeout=20)
    finally:
        if proc is not None and proc.poll() is None:
            reap(proc)
        server.stop()
    page = rek.get_person_tracking(JobId=job_id)
    assert page["JobStatus"] == "FAILED", page
    assert f"the process {proc.pid} tracking the stream ended" in page["StatusMessage"]
    rek.close()
