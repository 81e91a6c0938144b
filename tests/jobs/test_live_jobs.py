"""A live stream's job in the store, without a stream server: data/sample.mp4 read as a
source, rows appended by hand, a tracking process that dies or stops beating.

(The same on real UDP/HTTP streams, and the CLI form, are in tests/stream/test_stream_jobs.py.)
"""

from __future__ import annotations

import subprocess
import sys
import time
from types import SimpleNamespace

import pandas as pd
import pytest

import persontrack as pt
from persontrack.cli import main
from persontrack.jobs.live import StreamJob

SETTINGS = {"max_frames": 16, "faces": False, "landmarks": False}


def keys(persons: list[dict]) -> list[tuple[int, int]]:
    return [(p["Timestamp"], p["Person"]["Index"]) for p in persons]


@pytest.fixture(scope="module")
def finished(tmp_path_factory, sample_video):
    """A stream job run to its end on the sample video, and the chunks it delivered."""
    root = tmp_path_factory.mktemp("live")
    rek = pt.client(data_dir=root / "jobs", bucket_root=root)
    chunks: list[pd.DataFrame] = []
    live = pt.track_stream(
        str(sample_video), SETTINGS, reconnect=False, store=rek, on_chunk=chunks.append
    )
    assert live.wait(120)
    yield rek, live, chunks
    rek.close()


def test_the_job_of_a_finished_stream_holds_every_row_in_order(finished, sample_video):
    rek, live, chunks = finished
    page = rek.get_person_tracking(JobId=live.job_id)
    assert page["JobStatus"] == "SUCCEEDED" and "NextToken" not in page
    assert page["Video"] == {"Stream": {"Url": str(sample_video)}}
    # A source that ends by itself: SUCCEEDED, and the StatusMessage says why it ended.
    assert page.get("StatusMessage", "").startswith("the stream ended") or (
        live.stats()["frames_analysed"] == SETTINGS["max_frames"]
    )
    meta = page["VideoMetadata"]
    assert (meta["FrameWidth"], meta["FrameHeight"], meta["Codec"]) == (640, 360, "h264")
    assert meta["FrameRate"] == pytest.approx(12.0) and meta["ColorRange"] == "LIMITED"
    assert 0 < meta["DurationMillis"] <= 5000
    rows = pd.concat(chunks)
    # a file is read as fast as it decodes: only a few of its frames are analysed
    assert len(rows) >= 1
    # every row the chunks carried, once, in TIMESTAMP order
    assert sorted(keys(page["Persons"])) == sorted(
        zip(rows["Timestamp"], rows["Index"], strict=True)
    )
    stamps = [p["Timestamp"] for p in page["Persons"]]
    assert stamps == sorted(stamps)
    by_index = rek.get_person_tracking(JobId=live.job_id, SortBy="INDEX")["Persons"]
    assert [p["Person"]["Index"] for p in by_index] == sorted(
        p["Person"]["Index"] for p in by_index
    )
    job = rek.describe_job(live.job_id)
    assert job["ResultCount"] == len(rows) and job["Settings"]["max_frames"] == 16
    assert job["Name"] == str(sample_video) and job["Bucket"] is None
    listed = rek.list_jobs()
    assert listed.loc[listed["JobId"] == live.job_id, "JobStatus"].item() == "SUCCEEDED"
    frame = rek.get_dataframe(live.job_id)
    pd.testing.assert_series_equal(
        frame["Left"].reset_index(drop=True),
        rows.sort_values(["Timestamp", "Index"])["Left"].reset_index(drop=True),
        check_names=False,
    )


def stats() -> SimpleNamespace:
    return SimpleNamespace(codec="h264", format="mpegts", frame_rate=15.0, color_range="LIMITED")


@pytest.fixture(scope="module")
def tracked(sample_video) -> pd.DataFrame:
    """Real rows to append by hand: the sample video tracked (boxes only), TIMESTAMP order."""
    frame = pt.track_video(sample_video, {**SETTINGS, "max_frames": None, "target_fps": 6}).frame
    return pt.sort_results(frame, "TIMESTAMP").reset_index(drop=True)


