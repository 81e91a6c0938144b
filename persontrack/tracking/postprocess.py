"""Offline clean-up of finished tracks: link fragments, fill gaps.

An online tracker decides at every frame with what it has seen so far. When a whole
video is analysed, the future is known too, and two common errors can be fixed after
the fact:

- :func:`link_tracks` joins fragments of one person: a track that was lost (the person
  was hidden or missed by the detector for a few seconds) and a track born later, when
  the motion at the end of the first, the motion at the start of the second and the
  straight path between them agree, and the box sizes match. Fragments are paired by a
  global one-to-one assignment (Hungarian method), like AFLink. Given appearance
  embeddings, fragments that look unlike are not joined, and a person who left the view
  (or stood behind something) for up to minutes is joined to their later fragment when
  the two look alike beyond doubt.
- :func:`interpolate_tracks` adds boxes on the frames a track misses, linearly between
  the boxes on either side, for gaps up to ``max_gap_ms``;
  :func:`smooth_tracks` then takes the frame-to-frame jitter out of the boxes (the two
  together are a simple form of GSI, Gaussian-smoothed interpolation).

All three work on MOT rows (``frame, id, x, y, w, h, conf``; pixels, 1-based frames) as
:func:`persontrack.track_mot_detections` returns, and never modify their input.

Examples
--------
>>> import pandas as pd, persontrack.tracking.postprocess as pp
>>> rows = [(f, 1 if f < 10 else 2, 100.0 + 5 * f, 50.0, 40.0, 100.0, 0.9)
...         for f in range(1, 21) if not 10 <= f < 14]
>>> df = pd.DataFrame(rows, columns=["frame", "id", "x", "y", "w", "h", "conf"])
>>> out = pp.interpolate_tracks(pp.link_tracks(df, frame_rate=30), frame_rate=30)
>>> out["id"].unique().tolist(), len(out)
([1], 20)
>>> out.loc[out["frame"] == 11, ["x", "conf"]].values.tolist()
[[155.0, -1.0]]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ..errors import InvalidParameterException
from ..geometry import box_iou

__all__ = [
    "INTERPOLATED_CONFIDENCE",
    "interpolate_tracks",
    "link_tracks",
    "smooth_tracks",
    "track_appearance",
]

INTERPOLATED_CONFIDENCE = -1.0
"""``conf`` of the boxes :func:`interpolate_tracks` adds (MOT's "no score")."""

MAX_GAP_MS = 8000.0
"""Default ``max_gap_ms`` of :func:`link_tracks` (also used to stitch segments)."""
POSITION_TOLERANCE = 0.3
"""Default ``position_tolerance`` of :func:`link_tracks`."""
MAX_HEIGHT_RATIO = 1.3
"""Default ``max_height_ratio`` of :func:`link_tracks`."""
MAX_APPEARANCE_DISTANCE = 0.4
"""Default ``max_appearance_distance`` of :func:`link_tracks`."""
MAX_SPEED = 1.5
"""Default ``max_speed`` of :func:`link_tracks`."""
APPEARANCE_MAX_OVERLAP = 0.3
"""Default ``appearance_max_overlap`` of :func:`link_tracks`."""
BLIP_MAX_MS = 500.0
"""Default ``blip_max_ms`` of :func:`link_tracks`."""

_COLUMNS = ("frame", "id", "x", "y", "w", "h")


def link_tracks(
    tracks: pd.DataFrame,
    frame_rate: float,
    *,
    max_gap_ms: float = MAX_GAP_MS,
    velocity_window_ms: float = 1000.0,
    position_tolerance: float = POSITION_TOLERANCE,
    velocity_tolerance: float = 0.1,
    max_height_ratio: float = MAX_HEIGHT_RATIO,
    max_cost: float = 1.0,
    embeddings: np.ndarray | None = None,
    max_appearance_distance: float = MAX_APPEARANCE_DISTANCE,
    max_speed: float = MAX_SPEED,
    reentry_max_gap_ms: float = 300000.0,
    reentry_appearance_distance: float = 0.2,
    appearance_weight: float = 0.5,
    appearance_max_overlap: float = APPEARANCE_MAX_OVERLAP,
    blip_max_ms: float = BLIP_MAX_MS,
    blip_min_iou: float = 0.5,
    join_interleaved: bool = True,
) -> pd.DataFrame:
    """Give one id to track fragments that are the same person.

    For every pair of tracks A, B where B starts after A ends, within ``max_gap_ms``,
    A's end is extrapolated forward with its velocity over its last
    ``velocity_window_ms`` and B's start backward with its own; the cost is the larger
    of the two misses, in mean box heights, over the tolerance ``position_tolerance +
    velocity_tolerance * gap_seconds`` (a prediction drifts with time). Pairs whose box
    heights differ by more than ``max_height_ratio`` or whose cost exceeds ``max_cost``
    are never linked; among the rest, a global one-to-one assignment (Hungarian) picks
    the links of least total cost, and chains A → B → C become one id (A's).

    Parameters
    ----------
    tracks : pandas.DataFrame
        MOT rows: columns ``frame`` (int), ``id`` and ``x, y, w, h`` (pixels), any other
        columns kept as they are. One row per id and frame. Not modified.
    frame_rate : float
        Frames per second, to turn frame numbers into time.
    max_gap_ms : float, default 8000.0
        Longest time between A's last and B's first box that may be bridged.
    velocity_window_ms : float, default 1000.0
        A fragment's end (start) velocity is the least-squares slope of its box centres
        over this much time at its end (start); a fragment seen once has velocity 0.
    position_tolerance : float, default 0.3
        Miss, in box heights, that costs 1 for a gap of zero.
    velocity_tolerance : float, default 0.1
        Growth of the tolerated miss per second of gap, in box heights per second.
    max_height_ratio : float, default 1.3
        Largest ratio of A's last and B's first box height that may be linked. With
        appearance, pairs that look alike (``max_appearance_distance``) may instead agree
        by their median heights over ``velocity_window_ms``: a fragment often ends on a
        box cut short by the person in front (on PETS09-S2L1 that kept a man's Index
        through a crossing; MOT17, motion only, is unchanged).
    max_cost : float, default 1.0
        Pairs costlier than this are never linked.
    embeddings : numpy.ndarray, optional
        (len(tracks), D) appearance embedding of each row (unit vectors, NaN rows for
        none), e.g. from :class:`~persontrack.vision.reid.AppearanceEmbedder`. A
        fragment's appearance is the normalised mean of its embeddings. Without them,
        linking is by motion only and the settings below are unused.
    max_appearance_distance : float, default 0.4
        Motion-consistent pairs whose appearances are farther apart (cosine distance)
        than this are not linked; among the rest the cost becomes ``(1 - w) * cost + w *
        distance / max_appearance_distance``. Pairs within ``max_gap_ms`` whose motion
        does not agree (the person turned or stopped while hidden) but who could have
        walked from A's end to B's start (``max_speed``) are linked when they are this
        alike, at cost ``max_cost * distance / max_appearance_distance``.
    max_speed : float, default 1.5
        Fastest a person is taken to move while unseen, in body heights per second
        (walking is about 0.8, running about 2), for the rule above.
    reentry_max_gap_ms : float, default 300000.0
        Re-entry: a pair that motion does not explain (the person left the view or
        stood hidden and came back elsewhere) may still be linked across a gap of up to
        this long (5 minutes) when their appearances are within
        ``reentry_appearance_distance``. Identity is never carried further: the longer
        the gap, the likelier another person looks alike.
    reentry_appearance_distance : float, default 0.2
        Cosine distance of fragment appearances below which a re-entry is linked. On
        PETS09-S2L1 (0277 model) fragments of one person are 0.05-0.2 apart, the closest
        two different people about 0.25 (benchmarks/tracking_pets09.py).
    appearance_weight : float, default 0.5
        ``w`` above.
    appearance_max_overlap : float, default 0.3
        A row's embedding counts towards its fragment's appearance only when its box
        overlaps no other box of the same frame by more than this IoU (the crop of a
        person half hidden behind another is partly the other person).
    blip_max_ms : float, default 500.0
        Last, a fragment left on its own that lasts at most this long and falls in a gap
        of a linked id, on the straight path between that id's boxes on either side of
        the gap (each box's IoU with the path's box at least ``blip_min_iou``), takes
        that id: the detector saw the person for a moment while they were hidden, too
        briefly (or behind something that spoilt the crops) to be linked by motion or
        looks. On PETS09-S2L1 a man passing a lamp post was seen for 2 frames between his
        fragments (2 ID switches). 0 turns it off.
    blip_min_iou : float, default 0.5
        See ``blip_max_ms``.
    join_interleaved : bool, default True
        With appearance: after the assignment, two ids never seen in the same frame are
        one when a link between their fragments that motion and looks both allow lost
        the one-to-one assignment (a person who leaves and comes back twice: each return
        linked to the previous exit, the two chains taking turns). On PETS09-S2L1 with
        the detector at 768 px one man's four fragments made two such chains (3 ID
        switches); joining them took identity IDF1 from 84.9 to 90.3. MOT17 (no
        embeddings) is unchanged.

    Returns
    -------
    pandas.DataFrame
        The rows of ``tracks`` with ``id`` replaced by the id of the first fragment of
        each chain, sorted by frame then id, index 0..n-1.

    Raises
    ------
    InvalidParameterException
        Missing columns, or a setting out of range.

    Examples
    --------
    >>> import pandas as pd
    >>> walk = [(f, 1 if f <= 10 else 7, 10.0 * f, 0.0, 40.0, 100.0) for f in range(1, 21)]
    >>> df = pd.DataFrame(walk, columns=["frame", "id", "x", "y", "w", "h"])
    >>> link_tracks(df.drop(index=[10, 11]), frame_rate=30)["id"].unique().tolist()
    [1]
    """
    fps = _check(tracks, frame_rate, "link_tracks")
    max_gap = _non_negative("link_tracks", "max_gap_ms", max_gap_ms) / 1000.0 * fps
    window = _non_negative("link_tracks", "velocity_window_ms", velocity_window_ms) / 1000.0
    pos_tol = _positive("link_tracks", "position_tolerance", position_tolerance)
    vel_tol = _non_negative("link_tracks", "velocity_tolerance", velocity_tolerance)
    ratio = _positive("link_tracks", "max_height_ratio", max_height_ratio)
    gate = _positive("link_tracks", "max_cost", max_cost)
    if ratio < 1.0:
        raise InvalidParameterException("link_tracks: max_height_ratio must be >= 1")
    app_gate = _positive("link_tracks", "max_appearance_distance", max_appearance_distance)
    reentry_gap = (
        _non_negative("link_tracks", "reentry_max_gap_ms", reentry_max_gap_ms) / 1000.0 * fps
    )
    reentry_dist = _non_negative(
        "link_tracks", "reentry_appearance_distance", reentry_appearance_distance
    )
    w_app = _non_negative("link_tracks", "appearance_weight", appearance_weight)
    speed = _non_negative("link_tracks", "max_speed", max_speed)
    overlap = _non_negative("link_tracks", "appearance_max_overlap", appearance_max_overlap)
    if w_app > 1.0:
        raise InvalidParameterException("link_tracks: appearance_weight must be in [0, 1]")
    blip = _non_negative("link_tracks", "blip_max_ms", blip_max_ms) / 1000.0 * fps
    if not _is_real(blip_min_iou) or not 0.0 < blip_min_iou <= 1.0:
        raise InvalidParameterException(
            f"link_tracks: blip_min_iou must be in (0, 1], got {blip_min_iou!r}"
        )
    emb = None
    if embeddings is not None:
        emb = np.asarray(embeddings, dtype=np.float64)
        if emb.ndim != 2 or len(emb) != len(tracks):
            raise InvalidParameterException(
                f"link_tracks: embeddings must be ({len(tracks)}, D), got {emb.shape}"
            )
    else:
        reentry_gap = 0.0

    order = np.lexsort((tracks["frame"].to_numpy(), tracks["id"].to_numpy()))
    df = tracks.iloc[order]
    ids, frame, box = _arrays(df)
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    ends = np.r_[starts[1:], len(ids)]
    n = len(starts)
    if n < 2:
        return _sorted(tracks)
    # Stages: fragment ends, candidate pairs, motion cost, appearance, assignment, chains.
    ends_ = _fragment_ends(frame, box, starts, ends, fps, window)
    src, dst = _candidate_pairs(ends_, max(max_gap, reentry_gap))
    g = _Gates(max_gap, pos_tol, vel_tol, ratio, gate, app_gate, reentry_dist, w_app, speed)
    cost, ok, sizes_agree, within_gap = _motion_pairs(ends_, src, dst, g)
    walked = np.zeros(len(ok), dtype=bool)
    if emb is not None:
        app = _fragment_appearance(emb[order], _unoccluded(df, overlap), starts, ends)
        cost, ok, walked = _appearance_pairs(ends_, src, dst, app, g, cost, sizes_agree, within_gap)
    nxt = _assign(src[ok], dst[ok], cost[ok], n, unmatched=gate + 1.0)
    track_ids = ids[starts]
    new_id, linked_to = _follow_chains(track_ids, nxt)
    if join_interleaved:
        _join_interleaved(new_id, src[walked], dst[walked], nxt, starts, ends, frame)
        linked_to = linked_to | {k for k in range(n) if new_id[k] != track_ids[k]}
    if blip > 0:
        alone = [k for k in range(n) if k not in nxt and k not in linked_to]
        _absorb_blips(new_id, alone, starts, ends, frame, box, blip, blip_min_iou)
    mapping = pd.Series(new_id, index=track_ids)
    out = tracks.copy()
    out["id"] = tracks["id"].map(mapping).astype(tracks["id"].dtype)
    return _sorted(out)


@dataclass(frozen=True)
class _Gates:
    """:func:`link_tracks`' checked settings (gaps in frames)."""

    max_gap: float
    pos_tol: float
    vel_tol: float
    ratio: float
    gate: float
    app_gate: float
    reentry_dist: float
    w_app: float
    speed: float


@dataclass(frozen=True)
class _Ends:
    """Each fragment's first and last box: (t, cx, cy, h, frame), centre velocities and
    median heights over the velocity window."""

    head: np.ndarray
    tail: np.ndarray
    v_head: np.ndarray
    v_tail: np.ndarray
    h_head: np.ndarray
    h_tail: np.ndarray


def _fragment_ends(
    frame: np.ndarray, box: np.ndarray, starts: np.ndarray, ends: np.ndarray,
    fps: float, window: float,
) -> _Ends:  # fmt: skip
    """Stage 1: where and how each fragment starts and ends."""
    n = len(starts)
    cx = box[:, 0] + box[:, 2] / 2
    cy = box[:, 1] + box[:, 3] / 2
    t = frame / fps
    head, tail = np.empty((n, 5)), np.empty((n, 5))
    v_head, v_tail = np.empty((n, 2)), np.empty((n, 2))
    h_head, h_tail = np.empty(n), np.empty(n)
    for k, (a, b) in enumerate(zip(starts, ends, strict=True)):
        first = slice(a, a + int(np.searchsorted(t[a:b], t[a] + window, side="right")))
        last = slice(a + int(np.searchsorted(t[a:b], t[b - 1] - window)), b)
        # Heights: the median over the window, as a fragment often ends (and starts) on
        # a box cut short by the person or the thing in front.
        head[k] = t[a], cx[a], cy[a], box[a, 3], frame[a]
        tail[k] = t[b - 1], cx[b - 1], cy[b - 1], box[b - 1, 3], frame[b - 1]
        h_head[k] = np.median(box[first, 3])  # heights over the velocity window
        h_tail[k] = np.median(box[last, 3])
        v_head[k] = _slope(t[first], cx[first], cy[first])
        v_tail[k] = _slope(t[last], cx[last], cy[last])
    return _Ends(head, tail, v_head, v_tail, h_head, h_tail)


def _candidate_pairs(e: _Ends, max_gap: float) -> tuple[np.ndarray, np.ndarray]:
    """Stage 2: pairs (A, B) where A ends before B starts, within ``max_gap`` frames (B
    sorted by start, so no all-against-all matrix: long videos have many tracks)."""
    n = len(e.head)
    by_start = np.argsort(e.head[:, 4], kind="stable")
    lo = np.searchsorted(e.head[by_start, 4], e.tail[:, 4] + 0.5)
    hi = np.searchsorted(e.head[by_start, 4], e.tail[:, 4] + max_gap + 1e-9, side="right")
    counts = np.maximum(hi - lo, 0)
    src = np.repeat(np.arange(n), counts)
    dst = by_start[np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts - lo, counts)]
    return src, dst


