"""Stitching segments' tracks and cutting videos into segments."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from persontrack.segments import plan_segments
from persontrack.tracking.stitch import Stitcher, match_tracks


def walkers(n: int = 6, frames: int = 300, seed: int = 1) -> pd.DataFrame:
    """``n`` people crossing the frame at 25 fps, appearing and leaving at random times."""
    rng = np.random.default_rng(seed)
    parts = []
    for i in range(n):
        first = int(rng.integers(0, frames - 60))
        last = int(rng.integers(first + 50, frames))
        f = np.arange(first, last)
        x0, vx = rng.random() * 0.7, (rng.random() - 0.5) * 0.004
        parts.append(pd.DataFrame({
            "Timestamp": f * 40, "Index": i, "Left": np.clip(x0 + vx * (f - first), 0, 0.8),
            "Top": 0.2 + 0.05 * i / n, "Width": 0.12, "Height": 0.4,
        }))  # fmt: skip
    df = pd.concat(parts, ignore_index=True).sort_values(["Timestamp", "Index"])
    first_seen = df.groupby("Index")["Timestamp"].min().sort_values(kind="mergesort")
    order = {old: k for k, old in enumerate(first_seen.index)}
    df = df.assign(Index=df["Index"].map(order)).sort_values(["Timestamp", "Index"])
    return df.reset_index(drop=True)


def segment_rows(df: pd.DataFrame, warmup: int, end: int | None, seed: int) -> pd.DataFrame:
    """What a tracker run on ``[warmup, end)`` reports: same boxes, its own numbering."""
    ts = df["Timestamp"]
    part = df[(ts >= warmup) & ((ts < end) if end is not None else True)]
    ids = part["Index"].unique()
    shuffled = np.random.default_rng(seed).permutation(len(ids)) + 100
    return part.assign(Index=part["Index"].map(dict(zip(ids, shuffled, strict=True))))


@pytest.mark.parametrize("segment_s", [2.5, 4.0, 100.0])
def test_stitched_segments_give_the_whole_runs_indexes(segment_s):
    whole = walkers()
    stitcher = Stitcher()
    parts = [
        stitcher.add(segment_rows(whole, s.warmup_ms, s.end_ms, s.number),
                     start_ms=s.start_ms, end_ms=s.end_ms)
        for s in plan_segments(12.0, segment_seconds=segment_s, overlap_seconds=1.0)
    ]  # fmt: skip
    out = pd.concat(parts, ignore_index=True).sort_values(["Timestamp", "Index"])
    pd.testing.assert_frame_equal(out.reset_index(drop=True), whole, check_dtype=False)


def test_a_person_first_seen_in_the_warm_up_only_is_dropped_with_it():
    s = Stitcher()
    rows = pd.DataFrame({"Timestamp": [0, 40, 80], "Index": [3, 3, 4], "Left": 0.1,
                         "Top": 0.1, "Width": 0.2, "Height": 0.3})  # fmt: skip
    assert s.add(rows, start_ms=80)["Index"].tolist() == [0]  # index 4 is the first owned
    assert s.next_index == 1


def test_different_people_in_the_overlap_are_not_joined():
    a = pd.DataFrame({"Timestamp": [0, 40, 80], "Index": 1, "Left": 0.1, "Top": 0.1,
                      "Width": 0.2, "Height": 0.3})  # fmt: skip
    b = a.assign(Index=7, Left=0.6)
    assert match_tracks(a, b) == {}
    assert match_tracks(a, a.assign(Index=7)) == {7: 1}
    assert match_tracks(a.iloc[:1], a.iloc[:1].assign(Index=7)) == {7: 1}
    assert match_tracks(a.iloc[:2], a.iloc[:2].assign(Index=7), min_common=3) == {}


def test_plan_segments_cover_the_video_once():
    segs = plan_segments(3600.0, segment_seconds=60, overlap_seconds=2)
    assert len(segs) == 60
    assert segs[0].start_ms == 0 and segs[-1].end_ms is None
    for a, b in zip(segs, segs[1:], strict=False):
        assert a.end_ms == b.start_ms and b.warmup_ms == b.start_ms - 2000
    assert len(plan_segments(89.0, segment_seconds=60)) == 1  # < 1.5 segments: one
    assert len(plan_segments(None)) == 1  # duration unknown


def person(index: int, times: range, left: float) -> pd.DataFrame:
    """One person standing at ``left``, seen at the timestamps ``times``."""
    ts = list(times)
    return pd.DataFrame({"Timestamp": ts, "Index": index, "Left": left, "Top": 0.2,
                         "Width": 0.12, "Height": 0.4})  # fmt: skip


def test_a_person_hidden_longer_than_a_segment_is_matched_to_an_earlier_segments_rows():
    # segments of 1 s with 1.5-s warm-ups; A hidden from 1.8 s to 3.2 s: segment 2 sees A
    # only in its warm-up, segment 3's warm-up (from 1.5 s) sees A before and after
    a_seen = [*range(0, 1800, 40), *range(3200, 4000, 40)]
    whole = pd.concat([person(0, a_seen, 0.3), person(1, range(0, 4000, 40), 0.7)])
    plan = [(0, 0, 1000), (0, 1000, 2000), (500, 2000, 3000), (1500, 3000, None)]
    s = Stitcher()
    out = []
    for k, (warmup, start, end) in enumerate(plan):
        seen = segment_rows(whole, warmup, end, seed=k)
        out.append(s.add(seen, start_ms=start, end_ms=end))
    got = pd.concat(out).sort_values(["Timestamp", "Index"], ignore_index=True)
    want = whole.sort_values(["Timestamp", "Index"], ignore_index=True)
    assert got["Index"].tolist() == want["Index"].tolist()


@pytest.mark.parametrize(("looks", "index"), [("alike", 0), ("unlike", 2), (None, 2)])
def test_a_person_back_after_a_boundary_keeps_their_index_by_appearance(looks, index):
    # A is last seen at 0.7 s, before segment 1's warm-up (from 0.8 s), and back at 1.5 s
    first = pd.concat([person(7, range(0, 720, 40), 0.3), person(8, range(0, 1000, 40), 0.7)])
    second = pd.concat([person(3, range(1500, 2000, 40), 0.35),
                        person(4, range(800, 2000, 40), 0.7)])  # fmt: skip
    a, b = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    back = {"alike": np.array([0.8, 0.6]), "unlike": b}.get(looks or "")
    s = Stitcher()
    s.add(first, start_ms=0, end_ms=1000, appearance={7: a, 8: b}, aspect=16 / 9)
    rows = s.add(
        second,
        start_ms=1000,
        appearance=None if back is None else {3: back, 4: b},
        aspect=16 / 9,
    )
    assert rows.groupby("Index")["Timestamp"].min().to_dict() == {1: 1000, index: 1500}


def test_a_swap_early_in_the_overlap_follows_the_person_into_the_segment():
    # earlier segment: A (Index 0) leaves 4 frames into the overlap, B (Index 1) stays;
    # the later segment's fresh tracker swapped them: its track 7 is on A for those 4
    # frames, then on B; its track 8 had B for the first 4 frames only
    ts = np.arange(10) * 40
    a = pd.DataFrame({"Timestamp": ts[:4], "Index": 0, "Left": 0.1, "Top": 0.2,
                      "Width": 0.1, "Height": 0.4})  # fmt: skip
    b = a.reindex(range(10)).assign(Timestamp=ts, Index=1, Left=0.5, Top=0.2, Width=0.1,
                                    Height=0.4)  # fmt: skip
    earlier = pd.concat([a, b], ignore_index=True)
    later = pd.concat(
        [a.assign(Index=7), b.iloc[4:].assign(Index=7), b.iloc[:4].assign(Index=8)],
        ignore_index=True,
    )
    # per track, A agrees with 7 on all of its 4 frames (1.0), B with 7 on 6 of 10 (0.6)
    # and with 8 on all of 8's 4 (1.0); 7 continues as B
    assert match_tracks(earlier, later) == {7: 1}
