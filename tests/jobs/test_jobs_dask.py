"""Jobs on a real Dask cluster: a scheduler and two workers as separate processes on
127.0.0.1; one long job in segments, stitched; a worker killed mid-job."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pandas as pd
import pytest
from jobs_support import VIDEO, Clients, make_buckets

SEGMENTED = f"{Path(__file__).parents[1].joinpath('jobs_fakes.py')}:fake_track_segments"


@pytest.fixture(scope="module")
def own_cluster(tmp_path_factory):
    """This module's own cluster: its workers get killed."""
    from dask_support import DaskProcesses

    cluster = DaskProcesses(tmp_path_factory.mktemp("dask-kill"), workers=2)
    yield cluster
    cluster.stop()


@pytest.fixture
def on_cluster(tmp_path, sample_video, own_cluster):
    made = Clients(
        tmp_path / "data", make_buckets(tmp_path / "buckets", sample_video), tmp_path / "gate"
    )

    def make(**options):
        options.setdefault("tracker", SEGMENTED)
        options.setdefault("scheduler_address", own_cluster.address)
        return made(**options)

    yield make
    made.shutdown()


def run(c, timeout=120):
    job_id = c.start_person_tracking(Video=VIDEO)["JobId"]
    described = c.wait(job_id, timeout=timeout)
    assert described["JobStatus"] == "SUCCEEDED", described["StatusMessage"]
    return job_id


def test_segments_give_the_rows_of_one_whole_run(on_cluster):
    # 2500 rows of 7 people over 14 s; the 5-s sample video in 1-s segments (5 tasks)
    settings = {"rows": 2500}
    whole = on_cluster(settings=settings, segment_seconds=600)
    split = on_cluster(settings=settings, segment_seconds=1, overlap_seconds=0.4)
    a, b = run(whole), run(split)
    fa, fb = whole.get_dataframe(a), split.get_dataframe(b)
    assert len(fa) == 2500
    pd.testing.assert_frame_equal(fa, fb)
    pages = [
        [(p["Timestamp"], p["Person"]["Index"]) for p in c.get_person_tracking(
            JobId=j, SortBy="INDEX", MaxResults=1000)["Persons"]]
        for c, j in ((whole, a), (split, b))
    ]  # fmt: skip
    assert pages[0] == pages[1]
    chunks = list(split.iter_dataframes(b, chunk_rows=1000))
    assert [len(x) for x in chunks] == [1000, 1000, 500]
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), fb)


def test_progress_counts_finished_segments(on_cluster):
    c = on_cluster(settings={"rows": 400, "sleep": 1.0}, segment_seconds=1, overlap_seconds=0.4)
    job_id = c.start_person_tracking(Video=VIDEO)["JobId"]
    seen = set()
    deadline = time.monotonic() + 120
    while c.describe_job(job_id)["JobStatus"] == "IN_PROGRESS" and time.monotonic() < deadline:
        seen.add(round(c.get_progress(job_id), 2))
        time.sleep(0.05)
    assert c.describe_job(job_id)["JobStatus"] == "SUCCEEDED"
    assert len([p for p in seen if 0 < p < 1]) >= 3  # it moved in steps, not 0 then 1


def test_killed_dask_worker_job_still_succeeds_with_the_same_rows(on_cluster, own_cluster):
    settings = {"rows": 1000, "sleep": 1.5, "seed": 3}
    calm = on_cluster(settings=settings, segment_seconds=1, overlap_seconds=0.4)
    expected = calm.get_dataframe(run(calm))
    c = on_cluster(settings=settings, segment_seconds=1, overlap_seconds=0.4, max_jobs=5)
    job_id = c.start_person_tracking(Video=VIDEO, ClientRequestToken="kill-one")["JobId"]
    deadline = time.monotonic() + 60
    while c.get_progress(job_id) <= 0.05 and time.monotonic() < deadline:
        time.sleep(0.05)  # segments are running on both workers
    victim = own_cluster.workers.pop(0)
    own_cluster.kill(victim)
    described = c.wait(job_id, timeout=180)
    assert described["JobStatus"] == "SUCCEEDED", described["StatusMessage"]
    pd.testing.assert_frame_equal(c.get_dataframe(job_id), expected)
    own_cluster.workers.append(own_cluster.add_worker(9))  # for any later test
    own_cluster.wait_for_workers(2)