def _motion_pairs(
    e: _Ends, src: np.ndarray, dst: np.ndarray, g: _Gates
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Stage 3: each pair's motion cost, whether motion links it, sizes agree, and the
    gap is within ``max_gap``."""
    head, tail = e.head, e.tail
    dt = head[dst, 0] - tail[src, 0]
    h_a, h_b = tail[src, 3], head[dst, 3]
    # A's end extrapolated forward and B's start backward must each land on the other.
    forward = np.hypot(
        tail[src, 1] + e.v_tail[src, 0] * dt - head[dst, 1],
        tail[src, 2] + e.v_tail[src, 1] * dt - head[dst, 2],
    )
    backward = np.hypot(
        head[dst, 1] - e.v_head[dst, 0] * dt - tail[src, 1],
        head[dst, 2] - e.v_head[dst, 1] * dt - tail[src, 2],
    )
    cost = np.maximum(forward, backward) / ((h_a + h_b) / 2) / (g.pos_tol + g.vel_tol * dt)
    sizes_agree = _sizes_alike(h_a, h_b, g.ratio)
    within_gap = head[dst, 4] - tail[src, 4] <= g.max_gap + 1e-9
    ok = (cost <= g.gate) & sizes_agree & within_gap
    return cost, ok, sizes_agree, within_gap


def _appearance_pairs(
    e: _Ends, src: np.ndarray, dst: np.ndarray, app: np.ndarray, g: _Gates,
    cost: np.ndarray, sizes_agree: np.ndarray, within_gap: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Stage 4: appearance vetoes unlike motion links, mixes into the cost, and adds the
    turned (reachable on foot, alike) and re-entry (alike beyond doubt) pairs. Returns
    the cost, the linkable pairs and those where motion and looks agree."""
    head, tail = e.head, e.tail
    dt = head[dst, 0] - tail[src, 0]
    h_a, h_b = tail[src, 3], head[dst, 3]
    gate, app_gate = g.gate, g.app_gate
    dist = 1.0 - np.sum(app[src] * app[dst], axis=1)  # NaN where either has none
    known = ~np.isnan(dist)
    alike = known & (dist <= app_gate)
    # A fragment often ends (or starts) on a box cut short by whoever is in front:
    # when the two look alike, their heights may also agree over the velocity window.
    m_a, m_b = e.h_tail[src], e.h_head[dst]
    sizes_agree = sizes_agree | alike & _sizes_alike(m_a, m_b, g.ratio)
    ok = (cost <= gate) & sizes_agree & within_gap & (~known | alike)
    walked = ok & alike  # motion and looks agree
    cost = np.where(known, (1 - g.w_app) * cost + g.w_app * gate * dist / app_gate, cost)
    # Reachable on foot within the gap and alike: the person turned while hidden.
    walk = np.hypot(head[dst, 1] - tail[src, 1], head[dst, 2] - tail[src, 2])
    reachable = _reachable_on_foot(walk, dt, h_a, h_b, g.pos_tol, g.speed)
    turned = ~ok & known & within_gap & sizes_agree & reachable & (dist <= app_gate)
    cost = np.where(turned, gate * dist / app_gate, cost)
    ok = ok | turned
    # Re-entry: motion cannot explain the pair, appearance leaves no doubt.
    reentry = ~ok & known & (dist <= g.reentry_dist)
    cost = np.where(reentry, gate * dist / max(g.reentry_dist, 1e-9), cost)
    return cost, ok | reentry, walked


def _sizes_alike(h_a: np.ndarray, h_b: np.ndarray, ratio: float) -> np.ndarray:
    """Whether two heights are within ``ratio`` of each other (shared with the stitcher)."""
    return np.asarray(np.maximum(h_a, h_b) <= ratio * np.maximum(np.minimum(h_a, h_b), 1e-6))


def _reachable_on_foot(
    walk: np.ndarray, dt: np.ndarray, h_a: np.ndarray, h_b: np.ndarray,
    position_tolerance: float, max_speed: float,
) -> np.ndarray:  # fmt: skip
    """Whether a centre ``walk`` apart (same units as the heights) can be covered in
    ``dt`` seconds at ``max_speed`` body heights a second, give or take
    ``position_tolerance`` heights: the re-entry rule of :func:`link_tracks` and of the
    segment stitcher (:func:`persontrack.tracking.stitch.link_by_appearance`)."""
    return np.asarray(walk <= (position_tolerance + max_speed * dt) * (h_a + h_b) / 2)


def _follow_chains(track_ids: np.ndarray, nxt: dict[int, int]) -> tuple[np.ndarray, set]:
    """Stage 6: each fragment's new id, following chains from fragments nobody links to;
    and the fragments linked to."""
    new_id = track_ids.copy()
    linked_to = set(nxt.values())
    for k in range(len(track_ids)):
        if k in linked_to:
            continue
        j = k
        while j in nxt:
            j = nxt[j]
            new_id[j] = track_ids[k]
    return new_id, linked_to


def track_appearance(
    tracks: pd.DataFrame,
    embeddings: np.ndarray,
    *,
    max_overlap: float = APPEARANCE_MAX_OVERLAP,
) -> dict[int, np.ndarray]:
    """Each id's appearance, as :func:`link_tracks` sees a fragment's.

    Parameters
    ----------
    tracks : pandas.DataFrame
        MOT rows (``frame, id, x, y, w, h``). Not modified.
    embeddings : numpy.ndarray
        (len(tracks), D) embedding of each row (unit vectors, NaN rows for none).
    max_overlap : float
        See ``appearance_max_overlap`` of :func:`link_tracks`.

    Returns
    -------
    dict
        ``{id: unit vector}``: the normalised mean of the id's embeddings whose boxes
        overlap no other box of their frame by more than ``max_overlap``; ids without
        such an embedding are left out.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> df = pd.DataFrame({"frame": [1, 2, 1], "id": [1, 1, 2], "x": [0.0, 0.0, 100.0],
    ...                    "y": 0.0, "w": 10.0, "h": 20.0})
    >>> app = track_appearance(df, np.array([[1.0, 0.0], [0.0, 1.0], [np.nan, np.nan]]))
    >>> sorted(app), np.round(app[1], 3).tolist()
    ([1], [0.707, 0.707])
    """
    emb = np.asarray(embeddings, dtype=np.float64)
    if emb.ndim != 2 or len(emb) != len(tracks):
        raise InvalidParameterException(
            f"track_appearance: embeddings must be ({len(tracks)}, D), got {emb.shape}"
        )
    if not len(tracks):
        return {}
    order = np.lexsort((tracks["frame"].to_numpy(), tracks["id"].to_numpy()))
    df = tracks.iloc[order]
    ids = df["id"].to_numpy()
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    ends = np.r_[starts[1:], len(ids)]
    app = _fragment_appearance(emb[order], _unoccluded(df, max_overlap), starts, ends)
    return {int(ids[a]): app[k] for k, a in enumerate(starts) if not np.isnan(app[k]).any()}


def interpolate_tracks(
    tracks: pd.DataFrame,
    frame_rate: float,
    *,
    max_gap_ms: float = 3000.0,
) -> pd.DataFrame:
    """Fill the frames a track misses with boxes interpolated linearly.

    Parameters
    ----------
    tracks : pandas.DataFrame
        MOT rows: columns ``frame`` (int), ``id``, ``x, y, w, h`` (pixels) and
        optionally ``conf``. One row per id and frame. Not modified.
    frame_rate : float
        Frames per second, to turn frame numbers into time.
    max_gap_ms : float, default 3000.0
        Gaps longer than this (from the last box before to the first box after) are
        left empty: the longer a person is unseen, the less a straight line says where
        they are. 0 adds nothing.

    Returns
    -------
    pandas.DataFrame
        ``tracks`` plus one row per filled frame (``conf`` =
        :data:`INTERPOLATED_CONFIDENCE`; other extra columns NaN), sorted by frame then
        id, index 0..n-1.

    Raises
    ------
    InvalidParameterException
        Missing columns, or a setting out of range.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"frame": [1, 4], "id": [1, 1], "x": [0.0, 30.0], "y": 0.0,
    ...                    "w": 10.0, "h": 20.0, "conf": 0.9})
    >>> interpolate_tracks(df, frame_rate=30)[["frame", "x", "conf"]].values.tolist()
    [[1.0, 0.0, 0.9], [2.0, 10.0, -1.0], [3.0, 20.0, -1.0], [4.0, 30.0, 0.9]]
    """
    fps = _check(tracks, frame_rate, "interpolate_tracks")
    max_gap = _non_negative("interpolate_tracks", "max_gap_ms", max_gap_ms) / 1000.0 * fps
    df = tracks.sort_values(["id", "frame"], kind="stable")
    ids, frame, box = _arrays(df)
    if len(ids) < 2:
        return _sorted(tracks)
    step = np.diff(frame)
    fill = np.flatnonzero((ids[1:] == ids[:-1]) & (step > 1) & (step <= max_gap + 1e-9))
    if len(fill) == 0:
        return _sorted(tracks)
    counts = (step[fill] - 1).astype(np.int64)
    before = np.repeat(fill, counts)
    # Position of each new frame inside its gap: 1, 2, …, count.
    offset = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts) + 1
    frac = (offset / step[before])[:, None]
    new_box = box[before] + frac * (box[before + 1] - box[before])
    new_frame = frame[before] + offset
    added = pd.DataFrame(
        {
            "frame": new_frame.astype(df["frame"].dtype),
            "id": ids[before].astype(df["id"].dtype),
            "x": new_box[:, 0],
            "y": new_box[:, 1],
            "w": new_box[:, 2],
            "h": new_box[:, 3],
        }
    )
    if "conf" in tracks.columns:
        added["conf"] = INTERPOLATED_CONFIDENCE
    return _sorted(pd.concat([tracks, added], ignore_index=True))


