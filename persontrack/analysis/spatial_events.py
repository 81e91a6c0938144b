"""Azure AI Vision Spatial Analysis events from stored tracks.

Spatial Analysis (retired 2025-03-30) sent dashboards JSON messages of four kinds of
person events; :func:`spatial_analysis_events` computes the same messages from any stored
result (persontrack's, or an archived Rekognition response), offline, for any new lines
and zones, without the video.

Each message has Microsoft's documented shape (schemaVersion ``"2.0"``): ``events``,
``sourceInfo`` (``id``, ``timestamp`` as UTC ISO 8601 with milliseconds, ``width``,
``height``, ``frameId``, ``imagePath``), ``detections`` (``type`` ``"person"``, ``id``,
``region`` a ``RECTANGLE`` of top-left and bottom-right points in frame ratios,
``confidence``, ``metadata`` with ``trackingId``, ``footprintX``, ``footprintY``) and
``schemaVersion``. One message per analysed frame at which something happened.

The rules follow Microsoft's "Spatial Analysis operations" page:

- **Anchor** (``focus``): ``footprint`` (the default) or ``bottom_center``, the bottom
  centre of the box (Azure's footprint came from its camera calibration, which stored
  tracks do not have, so here it is the bottom centre), or ``center``.
- ``personLineEvent``: ``status`` is ``CrossRight`` when the person crosses from the left
  to the right of the line as seen standing at its start facing its end (on the image,
  y pointing down), ``CrossLeft`` the other way; ``zone`` is the line's name. One event per
  row of :func:`~persontrack.analysis.analytics.line_crossings` (direction +1 is
  CrossRight), at the first detection past the line.
- ``personZoneEnterExitEvent``: ``status`` ``Enter`` / ``Exit`` with ``side``, the number
  of the polygon edge crossed (the edge from the first vertex to the second is ``"1"``),
  empty when no edge was seen crossed (the person appeared inside or vanished inside).
  Entries and exits are those of :func:`~persontrack.analysis.analytics.entries_exits`.
- ``personZoneDwellTimeEvent``: at each exit, ``dwellTime`` (ms, exit minus entry: their
  sum per person is :func:`~persontrack.analysis.analytics.zone_dwell`'s DwellMs) and
  ``dwellFrames`` (the person's detections inside during the visit).
- ``personCountEvent``: per zone (the whole frame, zone ``"frame"``, when no zones are
  given), an initial count at the first timestamp and a new one whenever the number of
  people inside changes; ``trigger`` ``"event"``. A person counts from their entry to
  their exit; one whose track ends inside still counts at that last detection and no
  more at the next analysed timestamp.

``trackingId`` is the person's Index as 32 hex digits (``int(trackingId, 16)`` gives it
back); as in Microsoft's samples a detection's ``id`` is its trackingId.

Examples
--------
>>> import pandas as pd, persontrack as pt
>>> df = pt.validate_frame(pd.DataFrame({"Timestamp": [0, 500, 1000], "Index": 3,
...     "Left": [0.1, 0.45, 0.8], "Top": 0.2, "Width": 0.1, "Height": 0.5}), fill_missing=True)
>>> msgs = pt.spatial_analysis_events(df, lines={"door": [(0.5, 0), (0.5, 1)]})
>>> [(e["type"], e["properties"].get("status")) for m in msgs for e in m["events"]
...  if e["type"] == "personLineEvent"]
[('personLineEvent', 'CrossLeft')]
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import pandas as pd

from ..convert import RESPONSE_ATTR
from ..errors import InvalidParameterException
from .analytics import DEFAULT_MAX_GAP_MS, _lines, _zones, entries_exits, line_crossings
from .compare import load_results

__all__ = ["FOCUS", "SCHEMA_VERSION", "spatial_analysis_events", "tracking_id"]

SCHEMA_VERSION = "2.0"
"""``schemaVersion`` of Microsoft's documented messages."""

FOCUS = {"footprint": "feet", "bottom_center": "feet", "center": "center"}
"""Spatial Analysis ``focus`` values -> the analytics anchor."""

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_NAMESPACE = uuid.UUID("6f1c3a52-4e0b-5d8e-9a57-0c2f3b7e9d41")

Point = tuple[float, float]


def tracking_id(index: int) -> str:
    """The ``trackingId`` of person ``index``: 32 hex digits.

    Examples
    --------
    >>> from persontrack.analysis.spatial_events import tracking_id
    >>> tracking_id(26), int(tracking_id(26), 16)
    ('0000000000000000000000000000001a', 26)
    """
    return format(int(index), "032x")


