"""``pt.spatial_analysis_events`` and ``persontrack events``: Azure Spatial Analysis messages
from stored tracks, checked against persontrack's own line and zone analytics."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone

import pandas as pd
import pytest

import persontrack as pt
from persontrack.analysis.spatial_events import tracking_id

MIDDLE = {"middle": [(0.5, 0.0), (0.5, 1.0)]}
LEFT_HALF = {"left": [(0, 0), (0.5, 0), (0.5, 1), (0, 1)]}
MESSAGE_KEYS = ["events", "sourceInfo", "detections", "schemaVersion"]


def _walk(feet: list[tuple[float, float]], step_ms: int = 200, index: int = 4) -> pd.DataFrame:
    """One person whose box bottom centre (footprint) follows ``feet``."""
    rows = [(k * step_ms, index, x - 0.01, y - 0.1, 0.02, 0.1) for k, (x, y) in enumerate(feet)]
    df = pd.DataFrame(rows, columns=["Timestamp", "Index", "Left", "Top", "Width", "Height"])
    return pt.validate_frame(df, fill_missing=True)


def _ms(message: dict) -> int:
    """Milliseconds from the video's start of a message (start_time left at the epoch)."""
    when = datetime.fromisoformat(message["sourceInfo"]["timestamp"].replace("Z", "+00:00"))
    return round((when - datetime(1970, 1, 1, tzinfo=timezone.utc)).total_seconds() * 1000)


def _events(messages: list[dict], kind: str) -> list[tuple[dict, dict]]:
    return [(m, e) for m in messages for e in m["events"] if e["type"] == kind]


def test_crossing_direction_follows_microsofts_rule():
    # Standing at the start of a line drawn left to right, facing its end, the right hand
    # points down the image: walking down crosses from left to right (CrossRight).
    line = {"door": [(0.0, 0.5), (1.0, 0.5)]}
    down = pt.spatial_analysis_events(_walk([(0.5, 0.3), (0.5, 0.7)]), lines=line)
    up = pt.spatial_analysis_events(_walk([(0.5, 0.7), (0.5, 0.3)]), lines=line)
    assert [e["properties"]["status"] for _, e in _events(down, "personLineEvent")] == [
        "CrossRight"
    ]
    assert [e["properties"]["status"] for _, e in _events(up, "personLineEvent")] == ["CrossLeft"]
    ((m, e),) = _events(down, "personLineEvent")
    assert e["zone"] == "door" and e["detectionIds"] == [tracking_id(4)]
    assert m["sourceInfo"]["timestamp"] == "1970-01-01T00:00:00.200Z"  # the frame past it
    assert m["detections"][0]["metadata"]["footprintY"] == str(0.7)


def test_zone_sides_dwell_and_counts():
    # A square zone given Microsoft's way (first vertex repeated): entered across its left
    # edge (side 4: from the fourth vertex back to the first), left across its top (side 1).
    square = {"queue": [(0.2, 0.2), (0.6, 0.2), (0.6, 0.6), (0.2, 0.6), (0.2, 0.2)]}
    df = _walk([(0.1, 0.4), (0.3, 0.4), (0.4, 0.4), (0.5, 0.3), (0.5, 0.1)])
    msgs = pt.spatial_analysis_events(df, zones=square, start_time="2024-05-01T09:00:00Z")
    moves = [
        (e["properties"]["status"], e["properties"]["side"], m["sourceInfo"]["timestamp"])
        for m, e in _events(msgs, "personZoneEnterExitEvent")
    ]
    assert moves == [
        ("Enter", "4", "2024-05-01T09:00:00.200Z"),
        ("Exit", "1", "2024-05-01T09:00:00.800Z"),
    ]
    ((_, dwell),) = _events(msgs, "personZoneDwellTimeEvent")
    assert dwell["properties"]["dwellTime"] == 600.0 and dwell["properties"]["dwellFrames"] == 3
    assert dwell["properties"]["dwellTime"] == pt.zone_dwell(df, square)["DwellMs"].iloc[0]
    counts = [e["properties"]["personCount"] for _, e in _events(msgs, "personCountEvent")]
    assert counts == [0, 1, 0]
    assert all(list(m) == MESSAGE_KEYS and m["schemaVersion"] == "2.0" for m in msgs)


def test_appearing_inside_has_no_side():
    square = {"z": [(0.2, 0.2), (0.6, 0.2), (0.6, 0.6), (0.2, 0.6)]}
    msgs = pt.spatial_analysis_events(_walk([(0.3, 0.4), (0.4, 0.4)]), zones=square)
    sides = [e["properties"]["side"] for _, e in _events(msgs, "personZoneEnterExitEvent")]
    assert sides == ["", ""]  # appeared inside, and the track ended inside


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"focus": "feet"}, "focus"), ({"start_time": "yesterday"}, "start_time"),
     ({"lines": {"l": [(0, 0)]}}, "line 'l'"), ({"zones": {"z": [(0, 0), (1, 1)]}}, "zone 'z'")],
)  # fmt: skip
def test_bad_parameters_are_refused(kwargs, match):
    with pytest.raises(pt.InvalidParameterException, match=match):
        pt.spatial_analysis_events(_walk([(0.1, 0.1)]), **kwargs)


