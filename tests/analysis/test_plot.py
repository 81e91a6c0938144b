"""Plots draw what they say: paths per person, timeline bars, heatmap peak, frame overlays."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection, PolyCollection
from matplotlib.patches import Polygon, Rectangle

import persontrack as pt
from persontrack.analysis.plot import (
    frame_at,
    index_color,
    plot_frame,
    plot_heatmap,
    plot_paths,
    plot_timeline,
)


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


@pytest.fixture
def results() -> pd.DataFrame:
    """Index 0 crosses left to right in 2 s; Index 4 stays at the right for 1 s, face seen
    only in its second half."""
    t = np.arange(0, 2001, 100)
    a = pd.DataFrame(
        {"Timestamp": t, "Index": 0, "Left": 0.05 + 0.4 * t / 1000, "Top": 0.3, "Width": 0.1}
    )
    t4 = np.arange(0, 1001, 100)
    b = pd.DataFrame({"Timestamp": t4, "Index": 4, "Left": 0.8, "Top": 0.2, "Width": 0.15})
    b["FaceLeft"] = np.where(t4 >= 500, 0.82, np.nan)
    b["FaceTop"], b["FaceWidth"], b["FaceHeight"] = 0.22, 0.05, 0.08
    df = pd.concat([a, b], ignore_index=True)
    df["Height"] = 0.5
    return pt.validate_frame(df, fill_missing=True)


def test_plot_paths_one_line_per_person_in_its_colour(results):
    ax = plot_paths(results)
    labelled = [ln for ln in ax.get_lines() if not ln.get_label().startswith("_")]
    assert [ln.get_label().split(" ·")[0] for ln in labelled] == ["Index 0", "Index 4"]
    assert labelled[0].get_color() == index_color(0)
    xs = labelled[0].get_xdata()
    assert xs[0] == pytest.approx(0.1) and xs[-1] == pytest.approx(0.9)
    assert len(ax.texts) >= 2  # end labels; arrows are annotations too
    sub = plot_paths(results, indices=[4], time_range_ms=(0, 500))
    labelled = [ln for ln in sub.get_lines() if not ln.get_label().startswith("_")]
    assert len(labelled) == 1 and len(labelled[0].get_xdata()) == 6


def test_plot_paths_breaks_at_gaps(results):
    # Index 4 unseen from 300 ms to 1000 ms: with a 500 ms limit, two solid pieces joined
    # by one dotted link; with the default 1 s limit, one path (and start and end marks)
    gappy = results[~((results["Index"] == 4) & results["Timestamp"].between(400, 900))]
    ax = plot_paths(gappy, indices=[4], max_gap_ms=500)
    assert [ln.get_gid() for ln in ax.get_lines() if ln.get_gid()] == ["gap"]
    assert len(ax.get_lines()) == 5
    assert len(plot_paths(gappy, indices=[4]).get_lines()) == 3
    assert not [ln for ln in plot_paths(results).get_lines() if ln.get_gid() == "gap"]


def test_plot_paths_over_image_uses_pixels_and_draws_zones(results):
    img = np.zeros((90, 160, 3), np.uint8)
    ax = plot_paths(
        results,
        image=img,
        zones={"z": [(0, 0), (0.5, 0), (0.5, 0.5)]},
        lines={"l": [(0.5, 0), (0.5, 1)]},
    )
    assert len(ax.images) == 1
    line = next(ln for ln in ax.get_lines() if ln.get_label().startswith("Index 0"))
    assert line.get_xdata()[-1] == pytest.approx(0.9 * 160)
    polys = [p for p in ax.patches if isinstance(p, Polygon)]
    assert polys and polys[0].get_xy()[1] == pytest.approx([80.0, 0.0])
    # feet at y = 0.8 * 90: inside the image, so the view is the image
    assert ax.get_xlim() == pytest.approx((-0.5, 159.5))


def test_plot_timeline_bars_follow_presence_and_faces(results):
    ax = plot_timeline(results)
    bars = [c for c in ax.collections if isinstance(c, PolyCollection)]
    # two people x (presence, face)
    assert len(bars) == 4
    presence_4, face_4 = bars[2], bars[3]
    px = presence_4.get_paths()[0].vertices[:, 0]
    x0, x1 = px.min(), px.max()
    assert (x0, x1) == pytest.approx((0.0, 1.0))
    fx = face_4.get_paths()[0].vertices[:, 0]
    assert (fx.min(), fx.max()) == pytest.approx((0.5, 1.0))
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Index 0", "Index 4"]


def test_plot_heatmap_peaks_where_people_stay(results):
    ax = plot_heatmap(results, sigma=0, bins=10)
    grid = np.asarray(ax.images[0].get_array())
    row, col = np.unravel_index(np.argmax(grid), grid.shape)
    # Index 4 stands still with feet at (0.875, 0.7): column 8 of 10
    assert col == 8 and grid.sum() == pytest.approx(3.0)  # 2 s + 1 s of presence
    with pytest.raises(pt.InvalidParameterException):
        plot_heatmap(results, bins=1)


def test_plot_frame_draws_boxes_landmarks_and_faces(results, grace_hopper):
    df = results.copy()
    body = np.full((33, 4), 0.5)
    body[:, 0] = np.linspace(0.1, 0.2, 33)
    body[:, 3] = 0.9
    body[0, 3] = 0.1  # not visible: not drawn
    df["BodyLandmarks"] = [body.tolist()] * len(df)
    df.loc[df["Index"] == 4, "FaceLandmarks"] = pd.Series(
        [[{"Type": "nose", "X": 0.85, "Y": 0.25}]] * 11,
        index=df.index[df["Index"] == 4],
        dtype=object,
    )
    ax = plot_frame(df, grace_hopper, timestamp_ms=590)
    assert "t = 0.60 s" in ax.get_title(loc="left")
    assert [p.get_gid() for p in ax.patches if isinstance(p, Rectangle)] == [
        "person-box",
        "person-box",
        "face-box",
    ]
    scatters = [c for c in ax.collections if isinstance(c, PathCollection)]
    # joints of two people (32 visible each) and one face's landmarks
    assert sorted(len(c.get_offsets()) for c in scatters) == [1, 32, 32]
    assert {t.get_text().strip().split(" ")[0] for t in ax.texts} == {"0", "4"}


def test_frame_at_reads_the_sample_video(sample_video):
    img = frame_at(sample_video, 2500)
    assert img.shape == (360, 640, 3) and img.dtype == np.uint8
    assert not np.array_equal(img, frame_at(sample_video, 0))