def _event_id(*parts: Any) -> str:
    return uuid.uuid5(_NAMESPACE, "/".join(map(str, parts))).hex


def _start(start_time: datetime | str | None) -> datetime:
    if start_time is None:
        return _EPOCH
    if isinstance(start_time, str):
        try:
            start_time = datetime.fromisoformat(start_time.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidParameterException(
                f"start_time must be an ISO 8601 date and time, got {start_time!r}"
            ) from None
    if not isinstance(start_time, datetime):
        raise InvalidParameterException(f"start_time must be a datetime, got {start_time!r}")
    if start_time.tzinfo is None:
        start_time = start_time.replace(tzinfo=timezone.utc)
    return start_time.astimezone(timezone.utc)


def _iso(start: datetime, ms: float) -> str:
    t = start + timedelta(milliseconds=float(ms))
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def _open_polygon(poly: np.ndarray) -> np.ndarray:
    """Microsoft's zones repeat the first vertex at the end; the sides are counted without it."""
    return poly[:-1] if len(poly) > 3 and np.allclose(poly[0], poly[-1]) else poly


def _side(poly: np.ndarray, p: np.ndarray, q: np.ndarray, last: bool) -> str:
    """Number (1-based) of the polygon edge the step p -> q crosses: the first crossed, or
    with ``last`` the last; "" when it crosses none."""
    a, b = poly, np.roll(poly, -1, axis=0)
    d, e = q - p, b - a
    denom = d[0] * e[:, 1] - d[1] * e[:, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        u = ((a[:, 0] - p[0]) * e[:, 1] - (a[:, 1] - p[1]) * e[:, 0]) / denom
        v = ((a[:, 0] - p[0]) * d[1] - (a[:, 1] - p[1]) * d[0]) / denom
    ok = (denom != 0) & (u >= 0) & (u <= 1) & (v >= 0) & (v <= 1)
    if not ok.any():
        return ""
    hits = np.flatnonzero(ok)
    k = hits[np.argmax(u[hits])] if last else hits[np.argmin(u[hits])]
    return str(int(k) + 1)


class _Frames:
    """Detections of the results by (Timestamp, Index), and the frame facts of a message."""

    def __init__(self, df: pd.DataFrame, anchor: str, frame_size: tuple[int, int] | None):
        meta = df.attrs.get(RESPONSE_ATTR, {}).get("VideoMetadata", {})
        fps = meta.get("FrameRate")
        self.fps = float(fps) if isinstance(fps, (int, float)) and fps > 0 else None
        if frame_size is not None:
            self.size: tuple[int, int] | None = (int(frame_size[0]), int(frame_size[1]))
        elif meta.get("FrameWidth") and meta.get("FrameHeight"):
            self.size = (int(meta["FrameWidth"]), int(meta["FrameHeight"]))
        else:
            self.size = None
        ok = df[["Left", "Top", "Width", "Height"]].notna().all(axis=1)
        rows = df.loc[ok].drop_duplicates(["Timestamp", "Index"])
        self.anchor = anchor
        self.rows = {(int(r.Timestamp), int(r.Index)): r for r in rows.itertuples(index=False)}
        known = rows[rows["FrameNumber"].notna()]
        self.numbers = dict(
            zip(known["Timestamp"].astype(int), known["FrameNumber"].astype(int), strict=True)
        )
        self.by_person: dict[int, np.ndarray] = {
            int(i): np.sort(g["Timestamp"].to_numpy(dtype=np.int64))
            for i, g in rows.groupby("Index")
        }

    def point(self, t: int, index: int) -> np.ndarray:
        r = self.rows[(t, index)]
        y = r.Top + (r.Height if self.anchor == "feet" else r.Height / 2)
        return np.array([r.Left + r.Width / 2, y], dtype=float)

    def previous(self, t: int, index: int) -> int | None:
        ts = self.by_person[index]
        k = int(np.searchsorted(ts, t)) - 1
        return int(ts[k]) if k >= 0 else None

    def at_or_after(self, t: float, index: int) -> int:
        ts = self.by_person[index]
        return int(ts[min(int(np.searchsorted(ts, t - 1e-6)), len(ts) - 1)])

    def detection(self, t: int, index: int) -> dict[str, Any]:
        r = self.rows[(t, index)]
        tid = tracking_id(index)
        foot = (r.Left + r.Width / 2, r.Top + r.Height)
        det: dict[str, Any] = {
            "type": "person",
            "id": tid,
            "region": {
                "type": "RECTANGLE",
                "points": [
                    {"x": float(r.Left), "y": float(r.Top)},
                    {"x": float(r.Left + r.Width), "y": float(r.Top + r.Height)},
                ],
            },
        }
        conf = r.Confidence if pd.notna(r.Confidence) else None
        if conf is not None:
            det["confidence"] = float(conf) / 100.0  # persontrack 0-100, Azure 0-1
        det["metadata"] = {
            "trackingId": tid,
            "footprintX": str(float(foot[0])),
            "footprintY": str(float(foot[1])),
        }
        return det

    def frame_id(self, t: int) -> str:
        if t in self.numbers:
            return str(self.numbers[t])
        if self.fps is not None:
            return str(int(round(t * self.fps / 1000.0)))
        return str(int(t))


def spatial_analysis_events(
    results: Any,
    lines: Mapping[str, Sequence[Point]] | None = None,
    zones: Mapping[str, Sequence[Point]] | None = None,
    *,
    focus: str = "footprint",
    source_id: str = "persontrack",
    start_time: datetime | str | None = None,
    frame_size: tuple[int, int] | None = None,
    max_gap_ms: float = DEFAULT_MAX_GAP_MS,
) -> list[dict[str, Any]]:
    """Azure Spatial Analysis event messages of stored results.

    Parameters
    ----------
    results : DataFrame, TrackingResult, dict, list of dict or path
        Any stored result (see :func:`persontrack.analysis.compare.load_results`), e.g. an
        archived GetPersonTracking response.
    lines : dict of name -> ((x1, y1), (x2, y2)), optional
        Crossing lines, points as ratios of the frame (start, end).
    zones : dict of name -> [(x, y), ...], optional
        Zone polygons, points as ratios of the frame (a repeated closing vertex is fine).
    focus : {"footprint", "bottom_center", "center"}, default "footprint"
        Point of the box events are computed from (see the module notes).
    source_id : str, default "persontrack"
        ``sourceInfo.id`` (Spatial Analysis' VIDEO_SOURCE_ID).
    start_time : datetime or ISO 8601 str, optional
        Wall-clock time of the video's start: ``sourceInfo.timestamp`` is it plus the
        entry's Timestamp. Default 1970-01-01T00:00:00Z.
    frame_size : (width, height), optional
        ``sourceInfo.width``/``height``; default the results' VideoMetadata (left out when
        unknown).
    max_gap_ms : float
        As in :func:`persontrack.analysis.analytics.trajectory_summary`.

    Returns
    -------
    list of dict
        Messages in time order.
    """
    if focus not in FOCUS:
        raise InvalidParameterException(f"focus must be one of {list(FOCUS)}, got {focus!r}")
    if not isinstance(source_id, str):
        raise InvalidParameterException(f"source_id must be a string, got {source_id!r}")
    anchor = FOCUS[focus]
    start = _start(start_time)
    df = load_results(results)
    ls: Any = _lines(lines) if lines else {}
    zs: Any = {k: _open_polygon(v) for k, v in _zones(zones).items()} if zones else {}
    frames = _Frames(df, anchor, frame_size)
    kw: dict[str, Any] = {"anchor": anchor, "max_gap_ms": max_gap_ms}
    found: list[tuple[int, int, dict[str, Any], list[int]]] = []  # (t, order, event, people)

    if ls:
        for c in line_crossings(df, ls, **kw).itertuples(index=False):
            t = frames.at_or_after(c.Timestamp, int(c.Index))
            tid = tracking_id(c.Index)
            status = "CrossRight" if c.Direction > 0 else "CrossLeft"
            event = {
                "id": _event_id("line", c.Line, tid, t, status),
                "type": "personLineEvent",
                "detectionIds": [tid],
                "properties": {"trackingId": tid, "status": status},
                "zone": c.Line,
            }
            found.append((t, 1, event, [int(c.Index)]))

    zone_polys = zs if zs else None
    moves = entries_exits(df, zone_polys, **kw)
    entered: dict[tuple[int, str], int] = {}
    for m in moves.itertuples(index=False):
        index, zone, t = int(m.Index), str(m.Zone), int(m.Timestamp)
        tid = tracking_id(index)
        if zs:
            side = _zone_side(frames, zs[zone], t, index, m.Event == "enter", max_gap_ms)
            status = "Enter" if m.Event == "enter" else "Exit"
            event = {
                "id": _event_id("zone", zone, tid, t, status),
                "type": "personZoneEnterExitEvent",
                "detectionIds": [tid],
                "properties": {"trackingId": tid, "status": status, "side": side},
                "zone": zone,
            }
            found.append((t, 2, event, [index]))
        if m.Event == "enter":
            entered[(index, zone)] = t
        elif zs and (index, zone) in entered:
            t0 = entered.pop((index, zone))
            ts = frames.by_person[index]
            visit = ts[(ts >= t0) & (ts <= t)]
            inside = [s for s in visit if _inside(zs[zone], frames.point(int(s), index))]
            event = {
                "id": _event_id("dwell", zone, tid, t),
                "type": "personZoneDwellTimeEvent",
                "detectionIds": [tid],
                "properties": {
                    "trackingId": tid,
                    "status": "Exit",
                    "side": side,
                    "dwellTime": float(t - t0),
                    "dwellFrames": len(inside),
                },
                "zone": zone,
            }
            found.append((t, 3, event, [index]))
    found.extend(_counts(frames, moves, dict(zs) if zs else {"frame": None}))

    return _messages(found, frames, source_id, start)


def _inside(poly: np.ndarray, p: np.ndarray) -> bool:
    from .analytics import points_in_polygon

    return bool(points_in_polygon(p[None, :], poly)[0])


def _zone_side(
    frames: _Frames, poly: np.ndarray, t: int, index: int, enter: bool, max_gap_ms: float
) -> str:
    """The edge crossed on entering at t (from the detection before) or leaving at t."""
    here = frames.point(t, index)
    if not enter and _inside(poly, here):
        return ""  # the track ended (or broke) inside the zone: no edge was crossed
    before = frames.previous(t, index)
    if before is None or t - before > max_gap_ms:
        return ""  # appeared here: no step into the zone was seen
    prev = frames.point(before, index)
    if enter and _inside(poly, prev):
        return ""  # a new segment of the track starting inside
    return _side(poly, prev, here, last=enter)


def _counts(
    frames: _Frames, moves: pd.DataFrame, zones: dict[str, np.ndarray | None]
) -> list[tuple[int, int, dict[str, Any], list[int]]]:
    """personCountEvent per zone: at the first timestamp, then whenever the count changes.

    A person counts from their entry; an exit at a detection outside the zone ends the
    count there, an exit at their last detection inside (the track ends there) at the
    next analysed timestamp.
    """
    times = sorted({t for t, _ in frames.rows})
    if not times:
        return []
    nxt = dict(zip(times[:-1], times[1:], strict=True))
    out = []
    for zone, poly in zones.items():
        plan: dict[int, list[tuple[int, bool]]] = {times[0]: []}  # t -> (person, enters)
        for m in moves[moves["Zone"] == zone].itertuples(index=False):
            t, who = int(m.Timestamp), int(m.Index)
            if m.Event == "exit" and (poly is None or _inside(poly, frames.point(t, who))):
                if t not in nxt:
                    continue  # still inside at the last timestamp
                t = nxt[t]
            plan.setdefault(t, []).append((who, m.Event == "enter"))
        inside: set[int] = set()
        last = None
        for t in sorted(plan):
            for who, enters in sorted(plan[t], key=lambda p: p[1]):  # exits first
                (inside.add if enters else inside.discard)(who)
            if last is None or len(inside) != last:
                event = {
                    "id": _event_id("count", zone, t, len(inside)),
                    "type": "personCountEvent",
                    "detectionIds": [],
                    "properties": {"personCount": len(inside)},
                    "zone": zone,
                    "trigger": "event",
                }
                out.append((t, 0, event, sorted(inside)))
                last = len(inside)
    return out


def _messages(
    found: list[tuple[int, int, dict[str, Any], list[int]]],
    frames: _Frames,
    source_id: str,
    start: datetime,
) -> list[dict[str, Any]]:
    found.sort(key=lambda f: (f[0], f[1]))
    messages = []
    k = 0
    while k < len(found):
        t = found[k][0]
        events: list[dict[str, Any]] = []
        people: list[int] = []
        while k < len(found) and found[k][0] == t:
            _, order, event, who = found[k]
            seen = [i for i in who if (t, i) in frames.rows]
            if order == 0:  # a count lists the detections of the people inside
                event["detectionIds"] = [tracking_id(i) for i in seen]
            events.append(event)
            people.extend(i for i in seen if i not in people)
            k += 1
        source: dict[str, Any] = {"id": source_id, "timestamp": _iso(start, t)}
        if frames.size is not None:
            source["width"], source["height"] = frames.size
        source["frameId"] = frames.frame_id(t)
        source["imagePath"] = ""
        messages.append(
            {
                "events": events,
                "sourceInfo": source,
                "detections": [frames.detection(t, i) for i in people],
                "schemaVersion": SCHEMA_VERSION,
            }
        )
    return messages
