"""Path analytics: where people went, how long they stayed, which lines they crossed.

Every function takes the results DataFrame and returns a new DataFrame; nothing is
modified. A person's position at a timestamp is one point of their box (``anchor``):
``"feet"`` (bottom centre, where they stand) or ``"center"``.

Coordinates are **frame units** by default: x as a fraction of the frame width, y as a
fraction of its height, origin at the top-left, y pointing down (the results' own units).
Pass ``frame_size=(width, height)`` to work in pixels instead; zones and lines are then
given in pixels too, and distances and speeds come out in pixels.

Time between two consecutive detections of a person counts as presence when it is at most
``max_gap_ms``; a longer gap splits the person's track into *segments* (they left, or were
hidden). Each detection stands for the time until the person's next detection in the same
segment, so the last detection of a segment adds no time. With this rule every total
agrees: the dwell time in a zone is the sum of (exit - enter) over the zone's events, and
the dwell time in a zone covering the whole frame is the person's ``PresentMs``.

Examples
--------
>>> import pandas as pd, persontrack as pt
>>> from persontrack.analysis.analytics import *
>>> df = pt.validate_frame(pd.DataFrame({
...     "Timestamp": [0, 1000, 2000], "Index": [0, 0, 0],
...     "Left": [0.0, 0.2, 0.4], "Top": [0.5, 0.5, 0.5],
...     "Width": [0.1, 0.1, 0.1], "Height": [0.4, 0.4, 0.4]}), fill_missing=True)
>>> s = trajectory_summary(df)
>>> float(s.loc[0, "Distance"]), float(s.loc[0, "MeanSpeed"])
(0.4, 0.2)
>>> zone_dwell(df, {"left": [(0, 0), (0.3, 0), (0.3, 1), (0, 1)]})["DwellMs"].tolist()
[2000]
>>> line_crossings(df, {"mid": [(0.3, 0), (0.3, 1)]})["Direction"].tolist()
[-1]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InvalidParameterException
from ..schema import validate_frame

__all__ = [
    "DEFAULT_MAX_GAP_MS",
    "crossing_counts",
    "entries_exits",
    "line_crossings",
    "path_points",
    "people_present",
    "points_in_polygon",
    "trajectory_summary",
    "zone_dwell",
]

DEFAULT_MAX_GAP_MS = 1000
"""Longest gap (ms) between two detections of a person still counted as presence.

