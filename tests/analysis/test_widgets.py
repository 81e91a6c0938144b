"""Widget callbacks and widget classes, driven from Python (no browser).

The launcher and pager run a real job on data/sample.mp4 (every 6th frame, to be quick)
through the local-bucket client.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import io
import json
import os
import shutil

import numpy as np
import pandas as pd
import pytest

import persontrack as pt
from persontrack.analysis.widgets import (
    UPLOAD_BUCKET,
    JobLauncher,
    PagerState,
    PathExplorer,
    ResultPager,
    explorer_figure,
    explorer_tables,
    job_status_html,
    list_videos,
    page_json,
    page_table,
    parse_shapes,
    tracking_settings,
    video_object,
)
from persontrack.jobs.client import client as make_client

PNG = b"\x89PNG"


# -- plain functions ------------------------------------------------------------------------


def test_list_videos_and_video_object(tmp_path, sample_video):
    root = tmp_path / "buckets"
    (root / "shop" / "cam").mkdir(parents=True)
    shutil.copy(sample_video, root / "shop" / "cam" / "door.mp4")
    (root / "shop" / "notes.txt").write_text("not a video")
    assert list_videos(root) == [{"Bucket": "shop", "Name": "cam/door.mp4"}]
    assert list_videos(tmp_path / "missing") == []
    chosen = {"Bucket": "shop", "Name": "cam/door.mp4"}
    assert video_object(root, chosen) == chosen
    # a path inside the buckets names its bucket; one outside is uploaded
    assert video_object(root, None, root / "shop" / "cam" / "door.mp4") == chosen
    assert video_object(root, chosen, str(sample_video)) == {
        "Bucket": UPLOAD_BUCKET,
        "Name": "sample.mp4",
    }
    assert (root / UPLOAD_BUCKET / "sample.mp4").read_bytes() == sample_video.read_bytes()
    with pytest.raises(pt.InvalidParameterException, match="not a file"):
        video_object(root, None, tmp_path / "nope.mp4")
    with pytest.raises(pt.InvalidParameterException, match="choose a video"):
        video_object(root, None, "  ")


def test_upload_of_another_file_with_the_same_name_and_size_is_copied(tmp_path):
    root = tmp_path / "buckets"
    root.mkdir()
    first, second = tmp_path / "day1" / "cam.mp4", tmp_path / "day2" / "cam.mp4"
    for path, content in ((first, b"a" * 64), (second, b"b" * 64)):
        path.parent.mkdir()
        path.write_bytes(content)
    os.utime(second, ns=(10**18, 10**18))  # another time too, as two recordings have
    assert video_object(root, None, first) == video_object(root, None, second)
    assert (root / UPLOAD_BUCKET / "cam.mp4").read_bytes() == b"b" * 64


def test_tracking_settings():
    assert tracking_settings() == {
        "every_n_frames": None,
        "detector_preset": "balanced",
        "faces": True,
    }
    assert tracking_settings(every_n_frames=3, faces=False)["every_n_frames"] == 3
    with pytest.raises(pt.InvalidParameterException):
        tracking_settings(every_n_frames=0)
    with pytest.raises(pt.InvalidParameterException):
        tracking_settings(detector_preset="fastest")
    # what the launcher builds is accepted by the pipeline's settings
    from persontrack.pipeline import TrackingSettings

    assert TrackingSettings.from_dict(tracking_settings(every_n_frames=2)).every_n_frames == 2


def test_job_status_html():
    assert "No job" in job_status_html(None)
    text = job_status_html({"JobStatus": "IN_PROGRESS", "Progress": 0.426, "StatusMessage": None})
    assert "IN_PROGRESS" in text and "43%" in text
    assert "&lt;b&gt;" in job_status_html({"JobStatus": "FAILED", "StatusMessage": "<b>"})


def test_pager_state_walks_tokens():
    s = PagerState("j", 5, "INDEX")
    assert s.request() == {"JobId": "j", "MaxResults": 5, "SortBy": "INDEX"}
    assert not s.has_previous and not s.has_next
    s = s.shown({"NextToken": "a"})
    assert s.has_next
    s = s.forward().shown({"NextToken": "b"})
    s = s.forward().shown({})
    assert s.page == 3 and s.request()["NextToken"] == "b" and not s.has_next
    with pytest.raises(pt.InvalidParameterException):
        s.forward()
    back = s.back()
    assert back.page == 2 and back.request()["NextToken"] == "a"
    with pytest.raises(pt.InvalidParameterException):
        PagerState("j").back()


def test_page_table_and_json():
    page = {
        "JobStatus": "SUCCEEDED",
        "ResponseMetadata": {"RequestId": "x"},
        "Persons": [
            {
                "Timestamp": t,
                "Person": {
                    "Index": 0,
                    "BoundingBox": {"Left": 0.1, "Top": 0.2, "Width": 0.3, "Height": 0.4},
                },
                "PersonTrack": {"FrameNumber": t // 40},
            }
            for t in range(0, 200, 40)
        ],
    }
    table = page_table(page)
    assert table["Timestamp"].tolist() == [0, 40, 80, 120, 160]
    assert not table["Face"].any()
    assert "Confidence" not in table.columns  # plain Rekognition pages have none
    doc = json.loads(page_json(page, max_persons=2))
    assert "ResponseMetadata" not in doc and len(doc["Persons"]) == 3
    assert doc["Persons"][2] == "... 3 more" and "PersonTrack" not in doc["Persons"][0]


def test_parse_shapes():
    text = "# shop floor\nleft: 0,0 0.5,0 0.5,1 0,1\n\nright: 0.5,0; 1,0; 1,1\n"
    zones = parse_shapes(text)
    assert list(zones) == ["left", "right"] and zones["right"][1] == (1.0, 0.0)
    assert parse_shapes("door: 0.5,0 0.5,1", kind="line") == {"door": [(0.5, 0.0), (0.5, 1.0)]}
    assert parse_shapes("") == {}
    with pytest.raises(pt.InvalidParameterException, match="line 2"):
        parse_shapes("a: 0,0 1,0 1,1\nb: 0,0 1,x 1,1")
    with pytest.raises(pt.InvalidParameterException, match="at least 3"):
        parse_shapes("a: 0,0 1,0")
    with pytest.raises(pt.InvalidParameterException, match="exactly 2"):
        parse_shapes("a: 0,0 1,0 1,1", kind="line")
    with pytest.raises(pt.InvalidParameterException, match="name: x,y"):
        parse_shapes("0,0 1,0 1,1")


@pytest.fixture
def walk() -> pd.DataFrame:
    """Index 0 crosses x=0.5 left to right in 2 s; Index 1 waits at the left for 1 s."""
    t = np.arange(0, 2001, 100)
    a = pd.DataFrame({"Timestamp": t, "Index": 0, "Left": 0.1 + 0.4 * t / 1000})
    b = pd.DataFrame({"Timestamp": t[:11], "Index": 1, "Left": 0.05})
    df = pd.concat([a, b], ignore_index=True).assign(Top=0.2, Width=0.1, Height=0.6)
    return pt.validate_frame(df, fill_missing=True)


def test_explorer_tables_and_figure(walk):
    zones = {"left": [(0, 0), (0.4, 0), (0.4, 1), (0, 1)]}
    lines = {"mid": [(0.5, 0), (0.5, 1)]}
    tables = explorer_tables(walk, zones=zones, lines=lines)
    assert tables["Lines"][["Forward", "Backward"]].values.tolist() == [[0, 1]]
    dwell = tables["Zones"].set_index("Index")["DwellMs"]
    # Index 0: centre x = 0.15 + 0.4 t is < 0.4 at t = 0..600 ms, outside from 700 ms
    assert dwell.to_dict() == {0: 700, 1: 1000}
    only_1 = explorer_tables(walk, indices=[1], time_range_ms=(0, 500))
    assert only_1["People"][["Index", "Detections"]].values.tolist() == [[1, 6]]
    fig = explorer_figure(walk, zones=zones, lines=lines)
    assert len(fig.axes) >= 3


def test_path_explorer_redraws_and_reports_bad_shapes(walk):
    ex = PathExplorer(walk, lines="mid: 0.5,0 0.5,1")
    assert bytes(ex.plot.value).startswith(PNG) and "Lines" in ex.tables.value
    first = ex.plot.value
    ex.indices.value = (1,)
    ex.zones.value = "left: 0,0 0.4,0 0.4,1 0,1"
    assert ex.redraw()
    assert ex.plot.value != first and "Zones" in ex.tables.value
    assert ex.selection()["indices"] == [1]
    ex.zones.value = "broken: 0,0"
    assert not ex.redraw()
    assert "InvalidParameterException" in ex.message.value and "at least 3" in ex.message.value


# -- launcher and pager on a real job -------------------------------------------------------


@pytest.fixture(scope="module")
def local(tmp_path_factory, sample_video):
    root = tmp_path_factory.mktemp("buckets")
    (root / "videos").mkdir()
    shutil.copy(sample_video, root / "videos" / "sample.mp4")
    rek = make_client(data_dir=tmp_path_factory.mktemp("jobs"), bucket_root=root)
    yield rek
    rek.close()


@pytest.fixture(scope="module")
def finished(local):
    launcher = JobLauncher(local, poll_seconds=0.2)
    assert launcher.video.value == {"Bucket": "videos", "Name": "sample.mp4"}
    launcher.every_n.value = 6
    launcher.job_tag.value = "widgets-test"
    seen = []
    launcher.on_done = seen.append
    job_id = launcher.start()
    assert job_id is not None and job_id in launcher.job_label.value
    launcher.wait(timeout=300)
    return launcher, job_id, seen


def test_launcher_runs_a_job_to_success(finished, local):
    launcher, job_id, seen = finished
    assert "SUCCEEDED" in launcher.status.value, launcher.status.value
    assert launcher.progress.value == 1.0 and launcher.progress.bar_style == "success"
    assert [d["JobStatus"] for d in seen] == ["SUCCEEDED"]
    # the runner's LocalCluster was shown while it ran the job (no bokeh here: no dashboard)
    assert "Dask" in launcher.cluster.value and "tcp://127.0.0.1:" in launcher.cluster.value
    desc = local.describe_job(job_id)
    assert desc["JobTag"] == "widgets-test"
    assert desc["Settings"]["every_n_frames"] == 6
    df = local.get_dataframe(job_id)
    assert f"{len(df)} entries" in launcher.result.value
    assert bytes(launcher.plot.value).startswith(PNG)


def test_a_new_job_id_never_shows_beside_the_last_jobs_result(finished):
    launcher, first_job, _ = finished
    shown = []  # what the launcher showed at the moment the new JobId appeared
    launcher.job_label.observe(
        lambda _: shown.append(
            (launcher.status.value, launcher.result.value, bytes(launcher.plot.value))
        ),
        "value",
    )
    job_id = launcher.start()
    launcher.wait(timeout=300)
    assert job_id is not None and job_id != first_job
    status, result, plot = shown[0]
    assert "SUCCEEDED" not in status and "IN_PROGRESS" in status, status
    assert result == "" and plot == b""
    # and the new job's own result once it is done
    assert "SUCCEEDED" in launcher.status.value and "entries" in launcher.result.value


def test_launcher_shows_refusals(local):
    launcher = JobLauncher(local)
    launcher.video.value = None
    assert launcher.start() is None
    assert "choose a video" in launcher.status.value
    launcher.path.value = "/no/such/video.mp4"
    assert launcher.start() is None and "not a file" in launcher.status.value


def test_pager_pages_like_get_person_tracking(finished, local):
    _, job_id, _ = finished
    total = len(local.get_dataframe(job_id))
    assert total > 4, "the sample should give several entries"
    pager = ResultPager(local, job_id, max_results=3)
    assert pager.response is not None
    direct = local.get_person_tracking(JobId=job_id, MaxResults=3)
    assert pager.response["Persons"] == direct["Persons"]
    assert "page 1" in pager.info.value and "entries 1–3" in pager.info.value
    assert pager.prev_button.disabled and not pager.next_button.disabled
    pages = [pager.response["Persons"]]
    while not pager.next_button.disabled:
        pages.append(pager.next()["Persons"])
    assert sum(len(p) for p in pages) == total
    assert "last page" in pager.info.value
    back = pager.previous()
    assert back["Persons"] == pages[-2] and f"page {len(pages) - 1}" in pager.info.value
    assert "<table" in pager.table.value and "&quot;JobStatus&quot;" in pager.json.value
    pager.sort_by.value = "INDEX"
    first = pager.first()
    assert (
        first["Persons"]
        == local.get_person_tracking(JobId=job_id, MaxResults=3, SortBy="INDEX")["Persons"]
    )


def test_pager_reports_unknown_job(local):
    pager = ResultPager(local, "0" * 64)
    assert pager.response is None
    assert "ResourceNotFoundException" in pager.info.value


def test_path_explorer_jumps_to_a_persons_first_frame(sample_video):
    from persontrack.analysis.annotate import rgb255
    from persontrack.analysis.plot import frame_at

    # Index 1 is first seen at 2 s (frame 24 of the 12 fps sample), in a box on the right.
    rows = {
        "Timestamp": [0, 1000, 2000, 2500],
        "Index": [0, 0, 1, 1],
        "FrameNumber": [0, 12, 24, 30],
    }
    df = pt.validate_frame(
        pd.DataFrame(rows).assign(Left=[0.1, 0.2, 0.6, 0.6], Top=0.2, Width=0.25, Height=0.6),
        fill_missing=True,
    )
    ex = PathExplorer(df, video=sample_video)
    assert ex.jump_to(1)
    assert "2.00 s" in ex.frame_label.value and "frame 24" in ex.frame_label.value
    from PIL import Image

    shown = np.asarray(Image.open(io.BytesIO(bytes(ex.frame_view.value))).convert("RGB"))
    original = frame_at(sample_video, 2000)
    assert shown.shape == original.shape
    left_edge = shown[144:216, round(0.6 * 640)].astype(int)  # middle of the box's left side
    assert np.abs(np.median(left_edge, axis=0) - rgb255(1)).max() < 10
    same = np.abs(shown.astype(int) - original).max(axis=2) == 0
    assert same.mean() > 0.9  # the frame at 2 s under the drawing
    assert not ex.jump_to(7) and "no person with Index 7" in ex.frame_label.value
    assert not PathExplorer(df).jump_to(1)  # without the video: a message, not an exception
