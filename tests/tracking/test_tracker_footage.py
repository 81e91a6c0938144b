"""The tracker's identity rules on real footage: ``pedestrian_survaillance.mp4`` (a street
seen from above, 626x360, people walking in and out at the frame's edges).

Each test runs the real pipeline (detector, re-id model, tracker; linking off, so the
tracker's own decisions are checked) over the seconds where a rule decides, with the rule
on (the default) and off, and checks who gets which Index on the real boxes.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import persontrack as pt

pytestmark = pytest.mark.shared_data

VIDEO = "pedestrian_survaillance.mp4"


def _track(shared_data: Path, start_ms: int, end_ms: int, **tracker: float) -> pd.DataFrame:
    settings = {"landmarks": False, "faces": False, "link_fragments": False, "tracker": tracker}
    result = pt.track_video(
        shared_data / "videos" / VIDEO, settings, start_ms=start_ms, end_ms=end_ms
    )
    return result.frame


def _man_walking_out(frame: pd.DataFrame) -> int:
    """Index of the man who walks out at the bottom left at 16.1 s (box over half the
    frame high at the left edge)."""
    last = frame[frame["Timestamp"].between(15900, 16200)]
    man = last[(last["Left"] < 0.05) & (last["Height"] > 0.5)]
    assert man["Index"].nunique() == 1, man
    return int(man["Index"].iloc[0])


@pytest.mark.parametrize(("ratio", "joined"), [(None, False), (0.0, True)])
def test_a_lost_track_takes_no_box_of_another_size(shared_data, ratio, joined):
    # The last of 4 segments (tracked from 15.3 s, as segments_video.py cuts the video):
    # a man walks out at the bottom left at 16.1 s, and at 17.5 s a person a third his
    # height enters at the top left. His lost track's predicted box has grown past the
    # frame's height; measured in it, the newcomer was close enough to continue his
    # track (lost_size_ratio=0). With the size rule the man's Index stays on his boxes.
    # The incident was seen with the matching gate at 0.75 (the video setting then); the
    # one default (0.7) misses it by luck, so the test keeps the wider gate.
    extra = {"max_cost": 0.75} if ratio is None else {"max_cost": 0.75, "lost_size_ratio": ratio}
    frame = _track(shared_data, 15298, 18000, **extra)
    man = _man_walking_out(frame)
    later = frame[(frame["Index"] == man) & (frame["Timestamp"] > 16200)]
    assert (len(later) > 0) == joined, later
    if joined:
        assert (later["Height"] < 0.3).all() and (later["Top"] < 0.35).all()


@pytest.mark.parametrize(("gate", "split"), [(None, False), (1e9, True)])
def test_a_look_alike_far_away_does_not_veto_a_track_on_its_path(shared_data, gate, split):
    # From the start to 10.8 s: a man at the right (box 0.4 of the frame high) is
    # tracked frame after frame; at 10.63 s his crop is 0.64 from his track's appearance
    # (built from 2 crops) and 0.599 from the track of a person who walked out at the
    # left edge 4 s before. That far look-alike vetoed his own track, on his path (no
    # limit on where the look-alike is: veto_max_centroid=1e9), and he got a second
    # Index; only a look-alike predicted within a body height of the box may veto.
    # The distances above are those of the crops embedded when every touching box was
    # (appearance_clear_margin=0); fewer crops give other averages, and no veto to test.
    # (Seen with the matching gate at 0.75, the video setting then: kept.)
    extra: dict[str, float] = {"appearance_clear_margin": 0.0, "max_cost": 0.75}
    if gate is not None:
        extra["veto_max_centroid"] = gate
    frame = _track(shared_data, 0, 10800, **extra)
    right = frame[(frame["Left"] > 0.8) & (frame["Top"] > 0.45) & (frame["Height"] > 0.35)]
    before = right[right["Timestamp"] == 10567]
    after = right[right["Timestamp"] == 10633]
    assert len(before) == 1 and len(after) == 1, right
    same = int(before["Index"].iloc[0]) == int(after["Index"].iloc[0])
    assert same != split