@pytest.mark.shared_data
def test_line_events_of_a_real_run_match_line_crossings_one_for_one(pedestrian_run):
    df = pt.response_to_dataframe(pedestrian_run)
    crossings = pt.line_crossings(df, MIDDLE)
    assert len(crossings) >= 5
    msgs = pt.spatial_analysis_events(pedestrian_run, lines=MIDDLE)
    events = _events(msgs, "personLineEvent")
    assert len(events) == len(crossings)
    for (m, e), c in zip(events, crossings.itertuples(index=False), strict=True):
        assert int(e["properties"]["trackingId"], 16) == c.Index
        assert e["properties"]["status"] == ("CrossRight" if c.Direction > 0 else "CrossLeft")
        frame_ms = int(m["sourceInfo"]["frameId"]) * 1000 / 30
        assert c.Timestamp <= frame_ms + 1 < c.Timestamp + 1000  # the frame past the line
    assert {m["sourceInfo"]["width"] for m in msgs} == {626}


@pytest.mark.shared_data
def test_zone_events_of_a_real_run_agree_with_zone_dwell(pedestrian_run):
    df = pt.response_to_dataframe(pedestrian_run)
    msgs = pt.spatial_analysis_events(df, zones=LEFT_HALF)
    dwell = pt.zone_dwell(df, LEFT_HALF).set_index("Index")
    enters: dict[int, int] = {}
    total: dict[int, float] = {}
    for _, e in _events(msgs, "personZoneEnterExitEvent"):
        who = int(e["properties"]["trackingId"], 16)
        enters[who] = enters.get(who, 0) + (e["properties"]["status"] == "Enter")
    for _, e in _events(msgs, "personZoneDwellTimeEvent"):
        who = int(e["properties"]["trackingId"], 16)
        total[who] = total.get(who, 0.0) + e["properties"]["dwellTime"]
    inside = dwell[dwell["Entries"] > 0]
    assert len(inside) >= 3
    assert enters == inside["Entries"].to_dict()
    assert total == pytest.approx(inside["DwellMs"].astype(float).to_dict())
    # the counts: a person counts from entering to exiting (at a detection outside the zone),
    # or, when the track ends inside, up to that last detection
    times = sorted(df["Timestamp"].unique())
    feet = pt.path_points(df).set_index(["Timestamp", "Index"])
    change: dict[int, int] = {}
    for m, e in _events(msgs, "personZoneEnterExitEvent"):
        who = int(e["properties"]["trackingId"], 16)
        t = _ms(m)
        if e["properties"]["status"] == "Exit":
            x, y = feet.loc[(t, who), ["X", "Y"]]
            if pt.points_in_polygon([(x, y)], LEFT_HALF["left"])[0]:
                t = times[times.index(t) + 1] if t != times[-1] else None
        if t is not None:
            change[t] = change.get(t, 0) + (1 if e["properties"]["status"] == "Enter" else -1)
    n, expected = 0, {}  # t -> count
    for t in sorted(change):
        n += change[t]
        expected[t] = n
    counts = {_ms(m): e["properties"]["personCount"] for m, e in _events(msgs, "personCountEvent")}
    assert counts[times[0]] == expected.get(times[0], 0)
    assert set(counts) - {times[0]} <= set(expected)
    assert all(counts.get(t, n) == n for t, n in expected.items())
    assert max(counts.values()) >= 2  # several people in the left half at once
    for m in msgs:
        ids = {d["id"] for d in m["detections"]}
        assert all(set(e["detectionIds"]) <= ids for e in m["events"])


@pytest.mark.shared_data
def test_cli_on_the_archived_rekognition_output(shared_data, tmp_path):
    archive = shared_data / "rekognition" / "get_person_tracking_docs_example.json"
    out = tmp_path / "events.jsonl"
    subprocess.run(
        [sys.executable, "-m", "persontrack.cli", "events", str(archive), "--zone",
         "all:0,0,1,0,1,1,0,1", "--line", "middle:0.5,0,0.5,1", "--source-id", "lobby",
         "--focus", "center",
         "-o", str(out)],
        check=True, timeout=120,
    )  # fmt: skip
    msgs = [json.loads(line) for line in out.read_text().splitlines()]
    first = msgs[0]
    assert first["sourceInfo"] == {
        "id": "lobby", "timestamp": "1970-01-01T00:00:00.000Z", "width": 1920, "height": 1080,
        "frameId": "0", "imagePath": "",
    }  # fmt: skip
    count = [e for e in first["events"] if e["type"] == "personCountEvent"]
    assert count[0]["properties"]["personCount"] == 2 and len(first["detections"]) == 2
    region = first["detections"][0]["region"]
    assert region["type"] == "RECTANGLE" and len(region["points"]) == 2


def test_cli_refuses_a_malformed_line(tmp_path):
    path = tmp_path / "r.csv"
    pt.write_results(_walk([(0.1, 0.1)]), path)
    bad = subprocess.run(
        [sys.executable, "-m", "persontrack.cli", "events", str(path), "--line", "door:0.5,0"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 2 and "InvalidParameterException" in bad.stderr
    assert "--line must be NAME:x1,y1,x2,y2" in bad.stderr


def test_empty_results_give_no_messages():
    assert pt.spatial_analysis_events(pt.empty_frame(), lines=MIDDLE, zones=LEFT_HALF) == []
