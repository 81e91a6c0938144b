"""The tracker's appearance stage: which crops to embed, ranking, veto, rescue, memory.

Pure functions over the tracker's arrays (tracks' unit appearance vectors ``feat``, NaN
where a track has none; their predicted boxes; the detections' embeddings), so each rule
is tested on its own (``tests/tracking/test_tracker.py``) and :class:`~persontrack.Tracker` calls
them in order. Settings come from :class:`~persontrack.tracking.config.TrackerConfig`.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..geometry import box_iou
from .config import CROWD_DISTANCE, RESCUE_MAX_CENTROID, TrackerConfig
from .costs import centroid_cost

__all__ = ["blend", "clear_to_motion", "crops_due", "gate_and_rank", "rescue", "unoccluded"]


def crops_due(
    p: TrackerConfig,
    pred: np.ndarray,
    boxes: np.ndarray,
    confirmed: np.ndarray,
    feat: np.ndarray,
    feat_ms: np.ndarray,
    t: float,
) -> np.ndarray:
    """(D,) which detections need an embedding (see :meth:`Tracker.appearance_due`).

    ``pred`` (T, 4) are the tracks' predictions at ``t``, ``confirmed`` (T,) which were
    seen on the previous update, ``feat_ms`` when each track's appearance was updated.
    """
    due = np.ones(len(boxes), dtype=bool)
    cost = np.asarray(p.cost_fn(pred, boxes), dtype=np.float64)
    own = cost.argmin(axis=0)  # the track each detection would most likely continue
    explained = cost[own, np.arange(len(boxes))] <= p.gate
    # Crowded: a second track or another detection within the crowd distance;
    # touching: a second track's or another detection's box overlaps.
    crowded = ((centroid_cost(pred, boxes) <= CROWD_DISTANCE).sum(axis=0) > 1) | (
        (centroid_cost(boxes, boxes) <= CROWD_DISTANCE).sum(axis=0) > 1
    )
    track_touch, det_touch = box_iou(pred, boxes) > 0, box_iou(boxes, boxes) > 0
    touching = (track_touch.sum(axis=0) > 1) | (det_touch.sum(axis=0) > 1)
    if p.appearance_clear_margin > 0 and touching.any():
        # Touching but settled by motion: waits for the crowd refresh.
        track_touch[own, np.arange(len(boxes))] = False
        touching &= ~clear_to_motion(p, cost, own, explained, track_touch, det_touch, confirmed)
    known = ~np.isnan(feat[own, 0]) if feat.shape[1] else np.zeros(len(own), bool)
    age = t - feat_ms[own]
    fresh = age <= np.where(crowded, p.appearance_crowd_refresh_ms, p.appearance_refresh_ms)
    due[explained & known & ~touching & fresh] = False
    return due


def clear_to_motion(
    p: TrackerConfig,
    cost: np.ndarray,
    own: np.ndarray,
    explained: np.ndarray,
    track_touch: np.ndarray,
    det_touch: np.ndarray,
    confirmed: np.ndarray,
) -> np.ndarray:
    """(D,) whether motion alone settles each detection, so appearance cannot matter.

    Its best track ``own`` is confirmed, and its (T, D) ``cost`` is lower by at
    least ``appearance_clear_margin`` than that of every other track for it and than
    that of every other detection for that track (costs above ``max_cost`` count as
    ``max_cost``: such pairs never match); no other lost or tentative track is within
    the gate or touches it (``track_touch``, (T, D) bool, False for ``own``): their
    predictions are guesses, the person may be coming back right there; and every
    detection its box touches (``det_touch``, (D, D) bool) is explained by a
    confirmed track (a newcomer beside a track is what appearance must tell apart).
    """
    c = np.minimum(cost, p.gate)
    cols = np.arange(c.shape[1])
    best = c[own, cols]
    # Another track for this detection, another detection for this track.
    others = c.copy()
    others[own, cols] = np.inf
    rival_track = others.min(axis=0, initial=np.inf)
    same_track = c[own]  # (D, D): each detection's best track against every detection
    same_track[cols, cols] = np.inf
    rival_det = same_track.min(axis=1, initial=np.inf)
    margin = p.appearance_clear_margin
    clear = (rival_track - best >= margin) & (rival_det - best >= margin)
    # Lost and tentative tracks' predictions are guesses.
    guess = ~confirmed
    clear &= ~guess[own]
    clear &= ~(guess[:, None] & ((others < p.gate) | track_touch)).any(axis=0)
    settled = explained & ~guess[own]
    touch = det_touch.copy()
    touch[cols, cols] = False
    clear &= ~(touch & ~settled[None, :]).any(axis=1)
    return np.asarray(clear)


def unoccluded(xyxy: np.ndarray, pred_xyxy: np.ndarray, limit: float) -> np.ndarray:
    """(N,) whether each box overlaps no other box, and at most one of the tracks'
    predicted boxes, by more than ``limit`` (IoU): the crop holds one person, even where
    the detector saw only one box around two."""
    out = (box_iou(pred_xyxy, xyxy) > limit).sum(axis=0) <= 1
    if len(xyxy) > 1:
        iou = box_iou(xyxy, xyxy)
        np.fill_diagonal(iou, 0.0)
        out &= iou.max(axis=1) <= limit
    return np.asarray(out)


def gate_and_rank(
    p: TrackerConfig,
    cost: np.ndarray,
    feat: np.ndarray,
    confirmed: np.ndarray,
    pred_xyxy: np.ndarray,
    emb: np.ndarray,
    clean: np.ndarray,
    xyxy: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Motion cost with unlike pairs vetoed, and the ranking cost mixing appearance.

    A pair is vetoed when the detection is unlike the track but like another track
    (predicted within ``veto_max_centroid`` body heights of it, for a track seen on the
    previous update: its motion is sure), and only for ``clean`` detections: the crop of
    a person behind a sign or another person looks unlike everyone.
    """
    dist = 1.0 - feat.astype(np.float64) @ emb.T.astype(np.float64)
    known = ~np.isnan(dist)
    gate = cost
    if p.max_appearance_distance < 2.0:
        unlike = known & (dist > p.max_appearance_distance)
        alike = known & ~unlike
        other = np.any(alike, axis=0)
        near = centroid_cost(pred_xyxy, xyxy) <= p.veto_max_centroid
        other_near = np.any(alike & near, axis=0)
        seen = confirmed[:, None]
        veto = unlike & clean[None, :] & np.where(seen, other_near[None, :], other[None, :])
        gate = np.where(veto, np.inf, cost)
    rank = np.where(known, (1 - p.appearance_weight) * cost + p.appearance_weight * dist, cost)
    return gate, rank


def rescue(
    p: TrackerConfig,
    feat: np.ndarray,
    pred_xyxy: np.ndarray,
    emb: np.ndarray,
    xyxy: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (track, detection) of the given tracks and detections alike and near: within
    ``rescue_max_distance`` in appearance and ``RESCUE_MAX_CENTROID`` body heights."""
    if not len(feat) or not len(xyxy):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    dist = 1.0 - feat.astype(np.float64) @ emb.T.astype(np.float64)
    near = centroid_cost(pred_xyxy, xyxy) <= RESCUE_MAX_CENTROID
    ok = near & (dist <= p.rescue_max_distance)  # False where NaN
    if not ok.any():
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    r, c = linear_sum_assignment(np.where(ok, dist, 10.0))
    good = ok[r, c]
    return r[good], c[good]


def blend(old: np.ndarray, e: np.ndarray, momentum: float) -> np.ndarray:
    """New unit appearances: ``m * old + (1 - m) * e`` renormalised, ``e`` where none."""
    fresh = np.isnan(old[:, 0])
    new = np.where(fresh[:, None], e, momentum * old + (1 - momentum) * e)
    new /= np.maximum(np.linalg.norm(new, axis=1, keepdims=True), 1e-12)
    return np.asarray(new)