def test_unreachable_scheduler_fails_the_job_with_a_message(on_cluster):
    c = on_cluster(scheduler_address="tcp://127.0.0.1:9")
    job_id = c.start_person_tracking(Video=VIDEO)["JobId"]
    described = c.wait(job_id, timeout=120)
    assert described["JobStatus"] == "FAILED"
    assert "Dask cluster" in described["StatusMessage"]


def test_track_in_segments_outside_the_jobs_api(own_cluster, sample_video):
    from jobs_fakes import fake_frame

    from persontrack.segments import iter_segments, track_in_segments

    # the fake's default: 50 rows of 7 people over 0-280 ms; spans of 100 ms
    options = {"scheduler_address": own_cluster.address, "tracker": SEGMENTED}
    result = track_in_segments(sample_video, None, **options, segment_seconds=0.1,
                               overlap_seconds=0.05)  # fmt: skip
    assert result.metadata.DurationMillis == 5000
    cols = ["Timestamp", "Left", "Top", "BodyLandmarks"]
    got = result.frame.sort_values(["Timestamp", "Left"], ignore_index=True)
    want = fake_frame(50).sort_values(["Timestamp", "Left"], ignore_index=True)
    pd.testing.assert_frame_equal(got[["Timestamp", "Left", "Top"]], want[cols[:3]])
    # one Index per person across the 50 spans, numbered by first sighting
    pairs = set(zip(got["Index"], want["Index"], strict=True))
    assert len(pairs) == 7 and {a for a, _ in pairs} == set(range(7))
    parts = iter_segments(sample_video, None, **options, segment_seconds=2, overlap_seconds=0.5)
    chunks = [rows for rows, _ in parts]
    assert len(chunks) == 3 and sum(len(c) for c in chunks) == 50


def test_segment_tasks_keep_to_one_thread_per_worker_thread(own_cluster, sample_video):
    from distributed import Client

    from persontrack.segments import Segment, run_segment

    report = f"{Path(__file__).parents[1].joinpath('threads_fakes.py')}:report_threads"
    with Client(own_cluster.address, timeout="30s") as client:
        seg = Segment(0, 0, 0, None)
        got = client.submit(run_segment, report, str(sample_video), None, seg, pure=False)
        assert got.result(timeout=120).metadata == {
            "budget": 1,
            "cv2": 1,
            "detector": 1,
            "reid": 1,
        }


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity here")
def test_local_cluster_workers_can_be_pinned_to_one_core_each(monkeypatch):
    from persontrack.segments import dask_client

    monkeypatch.delenv("PERSONTRACK_DASK_SCHEDULER", raising=False)
    cores = sorted(os.sched_getaffinity(0))
    with dask_client(2, pin_cores=True) as client:
        client.wait_for_workers(2, timeout=60)
        pinned = client.run(lambda: sorted(os.sched_getaffinity(0)))
    # worker k on core k (modulo the cores this process may use)
    want = [[c] for c in cores[:2]] if len(cores) >= 2 else [cores, cores]
    assert sorted(pinned.values()) == sorted(want)


def test_results_dask_reads_a_real_jobs_rows_in_partitions(on_cluster, own_cluster):
    import dask.dataframe as dd
    from distributed import Client

    from persontrack.errors import InvalidParameterException, ResourceNotFoundException

    c = on_cluster(settings={"rows": 2500}, segment_seconds=1, overlap_seconds=0.4)
    job_id = run(c)
    whole = c.get_dataframe(job_id)
    ddf = c.results_dask(job_id, chunk_rows=1000)
    assert isinstance(ddf, dd.DataFrame) and ddf.npartitions == 3
    assert list(ddf.columns) == list(whole.columns)
    with Client(own_cluster.address, timeout="30s"):  # partitions read by the workers
        got = ddf.compute()
        per_person = ddf.groupby("Index")["Timestamp"].count().compute().sort_index()
    pd.testing.assert_frame_equal(got, whole, check_like=False)
    pd.testing.assert_series_equal(
        per_person, whole.groupby("Index")["Timestamp"].count(), check_names=False
    )
    for bad in (0, -5, True, 2.5):
        with pytest.raises(InvalidParameterException, match="chunk_rows"):
            c.results_dask(job_id, chunk_rows=bad)
    c.delete_job(job_id)
    with pytest.raises(ResourceNotFoundException, match="gone"):
        ddf.compute(scheduler="sync")
    with pytest.raises(ResourceNotFoundException):
        c.results_dask(job_id)