def smooth_tracks(
    tracks: pd.DataFrame,
    frame_rate: float,
    *,
    sigma_ms: float = 40.0,
) -> pd.DataFrame:
    """Smooth every track's boxes over time with a Gaussian kernel.

    Detections jitter from frame to frame around the person; averaging each box with
    its neighbours in time gives boxes closer to the person. Each run of consecutive
    frames of a track is smoothed on its own, its ends padded by point reflection: the
    first and last box of a run stay as they are, and straight, steady motion is kept
    exactly. Run it after :func:`interpolate_tracks`, whose filled
    boxes join the runs on either side.

    Parameters
    ----------
    tracks : pandas.DataFrame
        MOT rows: columns ``frame`` (int), ``id`` and ``x, y, w, h`` (pixels), any other
        columns kept as they are. One row per id and frame. Not modified.
    frame_rate : float
        Frames per second, to turn ``sigma_ms`` into frames.
    sigma_ms : float, default 40.0
        Standard deviation of the kernel (about one frame at 25-30 fps). 0 changes
        nothing.

    Returns
    -------
    pandas.DataFrame
        ``tracks`` with smoothed ``x, y, w, h``, sorted by frame then id, index 0..n-1.

    Raises
    ------
    InvalidParameterException
        Missing columns, or a setting out of range.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"frame": [1, 2, 3, 4], "id": 1, "x": [10.0, 22.0, 28.0, 40.0],
    ...                    "y": 0.0, "w": 10.0, "h": 20.0})
    >>> smooth_tracks(df, frame_rate=25)["x"].round(1).tolist()
    [10.0, 20.2, 29.8, 40.0]
    """
    fps = _check(tracks, frame_rate, "smooth_tracks")
    sigma = _non_negative("smooth_tracks", "sigma_ms", sigma_ms) / 1000.0 * fps
    radius = int(math.ceil(3 * sigma))
    if radius == 0 or len(tracks) < 2:
        return _sorted(tracks)
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    df = tracks.sort_values(["id", "frame"], kind="stable")
    ids, frame, box = _arrays(df)
    breaks = np.flatnonzero((ids[1:] != ids[:-1]) | (np.diff(frame) != 1)) + 1
    out = box.copy()
    for a, b in zip(np.r_[0, breaks], np.r_[breaks, len(ids)], strict=True):
        if b - a < 3:
            continue
        pad = min(radius, b - a - 1)
        run = np.pad(box[a:b], ((pad, pad), (0, 0)), mode="reflect", reflect_type="odd")
        k = kernel[radius - pad : radius + pad + 1]
        k = k / k.sum()
        for c in range(4):
            out[a:b, c] = np.convolve(run[:, c], k, mode="valid")
    result = df.copy()
    result[["x", "y", "w", "h"]] = out
    return _sorted(result)


