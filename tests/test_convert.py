"""DataFrame <-> GetPersonTracking response: round trips, sorting, shape validation."""

from __future__ import annotations

import copy
import json

import numpy as np
import pandas as pd
import pytest
from botocore.exceptions import ClientError

import persontrack as pt
from persontrack._shapes import enum_values

LANDMARK_TYPES = enum_values("LandmarkType")


def _face(k: int, extra: bool) -> dict:
    face = {
        "BoundingBox": {"Width": 0.1, "Height": 0.2, "Left": 0.3 + k / 100, "Top": 0.1},
        "Confidence": 99.5 - k,
        "Landmarks": [
            {"Type": t, "X": 0.3 + i / 1000, "Y": 0.15 + i / 2000}
            for i, t in enumerate(LANDMARK_TYPES)
        ],
        "Pose": {"Roll": -3.25, "Yaw": 12.5 + k, "Pitch": 1.0},
        "Quality": {"Brightness": 55.5, "Sharpness": 80.125},
    }
    if extra:
        face["AgeRange"] = {"Low": 25, "High": 35}
        face["Emotions"] = [{"Type": "CALM", "Confidence": 90.5}]
        face["Smile"] = {"Value": False, "Confidence": 97.0}
    return face


@pytest.fixture
def golden() -> dict:
    """A response with every field Rekognition emits, extra FaceDetail fields included."""
    persons = []
    for t in (0, 41, 83):
        for index in (0, 1, 2):
            person = {
                "Index": index,
                "BoundingBox": {"Width": 0.2, "Height": 0.6, "Left": 0.1 * index, "Top": 0.3},
            }
            if index != 2:
                person["Face"] = _face(index + t // 41, extra=index == 1)
            persons.append({"Timestamp": t, "Person": person})
    return {
        "JobStatus": "SUCCEEDED",
        "VideoMetadata": {
            "Codec": "h264",
            "DurationMillis": 1000,
            "Format": "QuickTime / MOV",
            "FrameRate": 23.976,
            "FrameHeight": 1080,
            "FrameWidth": 1920,
            "ColorRange": "LIMITED",
            "FileExtension": "mp4",
        },
        "Persons": persons,
        "JobId": "abc-123",
        "JobTag": "store-7",
    }


def test_golden_json_round_trip_is_lossless(golden):
    df = pt.response_to_dataframe(golden)
    assert len(df) == 9
    assert df["FaceConfidence"].notna().sum() == 6
    assert df.loc[df["Index"] == 1, "FaceExtra"].iloc[0]["AgeRange"] == {"Low": 25, "High": 35}
    back = pt.dataframe_to_response(df)
    assert back == golden
    # through JSON text too
    assert json.loads(json.dumps(pt.dataframe_to_response(df))) == golden


def test_golden_validates_but_strict_rejects_unknown_fields(golden):
    pt.validate_response(golden)
    with pytest.raises(pt.InvalidParameterException, match="FileExtension"):
        pt.validate_response(golden, strict=True)
    del golden["VideoMetadata"]["FileExtension"]
    pt.validate_response(golden, strict=True)


def test_validate_response_reports_wrong_types(golden):
    bad = copy.deepcopy(golden)
    bad["Persons"][0]["Timestamp"] = "zero"
    bad["Persons"][1]["Person"]["Face"]["Landmarks"][0]["Type"] = "thirdEye"
    bad["JobStatus"] = "DONE"
    with pytest.raises(ClientError) as info:
        pt.validate_response(bad)
    msg = info.value.response["Error"]["Message"]
    assert "Persons[0].Timestamp" in msg and "thirdEye" in msg and "DONE" in msg


def test_dataframe_round_trip_with_extensions_keeps_everything():
    rng = np.random.default_rng(0)
    n = 6
    df = pd.DataFrame(
        {
            "Timestamp": [0, 0, 100, 100, 200, 300],
            "FrameNumber": [0, 0, 3, 3, 6, 9],
            "Index": [0, 1, 0, 1, 1, 0],
            "Left": rng.random(n),
            "Top": rng.random(n),
            "Width": rng.random(n) / 3,
            "Height": rng.random(n) / 2,
            "Confidence": rng.random(n) * 100,
            "BodyLandmarks": [rng.random((33, 4)).round(6).tolist() for _ in range(n)],
        }
    )
    df = pt.validate_frame(df, fill_missing=True)
    resp = pt.dataframe_to_response(df, {"FrameWidth": 640}, extensions=True)
    pt.validate_response(resp)
    pt.validate_response(pt.strip_extensions(resp), strict=True)
    back = pt.response_to_dataframe(json.loads(json.dumps(resp)))
    pd.testing.assert_frame_equal(back, df)
    # without extensions only Rekognition's fields survive
    plain = pt.response_to_dataframe(pt.dataframe_to_response(df))
    assert plain["FrameNumber"].isna().all() and plain["BodyLandmarks"].isna().all()
    pd.testing.assert_frame_equal(
        plain[["Timestamp", "Index", "Left"]], df[["Timestamp", "Index", "Left"]]
    )


def test_sort_by_index_orders_each_person_by_confidence():
    df = pt.validate_frame(
        pd.DataFrame(
            {
                "Timestamp": [0, 100, 200, 0, 100],
                "Index": [1, 1, 1, 0, 0],
                "Confidence": [50.0, 90.0, 70.0, 10.0, 20.0],
            }
        ),
        fill_missing=True,
    )
    by_index = pt.sort_results(df, "INDEX")
    assert by_index[["Index", "Timestamp"]].values.tolist() == [
        [0, 100],
        [0, 0],
        [1, 100],
        [1, 200],
        [1, 0],
    ]
    by_time = pt.sort_results(df, "TIMESTAMP")
    assert by_time[["Timestamp", "Index"]].values.tolist() == [
        [0, 0],
        [0, 1],
        [100, 0],
        [100, 1],
        [200, 1],
    ]
    with pytest.raises(pt.InvalidParameterException):
        pt.sort_results(df, "CONFIDENCE")


def test_pages_split_and_rejoin(golden):
    df = pt.response_to_dataframe(golden)
    pages = list(pt.iter_response_pages(df, max_results=4, sort_by="INDEX"))
    assert [len(p["Persons"]) for p in pages] == [4, 4, 1]
    assert all("NextToken" in p for p in pages[:-1]) and "NextToken" not in pages[-1]
    assert all(p["VideoMetadata"] == golden["VideoMetadata"] for p in pages)
    for p in pages:
        pt.validate_response(p)
    rejoined = pt.response_to_dataframe(pages)
    assert pt.dataframe_to_response(rejoined, sort_by="TIMESTAMP") == golden
    with pytest.raises(pt.InvalidParameterException):
        list(pt.iter_response_pages(df, max_results=0))
    assert len(list(pt.iter_response_pages(df, max_results=5000))[0]["Persons"]) == 9


def test_status_other_than_succeeded_has_no_persons(golden):
    df = pt.response_to_dataframe(golden)
    resp = pt.dataframe_to_response(df, job_status="IN_PROGRESS")
    assert resp["Persons"] == [] and resp["JobStatus"] == "IN_PROGRESS"
    with pytest.raises(pt.InvalidParameterException):
        pt.dataframe_to_response(df, job_status="DONE")


@pytest.mark.parametrize(
    "bad",
    [
        "not a response",
        [{"Persons": "nope"}],
        {"Persons": [{"Timestamp": 0}]},
        {"Persons": [{"Timestamp": "x", "Person": {"Index": 0}}]},
        [1, 2],
        42,
    ],
)
def test_bad_responses_raise_invalid_parameter(bad):
    with pytest.raises(pt.InvalidParameterException):
        pt.response_to_dataframe(bad)


def test_schema_rejects_bad_frames():
    with pytest.raises(pt.InvalidParameterException, match="DataFrame"):
        pt.validate_frame([{"Timestamp": 0}])
    with pytest.raises(pt.InvalidParameterException, match="required"):
        pt.validate_frame(pd.DataFrame({"Index": [0]}))
    with pytest.raises(pt.InvalidParameterException, match="outside the schema"):
        pt.validate_frame(pd.DataFrame({"Timestamp": [0], "Index": [0], "Colour": ["red"]}))
    with pytest.raises(pt.InvalidParameterException, match="twice"):
        pt.validate_frame(pd.DataFrame({"Timestamp": [0, 0], "Index": [4, 4]}), fill_missing=True)
    with pytest.raises(pt.InvalidParameterException, match=">= 0"):
        pt.validate_frame(pd.DataFrame({"Timestamp": [-1], "Index": [0]}), fill_missing=True)
    with pytest.raises(pt.InvalidParameterException, match="cannot be read"):
        pt.validate_frame(pd.DataFrame({"Timestamp": ["soon"], "Index": [0]}), fill_missing=True)
    with pytest.raises(pt.InvalidParameterException, match="schema"):
        pt.validate_frame(pd.DataFrame({"Timestamp": [0], "Index": [0]}))
    original = pd.DataFrame({"Timestamp": [5], "Index": [0]})
    pt.validate_frame(original, fill_missing=True)
    assert list(original.columns) == ["Timestamp", "Index"]


@pytest.mark.shared_data
def test_real_rekognition_output_round_trips(shared_data):
    path = shared_data / "rekognition" / "get_person_tracking_docs_example.json"
    real = json.loads(path.read_text())
    df = pt.response_to_dataframe(real)
    assert df["Index"].tolist() == [0, 1]
    assert all(len(v) == 5 for v in df["FaceLandmarks"])
    pt.validate_response(real)
    assert pt.dataframe_to_response(df, next_token=real["NextToken"]) == real
