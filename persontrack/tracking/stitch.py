"""Stitch the tracks of consecutive time segments so each person keeps one Index.

A long video is tracked in segments that each start ``overlap`` milliseconds before
their own span (a warm-up the segment's tracker uses to find the people already in
view). In that overlap both segments saw the same frames: a track of the later segment
whose boxes lie on a track of the earlier one, frame after frame, is the same person
and takes its Index. A track that matches none there but starts after a person of an
earlier segment was last seen (a person hidden behind another across the boundary) takes
that person's Index when :func:`~persontrack.tracking.postprocess.link_tracks` would join
the two within one segment with appearance: within its ``max_gap_ms``, reachable at its
``max_speed``, sizes alike and appearances within ``max_appearance_distance`` (the
segments' results carry each track's mean appearance). Other tracks get new Indexes,
numbered by first sighting.

Examples
--------
Two segments that saw one person walking; the second numbered it 5 on its own:

>>> import pandas as pd
>>> from persontrack.tracking.stitch import Stitcher
>>> def rows(ts, index):
...     return pd.DataFrame({"Timestamp": ts, "Index": index, "Left": [t / 1e4 for t in ts],
...                          "Top": 0.1, "Width": 0.2, "Height": 0.5})
>>> s = Stitcher()
>>> s.add(rows([0, 40, 80, 120], [0] * 4), start_ms=0)["Index"].tolist()
[0, 0, 0, 0]
>>> s.add(rows([40, 80, 120, 160], [5] * 4), start_ms=160)["Index"].tolist()
[0]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from .postprocess import (
    MAX_APPEARANCE_DISTANCE,
    MAX_GAP_MS,
    MAX_HEIGHT_RATIO,
    MAX_SPEED,
    POSITION_TOLERANCE,
    _reachable_on_foot,
    _sizes_alike,
)

_BOX = ["Left", "Top", "Width", "Height"]

MIN_OVERLAP_SCORE = 0.5
"""Least overlap score for two tracks to be one person.

The score of a pair is the sum of their boxes' IoU over the overlap's timestamps divided
by the number of timestamps of the shorter of the two tracks there: 1.0 when the two
agree frame by frame wherever the shorter one has a box. Both segments run the same
detector on the same frames, so the same person's boxes coincide (IoU ≈ 1); two
different people rarely share boxes for half the time. Dividing by the shorter track
(not by the union of both) keeps a pair whose earlier track ends inside the overlap, or
whose later track starts there (a person the fresh tracker confirms only late). On the
MOT17 training sequences (``benchmarks/segments_mot17.py``, 10-s segments, 2-s overlap)
this gave combined IDF1 −0.96 from tracking whole, against −1.18 dividing by the union;
thresholds 0.3–0.7 gave −0.96 to −1.02.
"""
MIN_COMMON_TIMESTAMPS = 1
"""Least timestamps where both tracks have a box for them to be paired.