# ----------------------------------------------------------------------------- helpers


def _assign(
    a: np.ndarray, b: np.ndarray, cost: np.ndarray, n: int, unmatched: float
) -> dict[int, int]:
    """Least-cost one-to-one links ``a -> b`` among candidate pairs (Hungarian).

    Pairs that are not candidates cost ``unmatched``. Solved separately on each connected
    group of candidates, so the matrices stay small however many tracks there are.
    """
    if len(a) == 0:
        return {}
    graph = coo_matrix((np.ones(len(a)), (a, n + b)), shape=(2 * n, 2 * n))
    _, label = connected_components(graph, directed=False)
    group = label[a]
    order = np.argsort(group, kind="stable")
    bounds = np.flatnonzero(np.diff(group[order])) + 1
    links: dict[int, int] = {}
    for sel in np.split(order, bounds):
        rows, r_idx = np.unique(a[sel], return_inverse=True)
        cols, c_idx = np.unique(b[sel], return_inverse=True)
        sub = np.full((len(rows), len(cols)), unmatched)
        sub[r_idx, c_idx] = cost[sel]
        real = np.zeros(sub.shape, dtype=bool)
        real[r_idx, c_idx] = True
        r, c = linear_sum_assignment(sub)
        good = real[r, c]
        links.update(zip(rows[r[good]].tolist(), cols[c[good]].tolist(), strict=True))
    return links


