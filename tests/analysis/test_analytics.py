"""Path analytics on constructed tracks whose answers are known by construction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import persontrack as pt
from persontrack.analysis.analytics import (
    crossing_counts,
    entries_exits,
    line_crossings,
    path_points,
    people_present,
    points_in_polygon,
    trajectory_summary,
    zone_dwell,
)

BOX_W, BOX_H = 0.1, 0.4


def track(index: int, stamps, feet) -> pd.DataFrame:
    """Rows whose feet point (bottom centre of the box) is at ``feet`` (frame units)."""
    feet = np.asarray(feet, dtype=float)
    return pd.DataFrame(
        {
            "Timestamp": list(stamps),
            "Index": index,
            "Left": feet[:, 0] - BOX_W / 2,
            "Top": feet[:, 1] - BOX_H,
            "Width": BOX_W,
            "Height": BOX_H,
        }
    )


def frame(*tracks: pd.DataFrame) -> pd.DataFrame:
    return pt.validate_frame(pd.concat(tracks, ignore_index=True), fill_missing=True)


@pytest.fixture
def walk() -> pd.DataFrame:
    """Index 0 walks right along y=0.8 at 0.1/s for 5 s (every 500 ms);
    Index 1 stands at (0.8, 0.9) from 1 s to 2 s, leaves, and is back at 4 s for 1 s."""
    t0 = np.arange(0, 5001, 500)
    a = track(0, t0, np.c_[0.1 + t0 / 1000 * 0.1, np.full(len(t0), 0.8)])
    b1 = track(1, [1000, 1500, 2000], [(0.8, 0.9)] * 3)
    b2 = track(1, [4000, 4500, 5000], [(0.8, 0.9)] * 3)
    return frame(a, b1, b2)


def test_path_points_feet_and_center_and_pixels(walk):
    feet = path_points(walk)
    assert feet.loc[0, ["X", "Y"]].tolist() == pytest.approx([0.1, 0.8])
    center = path_points(walk, "center")
    assert center.loc[0, "Y"] == pytest.approx(0.8 - BOX_H / 2)
    px = path_points(walk, frame_size=(640, 360))
    assert px.loc[0, ["X", "Y"]].tolist() == pytest.approx([64.0, 288.0])
    with pytest.raises(pt.InvalidParameterException):
        path_points(walk, "head")


def test_trajectory_summary_known_answers(walk):
    s = trajectory_summary(walk).set_index("Index")
    a, b = s.loc[0], s.loc[1]
    assert (a["FirstSeenMs"], a["LastSeenMs"], a["DurationMs"]) == (0, 5000, 5000)
    assert a["PresentMs"] == 5000 and a["Segments"] == 1 and a["Detections"] == 11
    assert a["Distance"] == pytest.approx(0.5)
    assert a["MeanSpeed"] == pytest.approx(0.1)
    assert (a["StartX"], a["EndX"]) == pytest.approx((0.1, 0.6))
    # B: two 1 s visits separated by a 2 s gap (> max_gap_ms): present 2 s, not 4 s
    assert (b["DurationMs"], b["PresentMs"], b["Segments"]) == (4000, 2000, 2)
    assert b["Distance"] == pytest.approx(0.0) and b["MeanSpeed"] == pytest.approx(0.0)
    # with a gap limit above 2 s the visits join
    joined = trajectory_summary(walk, max_gap_ms=2500).set_index("Index").loc[1]
    assert (joined["PresentMs"], joined["Segments"]) == (4000, 1)


def test_trajectory_summary_pixels_and_faces():
    df = track(3, [0, 1000], [(0.0, 0.5), (0.3, 0.9)])
    df["FaceLeft"] = [0.1, np.nan]
    df = frame(df)
    s = trajectory_summary(df, frame_size=(100, 100)).iloc[0]
    assert s["Distance"] == pytest.approx(50.0)  # 30-40-50 triangle in pixels
    assert s["MeanSpeed"] == pytest.approx(50.0)
    assert s["FacesSeen"] == 1


def test_single_detection_has_no_speed():
    s = trajectory_summary(frame(track(0, [100], [(0.5, 0.5)]))).iloc[0]
    assert s["PresentMs"] == 0 and np.isnan(s["MeanSpeed"])


def test_points_in_polygon_edges_and_concave():
    square = [(0, 0), (1, 0), (1, 1), (0, 1)]
    got = points_in_polygon([(0.5, 0.5), (0, 0.5), (1, 0.5), (1.5, 0.5), (np.nan, 0)], square)
    assert got.tolist() == [True, True, False, False, False]
    # an L shape: the notch (0.75, 0.25) is outside
    ell = [(0, 0), (0.5, 0), (0.5, 0.5), (1, 0.5), (1, 1), (0, 1)]
    assert points_in_polygon([(0.75, 0.25), (0.75, 0.75), (0.25, 0.25)], ell).tolist() == [
        False,
        True,
        True,
    ]


def test_zone_dwell_known_answers(walk):
    zones = {
        "left": [(0, 0), (0.35, 0), (0.35, 1), (0, 1)],  # A's feet x=0.1..0.3 -> t=0..2000
        "corner": [(0.7, 0.85), (0.9, 0.85), (0.9, 1), (0.7, 1)],  # B only
    }
    d = zone_dwell(walk, zones).set_index(["Index", "Zone"])
    # A inside at t=0..2000 (5 detections); each stands for 500 ms until the next
    assert d.loc[(0, "left"), "DwellMs"] == 2500
    assert d.loc[(0, "left"), "Entries"] == 1
    assert d.loc[(0, "left"), "FirstEnterMs"] == 0 and d.loc[(0, "left"), "LastExitMs"] == 2500
    assert d.loc[(0, "corner"), "DwellMs"] == 0 and np.isnan(d.loc[(0, "corner"), "FirstEnterMs"])
    # B: two visits of 1 s each
    assert d.loc[(1, "corner"), "DwellMs"] == 2000 and d.loc[(1, "corner"), "Entries"] == 2
    assert d.loc[(1, "left"), "Entries"] == 0


def test_entries_exits_zones_and_frame(walk):
    zones = {"corner": [(0.7, 0.85), (0.9, 0.85), (0.9, 1), (0.7, 1)]}
    ev = entries_exits(walk, zones)
    assert ev[["Index", "Event", "Timestamp"]].values.tolist() == [
        [1, "enter", 1000],
        [1, "exit", 2000],
        [1, "enter", 4000],
        [1, "exit", 5000],
    ]
    frame_ev = entries_exits(walk)
    assert set(frame_ev["Zone"]) == {"frame"}
    a = frame_ev[frame_ev["Index"] == 0]
    assert a[["Event", "Timestamp"]].values.tolist() == [["enter", 0], ["exit", 5000]]
    assert (frame_ev["Event"] == "enter").sum() == 3  # A once, B twice


def test_dwell_equals_sum_of_event_spans(walk):
    zones = {"mid": [(0.18, 0.5), (0.43, 0.5), (0.43, 1), (0.18, 1)]}  # t=1000..3000
    ev = entries_exits(walk, zones)
    spans = (
        ev[ev["Event"] == "exit"]["Timestamp"].to_numpy()
        - ev[ev["Event"] == "enter"]["Timestamp"].to_numpy()
    ).sum()
    assert zone_dwell(walk, zones)["DwellMs"].sum() == spans == 2500


def test_line_crossings_direction_time_and_place():
    # out to the right across x=0.5, then back: crossing times by interpolation
    df = frame(track(0, [0, 1000, 2000], [(0.3, 0.6), (0.7, 0.6), (0.4, 0.6)]))
    down = {"door": [(0.5, 0.0), (0.5, 1.0)]}  # drawn top to bottom: +1 is moving left
    ev = line_crossings(df, down)
    assert ev["Direction"].tolist() == [-1, 1]
    assert ev["Timestamp"].tolist() == pytest.approx([500.0, 1666.6667], abs=1e-3)
    assert ev[["X", "Y"]].to_numpy().ravel() == pytest.approx([0.5, 0.6, 0.5, 0.6])
    # the same line drawn bottom to top flips the directions
    up = {"door": [(0.5, 1.0), (0.5, 0.0)]}
    assert line_crossings(df, up)["Direction"].tolist() == [1, -1]


def test_line_crossing_needs_the_segment_and_no_gap():
    df = frame(track(0, [0, 1000], [(0.3, 0.6), (0.7, 0.6)]))
    short = {"short": [(0.5, 0.0), (0.5, 0.5)]}  # the path passes below its end
    assert len(line_crossings(df, short)) == 0
    gap = frame(track(0, [0, 5000], [(0.3, 0.6), (0.7, 0.6)]))
    assert len(line_crossings(gap, {"l": [(0.5, 0), (0.5, 1)]})) == 0


def test_horizontal_line_counts_down_as_forward():
    a = track(0, [0, 100], [(0.5, 0.2), (0.5, 0.8)])  # moves down
    b = track(1, [0, 100], [(0.6, 0.9), (0.6, 0.1)])  # moves up
    c = track(2, [0, 100, 200], [(0.4, 0.2), (0.4, 0.8), (0.4, 0.2)])  # down and up again
    counts = crossing_counts(frame(a, b, c), {"h": [(0.0, 0.5), (1.0, 0.5)]})
    assert counts.to_dict("records") == [
        {"Line": "h", "Forward": 2, "Backward": 2, "Total": 4, "People": 3}
    ]


def test_people_present_with_zones(walk):
    zones = {"corner": [(0.7, 0.85), (0.9, 0.85), (0.9, 1), (0.7, 1)]}
    p = people_present(walk, bin_ms=1000, zones=zones)
    assert p["Timestamp"].tolist() == [0, 1000, 2000, 3000, 4000, 5000]
    assert p["People"].tolist() == [1, 2, 2, 1, 2, 2]
    assert p["corner"].tolist() == [0, 1, 1, 0, 1, 1]


def test_inputs_not_mutated_and_bad_input_raises(walk):
    before = walk.copy()
    zone_dwell(walk, {"z": [(0, 0), (1, 0), (1, 1)]})
    line_crossings(walk, {"l": [(0, 0), (1, 1)]})
    pd.testing.assert_frame_equal(walk, before)
    with pytest.raises(pt.InvalidParameterException, match="zone 'z'"):
        zone_dwell(walk, {"z": [(0, 0), (1, 1)]})
    with pytest.raises(pt.InvalidParameterException, match="line 'l'"):
        line_crossings(walk, {"l": [(0.5, 0.5), (0.5, 0.5)]})
    with pytest.raises(pt.InvalidParameterException):
        zone_dwell(walk, {})
    with pytest.raises(pt.InvalidParameterException, match="max_gap_ms"):
        trajectory_summary(walk, max_gap_ms=0)
    with pytest.raises(pt.InvalidParameterException, match="bin_ms"):
        people_present(walk, bin_ms=0)
    with pytest.raises(pt.InvalidParameterException, match="frame_size"):
        trajectory_summary(walk, frame_size=(0, 10))


def test_empty_results():
    empty = pt.empty_frame()
    assert len(trajectory_summary(empty)) == 0
    assert len(zone_dwell(empty, {"z": [(0, 0), (1, 0), (1, 1)]})) == 0
    assert len(line_crossings(empty, {"l": [(0, 0), (1, 1)]})) == 0
    assert len(entries_exits(empty)) == 0
    assert len(people_present(empty)) == 0
