"""Results files: csv / parquet / json round trips, MOT rows from results."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

import persontrack as pt


@pytest.fixture
def results() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    df = pd.DataFrame(
        {
            "Timestamp": [0, 0, 80],
            "FrameNumber": [0, 0, 2],
            "Index": [0, 1, 0],
            "Left": [0.1, 0.5, 0.15],
            "Top": [0.2, 0.2, 0.2],
            "Width": [0.1, 0.2, 0.1],
            "Height": [0.5, 0.6, 0.5],
            "Confidence": [91.0, 55.5, 90.0],
            "FaceLeft": [0.12, np.nan, 0.17],
            "FaceTop": [0.21, np.nan, 0.21],
            "FaceWidth": [0.05, np.nan, 0.05],
            "FaceHeight": [0.07, np.nan, 0.07],
            "FaceConfidence": [99.0, np.nan, 98.0],
            "FaceLandmarks": [[{"Type": "nose", "X": 0.14, "Y": 0.25}], None, []],
            "FaceExtra": [{"AgeRange": {"Low": 1, "High": 9}}, None, None],
            "BodyLandmarks": [rng.random((33, 4)).round(6).tolist(), None, None],
        }
    )
    return pt.validate_frame(df, fill_missing=True)


@pytest.mark.parametrize("fmt", ["csv", "parquet", "json"])
def test_results_file_round_trip(results, tmp_path, fmt):
    path = tmp_path / f"out.{fmt}"
    pt.write_results(
        results, path, video_metadata={"FrameWidth": 640, "FrameHeight": 360}, extensions=True
    ) if fmt == "json" else pt.write_results(results, path)
    back = pt.read_results(path)
    pd.testing.assert_frame_equal(back, results)


def test_mot_rows_are_pixels_and_one_based(results):
    mot = pt.results_to_mot(results, {"FrameWidth": 1000, "FrameHeight": 500})
    assert mot["frame"].tolist() == [1, 1, 3]
    assert mot["id"].tolist() == [1, 2, 1]
    assert mot.loc[1, ["x", "y", "w", "h"]].tolist() == pytest.approx([500, 100, 200, 300])
    buf = io.StringIO()
    pt.write_results(
        results, buf, format="mot", video_metadata={"FrameWidth": 1000, "FrameHeight": 500}
    )
    lines = buf.getvalue().strip().splitlines()
    assert len(lines) == 3 and lines[0].split(",")[-3:] == ["-1", "-1", "-1"]
    with pytest.raises(pt.InvalidParameterException, match="FrameWidth"):
        pt.results_to_mot(results, {})


def test_bad_files(tmp_path, results):
    with pytest.raises(pt.InvalidParameterException, match="no results file"):
        pt.read_results(tmp_path / "missing.json")
    (tmp_path / "x.json").write_text("{not json")
    with pytest.raises(pt.InvalidParameterException, match="not JSON"):
        pt.read_results(tmp_path / "x.json")
    pd.DataFrame({"a": [1]}).to_csv(tmp_path / "x.csv", index=False)
    with pytest.raises(pt.InvalidParameterException, match="not a persontrack"):
        pt.read_results(tmp_path / "x.csv")
    with pytest.raises(pt.InvalidParameterException, match="format"):
        pt.write_results(results, tmp_path / "x.xml", format="xml")


@pytest.mark.parametrize("fmt", ["json", "csv", "parquet", "mot"])
def test_chunked_writer_writes_what_write_results_writes(tmp_path, fmt):
    import io as _io

    from jobs_fakes import fake_frame

    from persontrack.io.files import ResultsWriter, read_results, write_results
    from persontrack.schema import compact_landmarks

    meta = {"Codec": "h264", "DurationMillis": 5000, "Format": "mp4", "FrameRate": 25.0,
            "FrameHeight": 480, "FrameWidth": 640, "ColorRange": "LIMITED"}  # fmt: skip
    frame = compact_landmarks(fake_frame(230))
    whole, chunked = tmp_path / f"whole.{fmt}", tmp_path / f"chunked.{fmt}"
    write_results(frame, whole, video_metadata=meta)
    with ResultsWriter(chunked, video_metadata=meta) as out:
        for start in range(0, 230, 100):
            out.write(frame.iloc[start : start + 100])
    if fmt == "mot":
        assert chunked.read_text() == whole.read_text()
        return
    a, b = read_results(whole), read_results(chunked)
    pd.testing.assert_frame_equal(a, b)
    assert len(b) == 230
    assert (b["BodyLandmarks"].notna().sum() > 0) == (fmt != "json")  # JSON: no extensions
    if fmt == "json":
        assert json.loads(chunked.read_text())["VideoMetadata"] == meta
    empty = _io.StringIO()
    ResultsWriter(empty, format="csv").close()
    assert read_results(_io.StringIO(empty.getvalue()), format="csv").empty
