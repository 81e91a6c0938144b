"""Offline track clean-up on constructed tracks with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from persontrack.errors import InvalidParameterException
from persontrack.tracking.postprocess import (
    INTERPOLATED_CONFIDENCE,
    interpolate_tracks,
    link_tracks,
    smooth_tracks,
)

COLUMNS = ["frame", "id", "x", "y", "w", "h", "conf"]


def walk(
    track_id: int, frames: range, x0: float, vx: float, y: float = 300.0, h: float = 200.0
) -> list[tuple]:
    """MOT rows of a person (width 0.4 * height) walking ``vx`` px a frame from ``x0``."""
    return [(f, track_id, x0 + vx * f, y, 0.4 * h, h, 0.9) for f in frames]


def table(*walks: list[tuple]) -> pd.DataFrame:
    rows = [r for w in walks for r in w]
    return pd.DataFrame(rows, columns=COLUMNS).sort_values(["frame", "id"], ignore_index=True)


# ----------------------------------------------------------------------------- interpolation


def test_gap_is_interpolated_exactly_for_linear_motion():
    # Walks 6 px a frame right and grows 1 px a frame (coming closer); missed on 11-25.
    rows = [(f, 3, 100.0 + 6 * f, 50.0 - f, 80.0 + 0.4 * f, 200.0 + f, 0.8) for f in range(1, 41)]
    full = pd.DataFrame(rows, columns=COLUMNS)
    gappy = full[(full["frame"] < 11) | (full["frame"] > 25)].reset_index(drop=True)
    before = gappy.copy()
    out = interpolate_tracks(gappy, frame_rate=30)
    pd.testing.assert_frame_equal(gappy, before)
    assert out["frame"].tolist() == list(range(1, 41))
    assert np.allclose(out[["x", "y", "w", "h"]], full[["x", "y", "w", "h"]])
    assert (out["id"] == 3).all() and out["id"].dtype == gappy["id"].dtype
    filled = out["frame"].between(11, 25)
    assert (out.loc[filled, "conf"] == INTERPOLATED_CONFIDENCE).all()
    assert (out.loc[~filled, "conf"] == 0.8).all()


def test_long_gaps_and_other_ids_are_not_filled():
    # Gap of 2 s at 30 fps: filled with the default 3 s, not with 1 s. Two people's
    # rows are never interpolated between each other.
    df = table(walk(1, range(1, 11), 100, 5), walk(1, range(71, 81), 100, 5))
    df = pd.concat([df, table(walk(2, range(30, 41), 900, -5))], ignore_index=True)
    assert len(interpolate_tracks(df, frame_rate=30)) == len(df) + 60
    assert len(interpolate_tracks(df, frame_rate=30, max_gap_ms=1000)) == len(df)
    assert len(interpolate_tracks(df, frame_rate=30, max_gap_ms=0)) == len(df)
    # The same frames at 60 fps are a 1 s gap (61 frames from the last box to the next).
    assert len(interpolate_tracks(df, frame_rate=60, max_gap_ms=1020)) == len(df) + 60
    assert len(interpolate_tracks(df, frame_rate=60, max_gap_ms=1000)) == len(df)


def test_interpolation_without_conf_and_of_empty_tables():
    df = table(walk(1, range(1, 3), 0, 3), walk(1, range(5, 6), 0, 3)).drop(columns="conf")
    out = interpolate_tracks(df, frame_rate=25)
    assert list(out.columns) == list(df.columns) and len(out) == 5
    assert len(interpolate_tracks(df.iloc[:0], frame_rate=25)) == 0


# ----------------------------------------------------------------------------- smoothing


def test_smoothing_keeps_steady_motion_and_removes_jitter():
    true = table(walk(1, range(1, 61), 100, 4))
    jitter = true.copy()
    jitter["x"] += np.where(jitter["frame"] % 2 == 0, 3.0, -3.0)  # +-3 px frame to frame
    before = jitter.copy()
    steady = smooth_tracks(true, frame_rate=30)
    out = smooth_tracks(jitter, frame_rate=30)
    pd.testing.assert_frame_equal(jitter, before)
    assert np.allclose(steady[["x", "y", "w", "h"]], true[["x", "y", "w", "h"]])
    error = (out["x"] - true["x"]).abs()
    assert np.allclose(error.iloc[[0, -1]], 3.0)  # a run's ends stay as they are
    assert error.iloc[1:-1].max() < 1.5
    assert (out["conf"] == 0.9).all() and list(out.columns) == list(jitter.columns)
    pd.testing.assert_frame_equal(smooth_tracks(jitter, 30, sigma_ms=0), jitter)


def test_smoothing_never_mixes_tracks_or_crosses_gaps():
    # One person jumps 500 px across a gap (two people under one id would): the boxes next
    # to the gap are not pulled towards each other, nor towards another id's boxes.
    df = table(
        walk(1, range(1, 11), 100, 0), walk(1, range(20, 31), 600, 0), walk(2, range(1, 31), 900, 0)
    )
    out = smooth_tracks(df, frame_rate=30, sigma_ms=100)
    assert np.allclose(out[["x", "y", "w", "h"]], df[["x", "y", "w", "h"]])
    assert len(smooth_tracks(df.iloc[:0], frame_rate=30)) == 0


# ----------------------------------------------------------------------------- linking


def test_two_fragments_of_one_straight_walk_are_linked():
    # One person walking right 4 px a frame, lost for 2 s (60 frames) behind something;
    # the tracker gave the second half a new id.
    df = table(walk(1, range(1, 41), 100, 4), walk(5, range(101, 141), 100, 4))
    before = df.copy()
    out = link_tracks(df, frame_rate=30)
    pd.testing.assert_frame_equal(df, before)
    assert set(out["id"]) == {1}
    assert len(out) == len(df)
    assert np.allclose(out.sort_values("frame")["x"], df.sort_values("frame")["x"])


def test_a_chain_of_fragments_becomes_one_id_and_strangers_stay_apart():
    # Three fragments of one walk, and someone standing still far away meanwhile.
    df = table(
        walk(2, range(1, 21), 100, 4),
        walk(4, range(41, 61), 100, 4),
        walk(9, range(81, 101), 100, 4),
        walk(3, range(30, 90), 1500, 0, y=700),
    )
    out = link_tracks(df, frame_rate=30)
    assert set(out.loc[out["x"] < 1000, "id"]) == {2}
    assert set(out.loc[out["x"] > 1000, "id"]) == {3}


def test_two_people_crossing_are_not_linked():
    # A walks right and B walks left; both are unseen for 1 s while they cross behind an
    # obstacle and reappear on the far side under new ids. When they were lost A was
    # nearer to where B reappears than to where it reappears itself, so linking by place
    # alone would swap them; the links must follow the walking directions.
    a1, a2 = walk(1, range(1, 31), 560, 8), walk(3, range(61, 91), 560, 8)
    b1, b2 = walk(2, range(1, 31), 1140, -8), walk(4, range(61, 91), 1140, -8)
    assert abs(a1[-1][2] - b2[0][2]) < abs(a1[-1][2] - a2[0][2])
    out = link_tracks(table(a1, b1, a2, b2), frame_rate=30)
    later = out[out["frame"] > 60]
    going_right = later.groupby("id")["x"].apply(lambda x: x.iloc[-1] > x.iloc[0])
    assert going_right.to_dict() == {1: True, 2: False}


def test_people_going_opposite_ways_are_not_linked():
    # A walks right and leaves at frame 30; 10 frames later B appears exactly where A
    # would be, but walking left, so B cannot be A: looking back from B points away.
    a = walk(1, range(1, 31), 300, 5)
    b = walk(2, range(40, 70), 300 + 5 * 40 + 5 * 40, -5)
    assert b[0][2] == a[-1][2] + 5 * 10  # where A's forward extrapolation lands
    out = link_tracks(table(a, b), frame_rate=30)
    assert set(out["id"]) == {1, 2}


def test_different_sizes_overlaps_and_long_gaps_are_not_linked():
    near = walk(1, range(1, 31), 300, 2, h=300)
    far = walk(2, range(40, 70), 300 + 2 * 10, 2, h=150)  # same path, half the height
    assert set(link_tracks(table(near, far), frame_rate=30)["id"]) == {1, 2}
    both = walk(2, range(25, 60), 300, 2)  # starts before track 1 ends: two people
    assert set(link_tracks(table(walk(1, range(1, 31), 300, 2), both), 30)["id"]) == {1, 2}
    late = table(walk(1, range(1, 31), 300, 0), walk(2, range(300, 330), 300, 0))  # 9 s
    assert set(link_tracks(late, frame_rate=30)["id"]) == {1, 2}
    assert set(link_tracks(late, frame_rate=30, max_gap_ms=10000)["id"]) == {1}


# ----------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"frame_rate": 0}, "frame_rate"),
        ({"frame_rate": "30"}, "frame_rate"),
        ({"frame_rate": 30, "max_gap_ms": -1}, "max_gap_ms"),
        ({"frame_rate": 30, "max_gap_ms": float("inf")}, "max_gap_ms"),
    ],
)
@pytest.mark.parametrize("func", [link_tracks, interpolate_tracks])
def test_bad_settings_are_rejected(func, kwargs, match):
    with pytest.raises(InvalidParameterException, match=match):
        func(table(walk(1, range(1, 5), 0, 1)), **kwargs)


@pytest.mark.parametrize("sigma", [-1.0, float("nan"), "40"])
def test_bad_smoothing_is_rejected(sigma):
    with pytest.raises(InvalidParameterException, match="sigma_ms"):
        smooth_tracks(table(walk(1, range(1, 5), 0, 1)), 30, sigma_ms=sigma)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_height_ratio": 0.9},
        {"position_tolerance": 0},
        {"velocity_tolerance": None},
        {"max_cost": -1},
        {"velocity_window_ms": True},
        {"max_appearance_distance": 0},
        {"max_speed": -1},
        {"blip_max_ms": -1},
        {"blip_min_iou": 0},
        {"reentry_max_gap_ms": -1},
        {"reentry_appearance_distance": None},
        {"appearance_weight": 1.5},
        {"embeddings": np.zeros((3, 4))},
        {"embeddings": np.zeros(4)},
    ],
)
def test_bad_link_settings_are_rejected(kwargs):
    with pytest.raises(InvalidParameterException):
        link_tracks(table(walk(1, range(1, 5), 0, 1)), 30, **kwargs)


@pytest.mark.parametrize("func", [link_tracks, interpolate_tracks, smooth_tracks])
def test_bad_tables_are_rejected(func):
    df = table(walk(1, range(1, 5), 0, 1))
    with pytest.raises(InvalidParameterException, match="DataFrame"):
        func(df.to_numpy(), 30)
    with pytest.raises(InvalidParameterException, match="lacks"):
        func(df.drop(columns="h"), 30)
    with pytest.raises(InvalidParameterException, match="one row per id and frame"):
        func(pd.concat([df, df.iloc[:1]]), 30)


# ----------------------------------------------------------------------------- appearance


def _unit(v: list[float]) -> np.ndarray:
    a = np.asarray(v, dtype=float)
    return a / np.linalg.norm(a)


LOOK = {1: _unit([1, 0.1, 0, 0]), 2: _unit([0.1, 1, 0, 0]), 3: _unit([0, 0.2, 1, 0])}


def embeddings_for(df: pd.DataFrame, looks: dict[int, np.ndarray]) -> np.ndarray:
    """One embedding per row: the look of the person each track id is (NaN if unknown)."""
    nan = np.full(4, np.nan)
    return np.stack([looks.get(i, nan) for i in df["id"]])


def test_a_person_who_leaves_and_comes_back_minutes_later_is_linked_by_appearance():
    # Person 1 walks out on the right at frame 40, comes back 2 minutes later walking the
    # other way elsewhere (id 7): motion cannot link this, appearance can.
    back = 40 + 30 * 120
    df = table(walk(1, range(1, 41), 100, 4), walk(7, range(back, back + 40), 900, -3, y=500))
    looks = {1: LOOK[1], 7: _unit([1, 0.12, 0.02, 0])}
    assert set(link_tracks(df, 30)["id"]) == {1, 7}
    out = link_tracks(df, 30, embeddings=embeddings_for(df, looks))
    assert set(out["id"]) == {1}
    # ... but not beyond reentry_max_gap_ms, and not without appearance.
    short = link_tracks(df, 30, embeddings=embeddings_for(df, looks), reentry_max_gap_ms=60000)
    assert set(short["id"]) == {1, 7}
    unknown = link_tracks(df, 30, embeddings=embeddings_for(df, {1: LOOK[1]}))
    assert set(unknown["id"]) == {1, 7}


def test_a_returning_person_is_linked_to_their_own_fragment_not_a_lookalike_stranger():
    # Two people leave (ids 1, 2); later two return (ids 5, 6): each to their own look.
    back = 1000
    df = table(
        walk(1, range(1, 41), 100, 4),
        walk(2, range(1, 41), 100, 4, y=700),
        walk(5, range(back, back + 40), 1200, -4, y=700),
        walk(6, range(back, back + 40), 1200, -4, y=300),
    )
    looks = {1: LOOK[1], 2: LOOK[2], 5: LOOK[1], 6: LOOK[2]}
    out = link_tracks(df, 30, embeddings=embeddings_for(df, looks))
    later = out[out["frame"] >= back]
    assert set(later["id"]) == {1, 2}
    # Person 1 came back on the lower path (y 700), person 2 on the upper one.
    assert set(later.loc[later["y"] == 700, "id"]) == {1}
    assert set(later.loc[later["y"] == 300, "id"]) == {2}


def test_a_fragment_ending_on_a_cut_short_box_is_linked_when_alike():
    # Person 1's last two boxes are cut short (legs hidden by someone in front), then
    # the person is missed for 5 frames and found again whole (id 5). The last heights
    # differ too much; over the last second they agree, which counts when the two
    # fragments look alike (but not so alike that appearance alone would link them).
    rows = [(f, 1, 100 + 4 * f, 300.0, 80.0, 200.0 if f < 39 else 130.0, 0.9) for f in range(1, 41)]
    df = table(rows, walk(5, range(46, 80), 100, 4))
    alike = {1: LOOK[1], 5: _unit([1, 1.3, 0, 0])}
    assert 0.2 < 1 - float(LOOK[1] @ alike[5]) < 0.4
    assert set(link_tracks(df, 30)["id"]) == {1, 5}  # motion only: heights disagree
    assert set(link_tracks(df, 30, embeddings=embeddings_for(df, alike))["id"]) == {1}
    unlike = {1: LOOK[1], 5: LOOK[3]}
    assert set(link_tracks(df, 30, embeddings=embeddings_for(df, unlike))["id"]) == {1, 5}


def test_a_moment_seen_in_a_gap_on_the_path_takes_the_linked_id():
    # Person 1 walks behind a post: fragment 1, then fragment 7 after a gap, linked. On
    # 2 frames of the gap the detector saw them (id 9) but the crops show the post more
    # than the person (unlike): no link takes it, but it lies on the path across the gap.
    df = table(
        walk(1, range(1, 21), 100, 4),
        walk(9, range(25, 27), 100, 4),
        walk(7, range(31, 61), 100, 4),
        walk(4, range(1, 61), 100, 4, y=800),  # someone else, elsewhere, all along
    )
    looks = {1: LOOK[1], 7: LOOK[1], 9: LOOK[3], 4: LOOK[2]}
    emb = embeddings_for(df, looks)
    out = link_tracks(df, 30, embeddings=emb)
    assert sorted(out.groupby("id").size().tolist()) == [52, 60]
    assert set(out.loc[out["y"] == 300, "id"]) == {1}
    assert set(link_tracks(df, 30, embeddings=emb, blip_max_ms=0)["id"]) == {1, 4, 9}
    # Off the path (a person below, at the same time), it keeps its own id.
    off = df.assign(y=np.where(df["id"] == 9, 500.0, df["y"]))
    assert set(link_tracks(off, 30, embeddings=emb)["id"]) == {1, 4, 9}


def _twice_back(gap_end: int = 400) -> pd.DataFrame:
    """One person in four fragments: 1, 2 (the path continued after a short miss), then
    3, 4 (back elsewhere 12 s later); 1 and 3 look the same, 2 and 4 a little different."""
    return table(
        walk(1, range(1, 21), 100, 4),
        walk(2, range(24, 41), 100, 4),
        walk(3, range(gap_end, gap_end + 20), 900, -4, y=500),
        walk(4, range(gap_end + 23, gap_end + 40), 900, -4, y=500),
    )


def test_chains_of_one_person_that_take_turns_are_joined():
    df = _twice_back()
    other = _unit([1, 1.3, 0, 0])  # 0.31 from LOOK[1]: alike, not beyond doubt
    emb = embeddings_for(df, {1: LOOK[1], 2: other, 3: LOOK[1], 4: other})
    # The returns (1 -> 3, 2 -> 4) win the one-to-one assignment over the short misses
    # (1 -> 2, 3 -> 4): two chains taking turns, never seen together: one person.
    assert set(link_tracks(df, 30, embeddings=emb, join_interleaved=False)["id"]) == {1, 2}
    assert set(link_tracks(df, 30, embeddings=emb)["id"]) == {1}
    # Seen together on one frame (3 also at frame 30, while 2 walks), they are two people.
    both = pd.concat([df, table(walk(3, [30], 900, -4, y=500))]).drop_duplicates(["frame", "id"])
    emb = embeddings_for(both, {1: LOOK[1], 2: other, 3: LOOK[1], 4: other})
    assert set(link_tracks(both, 30, embeddings=emb)["id"]) == {1, 2}


def test_motion_links_between_unlike_fragments_are_vetoed():
    # A straight walk split in two that motion would join, but the halves look unlike:
    # two people, one after the other on the same path.
    df = table(walk(1, range(1, 41), 100, 4), walk(5, range(101, 141), 100, 4))
    out = link_tracks(df, 30, embeddings=embeddings_for(df, {1: LOOK[1], 5: LOOK[3]}))
    assert set(out["id"]) == {1, 5}
    alike = link_tracks(df, 30, embeddings=embeddings_for(df, {1: LOOK[1], 5: LOOK[1]}))
    assert set(alike["id"]) == {1}