Sparse sampling (``every_n_frames``) leaves few analysed frames in an overlap: on the
sample video at every 3rd frame, in 2-s segments, a person entering late in an overlap
had fewer than 3 common frames, and requiring 3 split them in two (1 gives the whole
run's three people). On MOT17 (every frame) requiring 1, 2 or 3
gave the same IDF1: the score threshold alone keeps different people apart.
"""


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of boxes ``(n, 4)`` as left, top, width, height; row by row."""
    ax2, ay2 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3]
    bx2, by2 = b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    w = np.clip(np.minimum(ax2, bx2) - np.maximum(a[:, 0], b[:, 0]), 0, None)
    h = np.clip(np.minimum(ay2, by2) - np.maximum(a[:, 1], b[:, 1]), 0, None)
    inter = w * h
    union = a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def match_tracks(
    earlier: pd.DataFrame,
    later: pd.DataFrame,
    *,
    min_score: float = MIN_OVERLAP_SCORE,
    min_common: int = MIN_COMMON_TIMESTAMPS,
) -> dict[int, int]:
    """Pair the tracks two segments saw in their common frames.

    Parameters
    ----------
    earlier, later : pandas.DataFrame
        Rows (``Timestamp``, ``Index``, ``Left``, ``Top``, ``Width``, ``Height``) of the
        two segments over the same time span.
    min_score : float
        See :data:`MIN_OVERLAP_SCORE`.
    min_common : int
        See :data:`MIN_COMMON_TIMESTAMPS`.

    Returns
    -------
    dict
        ``{later Index: earlier Index}`` for the pairs that are one person (one to one).

    Examples
    --------
    >>> import pandas as pd
    >>> a = pd.DataFrame({"Timestamp": [0, 0, 40, 40, 80, 80], "Index": [1, 2] * 3,
    ...                   "Left": [0.1, 0.6] * 3, "Top": 0.2, "Width": 0.2, "Height": 0.5})
    >>> b = a.assign(Index=[9, 8] * 3)
    >>> match_tracks(a, b)
    {9: 1, 8: 2}
    """
    if earlier.empty or later.empty:
        return {}
    box = ["Left", "Top", "Width", "Height"]
    both = earlier[["Timestamp", "Index", *box]].merge(
        later[["Timestamp", "Index", *box]], on="Timestamp", suffixes=("_a", "_b")
    )
    a_ids = np.unique(earlier["Index"].to_numpy())
    b_ids = np.unique(later["Index"].to_numpy())
    score = np.zeros((len(a_ids), len(b_ids)))
    if len(both):
        iou = _iou(
            both[[f"{c}_a" for c in box]].to_numpy(float),
            both[[f"{c}_b" for c in box]].to_numpy(float),
        )
        ia = np.searchsorted(a_ids, both["Index_a"].to_numpy())
        ib = np.searchsorted(b_ids, both["Index_b"].to_numpy())
        np.add.at(score, (ia, ib), iou)
    # normalise by the timestamps where either track has a box
    a_len = earlier.groupby("Index")["Timestamp"].nunique().reindex(a_ids).to_numpy()
    b_len = later.groupby("Index")["Timestamp"].nunique().reindex(b_ids).to_numpy()
    common = np.zeros_like(score)
    if len(both):
        np.add.at(common, (ia, ib), 1.0)
    shorter = np.minimum(a_len[:, None], b_len[None, :])
    score = np.where(common >= min_common, score / np.maximum(shorter, 1), 0.0)
    # Among acceptable pairs, the assignment weighs each frame's agreement by how late in
    # the overlap it is: a later segment's fresh tracker may swap two people crossing
    # early in its warm-up, and what counts is whom its track follows into the segment's
    # own span. (pedestrian_survaillance.mp4 in 4 segments, benchmarks/segments_video.py:
    # a track agreeing with one person for his last 6 frames, ratio 1.0, then with another
    # for 22 frames, ratio 0.8, had taken the first one's Index.) On MOT17
    # (benchmarks/segments_mot17.py) the combined IDF1 is unchanged (-0.96 from whole).
    agree = np.zeros_like(score)
    if len(both):
        times = both["Timestamp"].to_numpy()
        lo, hi = times.min(), times.max()
        np.add.at(agree, (ia, ib), iou * (times - lo + 1.0) / (hi - lo + 1.0))
    agree = np.where(score >= min_score, agree, 0.0)
    rows, cols = linear_sum_assignment(-agree)
    return {
        int(b_ids[c]): int(a_ids[r])
        for r, c in zip(rows, cols, strict=True)
        if score[r, c] >= min_score
    }


