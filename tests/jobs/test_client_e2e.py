"""End to end with the real pipeline: a boto3-style job on data/sample.mp4."""

from __future__ import annotations

import pandas as pd
import pytest
from jobs_support import VIDEO

from persontrack.convert import response_to_dataframe, validate_response
from persontrack.jobs.client import DEFAULT_TRACKER
from persontrack.pipeline import track_video

SETTINGS = {"every_n_frames": 6}  # 10 of the sample's 60 frames keeps the test short


def test_real_job_matches_track_video(clients, sample_video):
    c = clients(tracker=DEFAULT_TRACKER, settings=SETTINGS)
    job_id = c.start_person_tracking(Video=VIDEO, JobTag="e2e")["JobId"]
    direct = track_video(sample_video, SETTINGS)  # meanwhile, in this process
    described = c.wait(job_id, timeout=300)
    assert described["JobStatus"] == "SUCCEEDED", described["StatusMessage"]
    assert described["Settings"]["every_n_frames"] == 6
    assert described["Versions"]["openvino"] == "2026.4.1"

    pages, token = [], None
    while True:
        kw = {"NextToken": token} if token else {}
        page = c.get_person_tracking(JobId=job_id, MaxResults=7, SortBy="INDEX", **kw)
        validate_response(page, strict=False)
        assert page["VideoMetadata"] == direct.metadata.to_dict()
        pages.append(page)
        token = page.get("NextToken")
        if not token:
            break
    assert sum(len(p["Persons"]) for p in pages) == len(direct.frame) > 0

    stored = c.get_dataframe(job_id)
    expected = direct.frame.sort_values(["Timestamp", "Index"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(stored, expected, check_exact=False, rtol=1e-9)
    from_pages = response_to_dataframe(pages).sort_values(["Timestamp", "Index"])
    assert from_pages["Left"].to_numpy() == pytest.approx(expected["Left"].to_numpy())