def _join_interleaved(
    new_id: np.ndarray,
    src: np.ndarray,
    dst: np.ndarray,
    nxt: dict[int, int],
    starts: np.ndarray,
    ends: np.ndarray,
    frame: np.ndarray,
) -> None:
    """Join ids (in place) that a link of alike, motion-consistent fragments left apart
    (it lost the one-to-one assignment to another link) and that never share a frame."""
    frames: dict[object, set[float]] = {}
    for k, c in enumerate(new_id.tolist()):
        frames.setdefault(c, set()).update(frame[starts[k] : ends[k]].tolist())
    for a, b in zip(src.tolist(), dst.tolist(), strict=True):
        ia, ib = new_id[a], new_id[b]
        if nxt.get(a) == b or ia == ib or frames[ia.item()] & frames[ib.item()]:
            continue
        keep, gone = (ia, ib) if ia < ib else (ib, ia)
        new_id[new_id == gone] = keep
        frames[keep.item()] |= frames.pop(gone.item())


def _absorb_blips(
    new_id: np.ndarray,
    alone: list[int],
    starts: np.ndarray,
    ends: np.ndarray,
    frame: np.ndarray,
    box: np.ndarray,
    max_frames: float,
    min_iou: float,
) -> None:
    """Give short lone fragments the id whose gap they fill on its path (in place).

    ``frame``, ``box`` (x, y, w, h) are sorted by fragment, then frame; fragment ``k``
    is rows ``starts[k]:ends[k]`` and has id ``new_id[k]``.
    """
    blips = [k for k in alone if frame[ends[k] - 1] - frame[starts[k]] <= max_frames + 1e-9]
    if not blips:
        return
    members: dict[object, list[int]] = {}
    for k, c in enumerate(new_id.tolist()):
        members.setdefault(c, []).append(k)
    chains = {}
    for c, ks in members.items():
        rows = np.concatenate([np.arange(starts[k], ends[k]) for k in ks])
        chains[c] = rows[np.argsort(frame[rows], kind="stable")]
    for k in blips:
        own = np.arange(starts[k], ends[k])
        first, last = frame[own[0]], frame[own[-1]]
        best, best_iou = None, min_iou
        for c, rows in chains.items():
            if c == new_id[k] or len(members[c]) < 2:
                continue  # only ids linked from fragments have gaps to fill
            f = frame[rows]
            before = np.searchsorted(f, first) - 1
            after = np.searchsorted(f, last, side="right")
            if before < 0 or after >= len(f) or after != before + 1:
                continue  # no gap of that id around the fragment
            a, b = rows[before], rows[after]
            share = ((frame[own] - frame[a]) / (frame[b] - frame[a]))[:, None]
            path = box[a] + share * (box[b] - box[a])
            xyxy = np.column_stack([path[:, :2], path[:, :2] + path[:, 2:]])
            mine = np.column_stack([box[own, :2], box[own, :2] + box[own, 2:]])
            iou = float(np.diag(box_iou(mine, xyxy)).min())
            if iou >= best_iou:
                best, best_iou = c, iou
        if best is not None:
            new_id[k] = best