def test_rows_wait_until_no_earlier_row_can_come_and_tokens_never_skip(tracked, tmp_path):
    source = tracked
    assert source["Timestamp"].nunique() >= 4
    cut1, cut2 = sorted(source["Timestamp"].unique())[1:3]
    other = pt.client(data_dir=tmp_path / "jobs", bucket_root=tmp_path)
    job = StreamJob(other, "udp://127.0.0.1:9", {"max_frames": None}, job_tag="hand")
    try:
        job.started(stats(), 640, 360)
        first = other.get_person_tracking(JobId=job.job_id)
        assert first["JobStatus"] == "IN_PROGRESS" and first["Persons"] == []
        assert first["VideoMetadata"]["Format"] == "mpegts" and first["JobTag"] == "hand"
        token = first["NextToken"]
        # A chunk of every row, shuffled; only rows before cut1 are settled yet.
        job.append(source.sample(frac=1, random_state=1), cut1, 1000)
        page = other.get_person_tracking(JobId=job.job_id, NextToken=token)
        assert {p["Timestamp"] for p in page["Persons"]} == set(
            source.loc[source["Timestamp"] < cut1, "Timestamp"]
        )
        assert page["VideoMetadata"]["DurationMillis"] == 1000
        # nothing new: the same place, no rows
        again = other.get_person_tracking(JobId=job.job_id, NextToken=page["NextToken"])
        assert again["Persons"] == [] and again["JobStatus"] == "IN_PROGRESS"
        job.append(pd.DataFrame(), cut2, 2000)  # a chunk with no rows moves the line on
        more = other.get_person_tracking(JobId=job.job_id, NextToken=again["NextToken"])
        assert {p["Timestamp"] for p in more["Persons"]} == set(
            source.loc[source["Timestamp"].between(cut1, cut2 - 1), "Timestamp"]
        )
        assert job.finish(None)
    finally:
        assert not job.finish(None)  # a second finish changes nothing
    rest = other.get_person_tracking(JobId=job.job_id, NextToken=more["NextToken"])
    assert rest["JobStatus"] == "SUCCEEDED" and "NextToken" not in rest
    assert rest["VideoMetadata"]["DurationMillis"] == 2000
    paged = page["Persons"] + more["Persons"] + rest["Persons"]
    whole = other.get_person_tracking(JobId=job.job_id)["Persons"]
    assert (
        keys(paged) == keys(whole) == list(zip(source["Timestamp"], source["Index"], strict=True))
    )
    other.close()


def test_a_dead_or_silent_tracking_process_fails_its_job(tmp_path):
    rek = pt.client(data_dir=tmp_path / "jobs", bucket_root=tmp_path, heartbeat_timeout=1.0)
    # a process that has exited
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                          capture_output=True, text=True)  # fmt: skip
    pid = int(gone.stdout)
    job_id = "d" * 64
    rek.store.create_stream_job(
        job_id=job_id,
        request={"Video": {"Stream": {"Url": "udp://x:1"}}},
        source={"kind": "stream", "url": "udp://x:1"},
        config={"settings": None},
        worker_id="stream-dead",
        pid=pid,
        max_jobs=20,
        heartbeat_timeout=1.0,
    )
    page = rek.get_person_tracking(JobId=job_id)
    assert page["JobStatus"] == "FAILED"
    assert (
        f"the process {pid} tracking the stream ended without stopping it"
        in (page["StatusMessage"])
    )
    # this process, alive, but its heartbeat stops
    silent = StreamJob(rek, "udp://127.0.0.1:9", {}, heartbeat_s=3600)
    assert rek.get_person_tracking(JobId=silent.job_id)["JobStatus"] == "IN_PROGRESS"
    time.sleep(1.5)
    page = rek.get_person_tracking(JobId=silent.job_id)
    assert page["JobStatus"] == "FAILED" and "stopped responding" in page["StatusMessage"]
    assert not silent.finish(None)  # it no longer owns the job
    rek.close()