def link_by_appearance(
    ended: pd.DataFrame,
    started: pd.DataFrame,
    *,
    aspect: float = 1.0,
    max_gap_ms: float = MAX_GAP_MS,
    max_distance: float = MAX_APPEARANCE_DISTANCE,
    max_speed: float = MAX_SPEED,
    position_tolerance: float = POSITION_TOLERANCE,
    max_height_ratio: float = MAX_HEIGHT_RATIO,
) -> dict[int, int]:
    """Pair tracks that started with tracks that ended before them and look alike.

    Parameters
    ----------
    ended, started : pandas.DataFrame
        One row per track: ``Index``, ``Timestamp`` (of the last box of ``ended``, the
        first of ``started``), that box's ``Left, Top, Width, Height`` (fractions of the
        frame) and ``Appearance`` (unit vector).
    aspect : float
        The frame's width over its height (distances are measured in frame heights).
    max_gap_ms, max_distance, max_speed, position_tolerance, max_height_ratio : float
        As ``max_gap_ms``, ``max_appearance_distance``, ``max_speed``,
        ``position_tolerance`` and ``max_height_ratio`` of
        :func:`~persontrack.tracking.postprocess.link_tracks` (its defaults).

    Returns
    -------
    dict
        ``{started Index: ended Index}``, one to one, least appearance distance first.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> box = {"Top": 0.2, "Width": 0.1, "Height": 0.4}
    >>> ended = pd.DataFrame({"Index": [3, 4], "Timestamp": 1000, "Left": [0.2, 0.6],
    ...                       "Appearance": [np.array([1.0, 0.0]), np.array([0.0, 1.0])], **box})
    >>> started = pd.DataFrame({"Index": [9], "Timestamp": 2000, "Left": [0.3],
    ...                         "Appearance": [np.array([0.1, 0.995])], **box})
    >>> link_by_appearance(ended, started)
    {9: 4}
    """
    if ended.empty or started.empty:
        return {}

    def centre(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        h = df["Height"].to_numpy(float)
        cx = (df["Left"].to_numpy(float) + df["Width"].to_numpy(float) / 2) * aspect
        return cx, df["Top"].to_numpy(float) + h / 2, h

    ax, ay, ah = centre(ended)
    bx, by, bh = centre(started)
    t_end, t_start = ended["Timestamp"].to_numpy(float), started["Timestamp"].to_numpy(float)
    dt = (t_start[None, :] - t_end[:, None]) / 1000.0
    walk = np.hypot(bx[None, :] - ax[:, None], by[None, :] - ay[:, None])
    h_a, h_b = ah[:, None], bh[None, :]
    reachable = _reachable_on_foot(walk, dt, h_a, h_b, position_tolerance, max_speed)
    sizes = _sizes_alike(h_a, h_b, max_height_ratio)
    a_app = np.stack(ended["Appearance"].to_list())
    b_app = np.stack(started["Appearance"].to_list())
    dist = 1.0 - a_app @ b_app.T
    ok = (dt > 0) & (dt * 1000.0 <= max_gap_ms) & reachable & sizes & (dist <= max_distance)
    cost = np.where(ok, dist, max_distance + 1.0)
    rows, cols = linear_sum_assignment(cost)
    a_ids, b_ids = ended["Index"].to_numpy(), started["Index"].to_numpy()
    return {int(b_ids[c]): int(a_ids[r]) for r, c in zip(rows, cols, strict=True) if ok[r, c]}


class Stitcher:
    """Gives the segments of one video, added in time order, one set of Indexes.

    Parameters
    ----------
    min_score : float
        See :data:`MIN_OVERLAP_SCORE`.

    Notes
    -----
    It keeps only the rows from the last segment's warm-up on, so memory does not grow
    with the video's length.
    """

    def __init__(self, *, min_score: float = MIN_OVERLAP_SCORE) -> None:
        self.min_score = min_score
        self.next_index = 0
        self._tail: pd.DataFrame | None = None
        # each final Index's last box and appearance, for tracks that end and come back
        self._ends = pd.DataFrame(columns=["Index", "Timestamp", *_BOX, "Appearance"])

    def add(
        self,
        rows: pd.DataFrame,
        *,
        start_ms: int,
        end_ms: int | None = None,
        appearance: Mapping[int, np.ndarray] | None = None,
        aspect: float = 1.0,
    ) -> pd.DataFrame:
        """Rows of the next segment, with their final Index, from ``start_ms`` on.

        Parameters
        ----------
        rows : pandas.DataFrame
            The segment's results (Indexes of its own), including its warm-up rows
            before ``start_ms`` (the overlap with the previous segment).
        start_ms : int
            The first timestamp this segment owns; earlier rows are only matched.
        end_ms : int, optional
            The first timestamp the next segment owns; the rows from there on are
            dropped (the next segment reports them) but kept for matching.
        appearance : dict, optional
            ``{Index: unit vector}`` of the segment's tracks (its own Indexes); without
            it, tracks are stitched by their boxes in the overlap only.
        aspect : float
            The frame's width over its height.

        Returns
        -------
        pandas.DataFrame
            A new frame: the rows in ``[start_ms, end_ms)``, Index renumbered.
        """
        ts = rows["Timestamp"].to_numpy()
        warm = rows[ts < start_ms]
        mapping: dict[int, int] = {}
        tail = None
        if self._tail is not None:
            first = warm["Timestamp"].min() if len(warm) else start_ms
            tail = self._tail[
                (self._tail["Timestamp"] >= first) & (self._tail["Timestamp"] < start_ms)
            ]
            if len(warm):
                mapping = match_tracks(tail, warm, min_score=self.min_score)
        own = rows[(ts >= start_ms) & (ts < end_ms if end_ms is not None else True)]
        if appearance:
            mapping.update(self._link_returning(rows, own, mapping, appearance, aspect))
        # tracks met for the first time take new Indexes by first sighting
        first = own.groupby("Index", sort=False)["Timestamp"].min().sort_values(kind="mergesort")
        for local in first.index:
            if int(local) not in mapping:
                mapping[int(local)] = self.next_index
                self.next_index += 1
        self.next_index = max([self.next_index, *[v + 1 for v in mapping.values()]])
        out = own.assign(Index=own["Index"].map(mapping).astype("int64")).reset_index(drop=True)
        # what the next segment's warm-up will be matched against: the rows from this
        # warm-up's start on with final Indexes, earlier segments' before ``start_ms``
        # (a person hidden at the end of this segment's span was seen by an earlier one)
        # and this one's after it (tracks seen only in the dropped tail are numbered there)
        after = rows[ts >= start_ms]
        known = after["Index"].map(mapping)
        mine = after[known.notna()].assign(Index=known[known.notna()].astype("int64"))
        self._tail = mine if tail is None else pd.concat([tail, mine], ignore_index=True)
        self._remember_ends(rows, mapping, appearance)
        return out

    def _link_returning(
        self,
        rows: pd.DataFrame,
        own: pd.DataFrame,
        mapping: dict[int, int],
        appearance: Mapping[int, np.ndarray],
        aspect: float,
    ) -> dict[int, int]:
        """``{local Index: final Index}`` for own tracks unmatched in the overlap that are
        a person last seen earlier (:func:`link_by_appearance`)."""
        new = [i for i in pd.unique(own["Index"]) if int(i) not in mapping and int(i) in appearance]
        if not new or self._ends.empty:
            return {}
        by_time = rows.sort_values("Timestamp", kind="mergesort")
        started = by_time[by_time["Index"].isin(new)].groupby("Index", sort=False).head(1)
        started = started[["Index", "Timestamp", *_BOX]].assign(
            Appearance=[np.asarray(appearance[int(i)], float) for i in started["Index"]]
        )
        # a person this segment continues (matched in the overlap) was last seen where
        # its matched tracks end here
        ended = self._ends.set_index("Index")
        matched = by_time[by_time["Index"].isin(list(mapping))]
        last = matched.groupby("Index").tail(1)
        for _, r in last.iterrows():
            final = mapping[int(r["Index"])]
            if final in ended.index and r["Timestamp"] > ended.at[final, "Timestamp"]:
                ended.loc[final, ["Timestamp", *_BOX]] = [r["Timestamp"], *r[_BOX]]
        return link_by_appearance(ended.reset_index(), started, aspect=aspect)

    def _remember_ends(
        self,
        rows: pd.DataFrame,
        mapping: dict[int, int],
        appearance: Mapping[int, np.ndarray] | None,
    ) -> None:
        """Note each final Index's last box in ``rows`` and its appearance."""
        known = rows["Index"].map(mapping)
        seen = rows[known.notna()].assign(Index=known[known.notna()].astype("int64"))
        last = seen.sort_values("Timestamp", kind="mergesort").groupby("Index").tail(1)
        old = self._ends.set_index("Index")
        app = {mapping[int(k)]: v for k, v in (appearance or {}).items() if int(k) in mapping}
        keep: dict[int, dict[str, Any]] = {int(i): dict(r) for i, r in old.iterrows()}
        for _, r in last.iterrows():
            i = int(r["Index"])
            prev = keep.get(i)
            vector = prev["Appearance"] if prev is not None else None
            if vector is None and i in app:
                vector = np.asarray(app[i], float)
            if prev is None or r["Timestamp"] >= prev["Timestamp"]:
                keep[i] = {"Timestamp": r["Timestamp"], **{c: r[c] for c in _BOX}}
            keep[i]["Appearance"] = vector
        newest = max((float(v["Timestamp"]) for v in keep.values()), default=0.0)
        self._ends = pd.DataFrame(
            [
                {"Index": i, **v}
                for i, v in keep.items()
                if v.get("Appearance") is not None and newest - float(v["Timestamp"]) <= MAX_GAP_MS
            ],
            columns=["Index", "Timestamp", *_BOX, "Appearance"],
        )