def _unoccluded(df: pd.DataFrame, overlap: float) -> np.ndarray:
    """(len(df),) whether each row's box overlaps no other box of its frame by > overlap."""
    frame = df["frame"].to_numpy()
    xyxy = df[["x", "y", "w", "h"]].to_numpy(dtype=np.float64).copy()
    xyxy[:, 2:] += xyxy[:, :2]
    out = np.ones(len(df), dtype=bool)
    by_frame = np.argsort(frame, kind="stable")
    cuts = np.flatnonzero(np.diff(frame[by_frame])) + 1
    for rows in np.split(by_frame, cuts):
        if len(rows) > 1:
            iou = box_iou(xyxy[rows], xyxy[rows])
            np.fill_diagonal(iou, 0.0)
            out[rows] = iou.max(axis=1) <= overlap
    return out


def _fragment_appearance(
    emb: np.ndarray, clean: np.ndarray, starts: np.ndarray, ends: np.ndarray
) -> np.ndarray:
    """(n, D) normalised mean of each fragment's unoccluded embeddings; NaN rows for none."""
    out = np.full((len(starts), emb.shape[1]), np.nan)
    for k, (a, b) in enumerate(zip(starts, ends, strict=True)):
        e = emb[a:b][clean[a:b]]
        e = e[~np.isnan(e).any(axis=1)]
        if len(e):
            m = e.mean(axis=0)
            out[k] = m / max(float(np.linalg.norm(m)), 1e-12)
    return out