def test_what_a_stream_job_refuses(tmp_path, sample_video):
    rek = pt.client(data_dir=tmp_path / "jobs", bucket_root=tmp_path, max_jobs=1)
    with pytest.raises(pt.InvalidParameterException, match="JobTag"):
        StreamJob(rek, "udp://127.0.0.1:9", {}, job_tag="no spaces!")
    with pytest.raises(pt.InvalidParameterException, match="store"):
        pt.track_stream("udp://127.0.0.1:9", job_tag="t")
    first = StreamJob(rek, "udp://127.0.0.1:9", {})
    with pytest.raises(pt.LimitExceededException, match="limit is 1"):
        pt.track_stream("udp://127.0.0.1:9", store=rek)
    assert first.finish(None)
    assert rek.describe_job(first.job_id)["JobStatus"] == "SUCCEEDED"
    assert rek.describe_job(first.job_id)["ResultCount"] == 0
    with pytest.raises(SystemExit, match="persontrack start"):
        main(["track", str(sample_video), "--data-dir", str(tmp_path / "jobs")])
    with pytest.raises(SystemExit, match="--data-dir"):
        main(["track", "udp://127.0.0.1:9", "--tag", "t"])
    rek.close()


def test_the_last_rows_are_appended_when_it_ends(tmp_path):
    rek = pt.client(data_dir=tmp_path / "jobs", bucket_root=tmp_path)
    job = StreamJob(rek, "udp://127.0.0.1:9", {})
    job.started(stats(), 640, 360)
    chunk = pd.DataFrame({"Timestamp": [40, 80], "FrameNumber": [1, 2], "Index": [0, 0],
                          "Left": [0.1, 0.1], "Top": [0.1, 0.1], "Width": [0.2, 0.2],
                          "Height": [0.5, 0.5], "Confidence": [90.0, 91.0]})  # fmt: skip
    job.append(chunk, 60, 80)  # the row at 80 ms is held back
    assert len(rek.get_person_tracking(JobId=job.job_id)["Persons"]) == 1
    assert job.finish(None)
    done = rek.get_person_tracking(JobId=job.job_id)
    assert [p["Timestamp"] for p in done["Persons"]] == [40, 80]
    rek.close()


def test_a_script_that_exits_without_stopping_ends_its_job(tmp_path):
    data = tmp_path / "jobs"
    script = (
        "import persontrack as pt\n"
        f"live = pt.track_stream('udp://127.0.0.1:9', store={str(data)!r})\n"
        "print(live.job_id)\n"  # and exit: the stream never sent a frame
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    rek = pt.client(data_dir=data, bucket_root=tmp_path)
    job = rek.describe_job(done.stdout.strip())
    # ended, not left IN_PROGRESS; without a single frame it is no result (issue #25 case 7)
    assert job["JobStatus"] == "FAILED", job
    assert job["StatusMessage"].startswith("InvalidS3ObjectException: no frame from"), job
    rek.close()


def test_boto3_pages_a_running_stream_through_persontrack_serve(tracked, tmp_path):
    from serve_support import start_server

    server = start_server(tmp_path / "jobs", tmp_path)
    try:
        job = StreamJob(str(tmp_path / "jobs"), "rtsp://cam:pw@127.0.0.1:9/door", {})
        job.started(stats(), 640, 360)
        half = tracked["Timestamp"].median()
        job.append(tracked, half, 2500)
        rek = server.boto3()
        page = rek.get_person_tracking(JobId=job.job_id, MaxResults=1000)
        assert page["JobStatus"] == "IN_PROGRESS" and page["NextToken"]
        assert [p["Timestamp"] for p in page["Persons"]] == sorted(
            tracked.loc[tracked["Timestamp"] < half, "Timestamp"]
        )
        assert page["VideoMetadata"]["FrameWidth"] == 640
        assert job.finish(None)
        rest = rek.get_person_tracking(JobId=job.job_id, NextToken=page["NextToken"])
        assert rest["JobStatus"] == "SUCCEEDED" and "NextToken" not in rest
        assert len(page["Persons"]) + len(rest["Persons"]) == len(tracked)
    finally:
        returncode, err = server.stop()
    assert returncode == 0, err