Rekognition sampled about 16 frames per second and persontrack's tracker keeps a person
through short occlusions; a second without a detection means the person was gone.
"""

Point = tuple[float, float]


def path_points(
    df: pd.DataFrame,
    anchor: str = "feet",
    *,
    frame_size: tuple[float, float] | None = None,
) -> pd.DataFrame:
    """Where each person stands at each timestamp.

    Parameters
    ----------
    df : pandas.DataFrame
        Results.
    anchor : {"feet", "center"}, default "feet"
        ``feet``: bottom centre of the box (where a person is on the floor);
        ``center``: box centre.
    frame_size : (width, height), optional
        Return pixels instead of frame units.

    Returns
    -------
    pandas.DataFrame
        Columns Timestamp, Index, X, Y, sorted by Index then Timestamp; rows without a
        bounding box are left out.

    Examples
    --------
    >>> import pandas as pd, persontrack as pt
    >>> from persontrack.analysis.analytics import *
    >>> df = pt.validate_frame(pd.DataFrame({"Timestamp": [0], "Index": [2], "Left": [0.1],
    ...     "Top": [0.2], "Width": [0.2], "Height": [0.6]}), fill_missing=True)
    >>> path_points(df)[["X", "Y"]].round(3).values.tolist()
    [[0.2, 0.8]]
    """
    if anchor not in ("feet", "center"):
        raise InvalidParameterException(f"anchor must be 'feet' or 'center', got {anchor!r}")
    sx, sy = _scale(frame_size)
    df = validate_frame(df, fill_missing=True)
    y = df["Top"] + (df["Height"] if anchor == "feet" else df["Height"] / 2)
    out = pd.DataFrame(
        {
            "Timestamp": df["Timestamp"],
            "Index": df["Index"],
            "X": (df["Left"] + df["Width"] / 2) * sx,
            "Y": y * sy,
        }
    ).dropna()
    return out.sort_values(["Index", "Timestamp"], kind="mergesort", ignore_index=True)


def _scale(frame_size: tuple[float, float] | None) -> tuple[float, float]:
    if frame_size is None:
        return 1.0, 1.0
    try:
        w, h = (float(v) for v in frame_size)
    except (TypeError, ValueError):
        raise InvalidParameterException(
            f"frame_size must be (width, height), got {frame_size!r}"
        ) from None
    if not (w > 0 and h > 0):
        raise InvalidParameterException(f"frame_size must be positive, got {frame_size!r}")
    return w, h


def _check_gap(max_gap_ms: float) -> float:
    if isinstance(max_gap_ms, bool) or not isinstance(max_gap_ms, (int, float)):
        raise InvalidParameterException(f"max_gap_ms must be a number, got {max_gap_ms!r}")
    if not max_gap_ms > 0:
        raise InvalidParameterException(f"max_gap_ms must be > 0, got {max_gap_ms!r}")
    return float(max_gap_ms)


def _tracks(
    df: pd.DataFrame, anchor: str, frame_size: tuple[float, float] | None, max_gap_ms: float
) -> pd.DataFrame:
    """Path points with Segment (per-person counter) and Weight (ms this point stands for)."""
    gap = _check_gap(max_gap_ms)
    pts = path_points(df, anchor, frame_size=frame_size)
    t = pts["Timestamp"].to_numpy(dtype=float)
    idx = pts["Index"].to_numpy()
    new_person = np.r_[True, idx[1:] != idx[:-1]] if len(pts) else np.zeros(0, bool)
    dt_prev = np.r_[np.inf, np.diff(t)] if len(pts) else np.zeros(0)
    new_segment = new_person | (dt_prev > gap)
    pts["Segment"] = np.cumsum(new_segment) - 1
    # Weight: time to the next detection in the same segment (0 for a segment's last).
    last_of_segment = np.r_[new_segment[1:], True] if len(pts) else np.zeros(0, bool)
    dt_next = np.r_[np.diff(t), 0.0] if len(pts) else np.zeros(0)
    pts["Weight"] = np.where(last_of_segment, 0.0, dt_next)
    pts["SegmentStart"] = new_segment
    pts["SegmentEnd"] = last_of_segment
    return pts


def _polygon(name: Any, vertices: Any) -> np.ndarray:
    try:
        poly = np.asarray(vertices, dtype=float)
    except (TypeError, ValueError):
        raise InvalidParameterException(
            f"zone {name!r} must be a list of (x, y) points, got {vertices!r}"
        ) from None
    if poly.ndim != 2 or poly.shape[1] != 2 or len(poly) < 3 or not np.isfinite(poly).all():
        raise InvalidParameterException(
            f"zone {name!r} must be at least 3 finite (x, y) points, got {vertices!r}"
        )
    return poly


def _zones(zones: Mapping[str, Sequence[Point]]) -> dict[str, np.ndarray]:
    if not isinstance(zones, Mapping) or not zones:
        raise InvalidParameterException(
            "zones must be a non-empty dict of name -> [(x, y), ...] polygon"
        )
    return {str(k): _polygon(k, v) for k, v in zones.items()}


def _lines(lines: Mapping[str, Sequence[Point]]) -> dict[str, np.ndarray]:
    if not isinstance(lines, Mapping) or not lines:
        raise InvalidParameterException(
            "lines must be a non-empty dict of name -> [(x, y), (x, y)]"
        )
    out = {}
    for name, ends in lines.items():
        try:
            seg = np.asarray(ends, dtype=float)
        except (TypeError, ValueError):
            seg = np.zeros(0)
        if seg.shape != (2, 2) or not np.isfinite(seg).all() or np.allclose(seg[0], seg[1]):
            raise InvalidParameterException(
                f"line {name!r} must be two distinct (x, y) points, got {ends!r}"
            )
        out[str(name)] = seg
    return out


def points_in_polygon(points: np.ndarray, polygon: Sequence[Point] | np.ndarray) -> np.ndarray:
    """Which points lie inside a polygon (even-odd rule).

    Parameters
    ----------
    points : array of shape (N, 2)
        x, y.
    polygon : sequence of (x, y)
        Vertices in order, at least 3; the last joins the first.

    Returns
    -------
    numpy.ndarray of bool, shape (N,)
        A point on the left or top edge counts as inside, on the right or bottom edge as
        outside, so two zones sharing an edge never both hold a point.

    Examples
    --------
    >>> from persontrack.analysis.analytics import points_in_polygon
    >>> points_in_polygon([(0.5, 0.5), (2, 2)], [(0, 0), (1, 0), (1, 1), (0, 1)]).tolist()
    [True, False]
    """
    pts = np.asarray(points, dtype=float).reshape(-1, 2)
    poly = _polygon("polygon", polygon)
    x, y = pts[:, 0:1], pts[:, 1:2]
    x1, y1 = poly[:, 0], poly[:, 1]
    x2, y2 = np.roll(x1, -1), np.roll(y1, -1)
    spans = (y1 <= y) != (y2 <= y)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_cross = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
    hits = spans & (x < x_cross)
    return (hits.sum(axis=1) % 2 == 1) & np.isfinite(pts).all(axis=1)


def trajectory_summary(
    df: pd.DataFrame,
    *,
    anchor: str = "feet",
    frame_size: tuple[float, float] | None = None,
    max_gap_ms: float = DEFAULT_MAX_GAP_MS,
) -> pd.DataFrame:
    """One row per person: when they were seen, how far and how fast they moved.

    Parameters
    ----------
    df : pandas.DataFrame
        Results.
    anchor : {"feet", "center"}, default "feet"
        Which point of the box is the person's position.
    frame_size : (width, height), optional
        Measure in pixels instead of frame units.
    max_gap_ms : float, default :data:`DEFAULT_MAX_GAP_MS`
        Longer gaps between detections split the track; time and distance across them are
        not counted.

    Returns
    -------
    pandas.DataFrame
        Index; FirstSeenMs, LastSeenMs; DurationMs (last - first); PresentMs (duration
        without the gaps); Segments (pieces of track); Detections (rows); FacesSeen (rows
        with a face); Distance (path length within segments); MeanSpeed (Distance per
        second of PresentMs, NaN when PresentMs is 0); StartX, StartY, EndX, EndY.
        Sorted by Index.
    """
    pts = _tracks(df, anchor, frame_size, max_gap_ms)
    faces = validate_frame(df, fill_missing=True)
    faces_seen = faces.loc[faces["FaceLeft"].notna()].groupby("Index").size()
    step = np.hypot(pts["X"].diff().to_numpy(), pts["Y"].diff().to_numpy())
    pts["Step"] = np.where(pts["SegmentStart"].to_numpy(), 0.0, np.nan_to_num(step))
    g = pts.groupby("Index", sort=True)
    out = pd.DataFrame(
        {
            "FirstSeenMs": g["Timestamp"].min(),
            "LastSeenMs": g["Timestamp"].max(),
            "PresentMs": g["Weight"].sum(),
            "Segments": g["Segment"].nunique(),
            "Detections": g.size(),
            "Distance": g["Step"].sum(),
            "StartX": g["X"].first(),
            "StartY": g["Y"].first(),
            "EndX": g["X"].last(),
            "EndY": g["Y"].last(),
        }
    )
    out.insert(2, "DurationMs", out["LastSeenMs"] - out["FirstSeenMs"])
    out["FacesSeen"] = faces_seen.reindex(out.index, fill_value=0).astype("int64")
    present_s = out["PresentMs"] / 1000.0
    out["MeanSpeed"] = (out["Distance"] / present_s.where(present_s > 0)).astype(float)
    out["PresentMs"] = out["PresentMs"].astype("int64")
    cols = [
        "FirstSeenMs",
        "LastSeenMs",
        "DurationMs",
        "PresentMs",
        "Segments",
        "Detections",
        "FacesSeen",
        "Distance",
        "MeanSpeed",
        "StartX",
        "StartY",
        "EndX",
        "EndY",
    ]
    return out[cols].rename_axis("Index").reset_index()


def _inside(pts: pd.DataFrame, zones: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    xy = pts[["X", "Y"]].to_numpy(dtype=float)
    return {name: points_in_polygon(xy, poly) for name, poly in zones.items()}


def entries_exits(
    df: pd.DataFrame,
    zones: Mapping[str, Sequence[Point]] | None = None,
    *,
    anchor: str = "feet",
    frame_size: tuple[float, float] | None = None,
    max_gap_ms: float = DEFAULT_MAX_GAP_MS,
) -> pd.DataFrame:
    """When each person entered and left each zone (or the video).

    Parameters
    ----------
    df : pandas.DataFrame
        Results.
    zones : dict of name -> polygon, optional
        Polygons as lists of (x, y) vertices. Without zones, the events are appearing in
        and disappearing from the video, reported under the zone name ``"frame"``.
    anchor, frame_size, max_gap_ms
        As in :func:`trajectory_summary`.

    Returns
    -------
    pandas.DataFrame
        Columns Index, Zone, Event (``"enter"`` / ``"exit"``), Timestamp (ms), sorted by
        Timestamp, Index, Zone. A person enters at their first detection inside the zone
        (also when their track starts there) and exits at their first detection outside it
        — or at their last detection when their track ends or breaks inside the zone.
    """
    pts = _tracks(df, anchor, frame_size, max_gap_ms)
    inside = {"frame": np.ones(len(pts), bool)} if zones is None else _inside(pts, _zones(zones))
    return _events(pts, inside)


def _events(pts: pd.DataFrame, inside: dict[str, np.ndarray]) -> pd.DataFrame:
    """Enter and exit events of :func:`entries_exits` from tracks and zone membership."""
    t = pts["Timestamp"].to_numpy()
    idx = pts["Index"].to_numpy()
    start = pts["SegmentStart"].to_numpy()
    end = pts["SegmentEnd"].to_numpy()
    rows: list[tuple[int, str, str, int]] = []
    for name, ins in inside.items():
        prev = np.r_[False, ins[:-1]] & ~start
        nxt = np.r_[ins[1:], False] & ~end
        for k in np.flatnonzero(ins & ~prev):
            rows.append((int(idx[k]), name, "enter", int(t[k])))
        for k in np.flatnonzero(ins & ~nxt):
            # leaving between k and k+1 (next detection outside) or the track ends at k
            when = t[k] if end[k] else t[k + 1]
            rows.append((int(idx[k]), name, "exit", int(when)))
    out = pd.DataFrame(rows, columns=["Index", "Zone", "Event", "Timestamp"])
    out = out.astype({"Index": "int64", "Zone": object, "Event": object, "Timestamp": "int64"})
    order = out["Event"].map({"exit": 0, "enter": 1})
    out = out.assign(_o=order).sort_values(["Timestamp", "Index", "Zone", "_o"], kind="mergesort")
    return out.drop(columns="_o").reset_index(drop=True)


def zone_dwell(
    df: pd.DataFrame,
    zones: Mapping[str, Sequence[Point]],
    *,
    anchor: str = "feet",
    frame_size: tuple[float, float] | None = None,
    max_gap_ms: float = DEFAULT_MAX_GAP_MS,
) -> pd.DataFrame:
    """How long each person spent inside each polygon zone.

    Parameters
    ----------
    df : pandas.DataFrame
        Results.
    zones : dict of name -> polygon
        Polygons as lists of (x, y) vertices, in frame units (or pixels with
        ``frame_size``).
    anchor, frame_size, max_gap_ms
        As in :func:`trajectory_summary`.

    Returns
    -------
    pandas.DataFrame
        One row per person and zone (people never inside have DwellMs 0): Index, Zone,
        DwellMs, Entries, FirstEnterMs and LastExitMs (NaN when never inside). Sorted by
        Index, then zone order.

    Examples
    --------
    >>> import pandas as pd, persontrack as pt
    >>> from persontrack.analysis.analytics import *
    >>> df = pt.validate_frame(pd.DataFrame({"Timestamp": [0, 500, 1000], "Index": 0,
    ...     "Left": [0.1, 0.6, 0.6], "Top": 0.2, "Width": 0.1, "Height": 0.5}),
    ...     fill_missing=True)
    >>> right = {"right": [(0.5, 0), (1, 0), (1, 1), (0.5, 1)]}
    >>> zone_dwell(df, right)[["Zone", "DwellMs", "Entries"]].values.tolist()
    [['right', 500, 1]]
    """
    zs = _zones(zones)
    pts = _tracks(df, anchor, frame_size, max_gap_ms)
    inside = _inside(pts, zs)
    by_event = _events(pts, inside).groupby(["Index", "Zone", "Event"])["Timestamp"]
    entries, first_enter, last_exit = by_event.size(), by_event.min(), by_event.max()
    idx = pts["Index"].to_numpy()
    weight = pts["Weight"].to_numpy()
    rows = []
    for person in pd.unique(idx):
        mine = idx == person
        for name in zs:
            enter, leave = (int(person), name, "enter"), (int(person), name, "exit")
            rows.append(
                (
                    int(person),
                    name,
                    int(round(weight[mine & inside[name]].sum())),
                    int(entries.get(enter, 0)),
                    float(first_enter[enter]) if enter in first_enter.index else np.nan,
                    float(last_exit[leave]) if leave in last_exit.index else np.nan,
                )
            )
    cols = ["Index", "Zone", "DwellMs", "Entries", "FirstEnterMs", "LastExitMs"]
    out = pd.DataFrame(rows, columns=cols)
    return out.astype({"Index": "int64", "Zone": object, "DwellMs": "int64", "Entries": "int64"})


def line_crossings(
    df: pd.DataFrame,
    lines: Mapping[str, Sequence[Point]],
    *,
    anchor: str = "feet",
    frame_size: tuple[float, float] | None = None,
    max_gap_ms: float = DEFAULT_MAX_GAP_MS,
) -> pd.DataFrame:
    """Every time a person's path crosses a counting line, with direction.

    A step between two consecutive detections (within ``max_gap_ms``) crosses a line
    ``A -> B`` when it passes through the segment AB from one side to the other.

    Parameters
    ----------
    df : pandas.DataFrame
        Results.
    lines : dict of name -> ((xA, yA), (xB, yB))
        Counting lines, in frame units (or pixels with ``frame_size``).
    anchor, frame_size, max_gap_ms
        As in :func:`trajectory_summary`.

    Returns
    -------
    pandas.DataFrame
        Columns Index, Line, Timestamp (ms, linear interpolation between the two
        detections), Direction, X, Y (where the path crossed). ``Direction`` is +1 when the
        person moved the way ``A -> B`` turned 90 degrees clockwise on screen points (for a
        line drawn left to right that is moving down the image; for one drawn top to
        bottom, moving left) and -1 the other way. A detection exactly on the line counts
        as being on its -1 side. Sorted by Timestamp.
    """
    ls = _lines(lines)
    pts = _tracks(df, anchor, frame_size, max_gap_ms)
    xy = pts[["X", "Y"]].to_numpy(dtype=float)
    t = pts["Timestamp"].to_numpy(dtype=float)
    idx = pts["Index"].to_numpy()
    step = ~pts["SegmentStart"].to_numpy()  # step k-1 -> k exists
    rows = []
    for name, (a, b) in ls.items():
        d = b - a
        side = d[0] * (xy[:, 1] - a[1]) - d[1] * (xy[:, 0] - a[0])  # >0: clockwise side
        pos = side > 0
        k: Any = np.flatnonzero(step[1:] & (pos[1:] != pos[:-1])) + 1 if len(xy) > 1 else []
        for i in k:
            p, q = xy[i - 1], xy[i]
            # where the step meets the infinite line, then whether that is within AB
            u = side[i - 1] / (side[i - 1] - side[i]) if side[i - 1] != side[i] else 0.0
            hit = p + u * (q - p)
            along = np.dot(hit - a, d) / np.dot(d, d)
            if not 0.0 <= along <= 1.0:
                continue
            rows.append(
                (
                    int(idx[i]),
                    name,
                    t[i - 1] + u * (t[i] - t[i - 1]),
                    1 if pos[i] else -1,
                    float(hit[0]),
                    float(hit[1]),
                )
            )
    out = pd.DataFrame(rows, columns=["Index", "Line", "Timestamp", "Direction", "X", "Y"])
    out = out.astype({"Index": "int64", "Line": object, "Timestamp": float, "Direction": "int64"})
    return out.sort_values(["Timestamp", "Index"], kind="mergesort", ignore_index=True)


def crossing_counts(
    df: pd.DataFrame,
    lines: Mapping[str, Sequence[Point]],
    *,
    anchor: str = "feet",
    frame_size: tuple[float, float] | None = None,
    max_gap_ms: float = DEFAULT_MAX_GAP_MS,
) -> pd.DataFrame:
    """How many times each counting line was crossed, each way.

    Parameters and direction as in :func:`line_crossings`.

    Returns
    -------
    pandas.DataFrame
        One row per line, in the order given: Line, Forward (+1 crossings), Backward (-1
        crossings), Total, People (distinct Index values that crossed).

    Examples
    --------
    >>> import pandas as pd, persontrack as pt
    >>> from persontrack.analysis.analytics import *
    >>> df = pt.validate_frame(pd.DataFrame({"Timestamp": [0, 100, 200], "Index": 0,
    ...     "Left": [0.1, 0.5, 0.1], "Top": 0.1, "Width": 0.1, "Height": 0.5}),
    ...     fill_missing=True)
    >>> c = crossing_counts(df, {"door": [(0.4, 0), (0.4, 1)]})
    >>> c[["Forward", "Backward", "Total"]].values.tolist()
    [[1, 1, 2]]
    """
    ev = line_crossings(df, lines, anchor=anchor, frame_size=frame_size, max_gap_ms=max_gap_ms)
    rows = []
    for name in _lines(lines):
        mine = ev[ev["Line"] == name]
        fwd = int((mine["Direction"] > 0).sum())
        back = int((mine["Direction"] < 0).sum())
        rows.append((name, fwd, back, fwd + back, int(mine["Index"].nunique())))
    return pd.DataFrame(rows, columns=["Line", "Forward", "Backward", "Total", "People"])


def people_present(
    df: pd.DataFrame,
    *,
    bin_ms: int = 1000,
    zones: Mapping[str, Sequence[Point]] | None = None,
    anchor: str = "feet",
    frame_size: tuple[float, float] | None = None,
) -> pd.DataFrame:
    """How many people were present over time, in the video and in each zone.

    Parameters
    ----------
    df : pandas.DataFrame
        Results.
    bin_ms : int, default 1000
        Width of each time bin.
    zones : dict of name -> polygon, optional
        Also count the people inside each zone.
    anchor, frame_size
        As in :func:`trajectory_summary`.

    Returns
    -------
    pandas.DataFrame
        One row per bin from 0 to the last timestamp: Timestamp (bin start, ms), People
        (distinct Index values detected in the bin), then one column per zone (distinct
        Index values detected inside it in the bin).

    Examples
    --------
    >>> import pandas as pd, persontrack as pt
    >>> from persontrack.analysis.analytics import *
    >>> df = pt.validate_frame(pd.DataFrame({"Timestamp": [0, 500, 1500], "Index": [0, 1, 1],
    ...     "Left": 0.1, "Top": 0.1, "Width": 0.1, "Height": 0.5}), fill_missing=True)
    >>> people_present(df)["People"].tolist()
    [2, 1]
    """
    if isinstance(bin_ms, bool) or not isinstance(bin_ms, (int, np.integer)) or bin_ms < 1:
        raise InvalidParameterException(f"bin_ms must be an integer >= 1, got {bin_ms!r}")
    zs = _zones(zones) if zones is not None else {}
    frame = validate_frame(df, fill_missing=True)
    last = int(frame["Timestamp"].max()) if len(frame) else -1
    bins = np.arange(0, last + 1, bin_ms, dtype="int64")
    b = (frame["Timestamp"] // bin_ms) * bin_ms
    out = pd.DataFrame({"Timestamp": bins})
    out["People"] = frame.groupby(b)["Index"].nunique().reindex(bins, fill_value=0).to_numpy()
    if zs:
        pts = path_points(frame, anchor, frame_size=frame_size)
        pb = (pts["Timestamp"] // bin_ms) * bin_ms
        for name, inside in _inside(pts, zs).items():
            counts = pts.loc[inside].groupby(pb[inside])["Index"].nunique()
            out[name] = counts.reindex(bins, fill_value=0).to_numpy()
    return out.astype({c: "int64" for c in out.columns})