def _slope(t: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares velocity of (x, y) over time t; 0 with fewer than two times."""
    if len(t) < 2:
        return 0.0, 0.0
    tc = t - t.mean()
    var = float(tc @ tc)
    if var <= 0:
        return 0.0, 0.0
    return float(tc @ x) / var, float(tc @ y) / var


def _arrays(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ids = df["id"].to_numpy()
    frame = df["frame"].to_numpy(dtype=np.float64)
    box = df[["x", "y", "w", "h"]].to_numpy(dtype=np.float64)
    return ids, frame, box


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(["frame", "id"], kind="stable").reset_index(drop=True)


def _check(tracks: object, frame_rate: object, where: str) -> float:
    if not isinstance(tracks, pd.DataFrame):
        raise InvalidParameterException(
            f"{where}: tracks must be a pandas DataFrame, got {type(tracks).__name__}"
        )
    missing = [c for c in _COLUMNS if c not in tracks.columns]
    if missing:
        raise InvalidParameterException(f"{where}: tracks lacks columns {missing}")
    if tracks.duplicated(["id", "frame"]).any():
        raise InvalidParameterException(f"{where}: tracks has more than one row per id and frame")
    return _positive(where, "frame_rate", frame_rate)


def _is_real(value: object) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _non_negative(where: str, name: str, value: object) -> float:
    if not _is_real(value) or not 0.0 <= float(value) < math.inf:  # type: ignore[arg-type]
        raise InvalidParameterException(f"{where}: {name} must be a finite number >= 0")
    return float(value)  # type: ignore[arg-type]


def _positive(where: str, name: str, value: object) -> float:
    if not _is_real(value) or not 0.0 < float(value) < math.inf:  # type: ignore[arg-type]
        raise InvalidParameterException(f"{where}: {name} must be a finite number > 0")
    return float(value)  # type: ignore[arg-type]
