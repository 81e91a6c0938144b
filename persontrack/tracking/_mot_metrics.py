"""Small MOT Challenge scorer: IDF1, ID switches and MOTA, as TrackEval computes them.

Used by the tests to check tracking quality on real MOT17 data without a benchmark-only
dependency. It follows TrackEval's ``MotChallenge2DBox`` preprocessing (tracker boxes that
match a distractor — person on vehicle, static person, distractor, reflection — are
dropped; only ``consider == 1`` pedestrians are scored) and its CLEAR / Identity metrics
(IoU >= 0.5 matches; per frame, continuing the previous match is preferred; IDF1 from a
global one-to-one matching of ground-truth and tracker ids). TrackEval remains the
reference (benchmarks/tracker_mot17.py); this agrees with it on IDF1, IDSW and MOTA.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

DISTRACTOR_CLASSES = (2, 7, 8, 12)
"""MOT17 classes whose matched tracker boxes are not counted (TrackEval's list)."""

_EPS = np.finfo(float).eps


def _iou_xywh(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a2 = a[:, None, :2] + a[:, None, 2:]
    b2 = b[None, :, :2] + b[None, :, 2:]
    wh = np.minimum(a2, b2) - np.maximum(a[:, None, :2], b[None, :, :2])
    inter = np.clip(wh[..., 0], 0, None) * np.clip(wh[..., 1], 0, None)
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def score_mot(ground_truth: pd.DataFrame, tracks: pd.DataFrame, threshold: float = 0.5) -> dict:
    """Score MOT tracks against MOT17 ground truth.

    Parameters
    ----------
    ground_truth : pandas.DataFrame
        From :func:`persontrack.read_mot_ground_truth` (all rows, not only pedestrians).
    tracks : pandas.DataFrame
        Columns ``frame, id, x, y, w, h`` (e.g. from :func:`persontrack.track_mot_detections`).
    threshold : float, default 0.5
        IoU a tracker box needs to match a ground-truth box.

    Returns
    -------
    dict
        ``IDF1, IDP, IDR, MOTA`` (percent), ``IDSW, IDTP, TP, FN, FP, GT_IDs, IDs``.
    """
    frames = sorted(set(ground_truth["frame"]).union(tracks["frame"]))
    g_by_f = {f: d for f, d in ground_truth.groupby("frame")}
    t_by_f = {f: d for f, d in tracks.groupby("frame")}
    empty_g = ground_truth.iloc[:0]
    empty_t = tracks.iloc[:0]

    per_frame = []  # (gt ids, tracker ids, similarity) after preprocessing
    for f in frames:
        g = g_by_f.get(f, empty_g)
        t = t_by_f.get(f, empty_t)
        gb = g[["x", "y", "w", "h"]].to_numpy(float)
        tb = t[["x", "y", "w", "h"]].to_numpy(float)
        sim = _iou_xywh(gb, tb)
        keep_t = np.ones(len(t), dtype=bool)
        if len(g) and len(t):
            s = np.where(sim >= threshold - _EPS, sim, 0.0)
            r, c = linear_sum_assignment(-s)
            ok = s[r, c] > _EPS
            r, c = r[ok], c[ok]
            distractor = np.isin(g["class"].to_numpy()[r], DISTRACTOR_CLASSES)
            keep_t[c[distractor]] = False
        keep_g = (g["consider"].to_numpy() != 0) & (g["class"].to_numpy() == 1)
        per_frame.append(
            (
                g["id"].to_numpy()[keep_g],
                t["id"].to_numpy()[keep_t],
                sim[np.ix_(keep_g, keep_t)],
            )
        )

    gt_ids = np.unique(np.concatenate([p[0] for p in per_frame] or [np.zeros(0)]))
    tr_ids = np.unique(np.concatenate([p[1] for p in per_frame] or [np.zeros(0)]))
    g_index = {int(v): i for i, v in enumerate(gt_ids)}
    t_index = {int(v): i for i, v in enumerate(tr_ids)}
    n_gt = sum(len(p[0]) for p in per_frame)
    n_tr = sum(len(p[1]) for p in per_frame)

    # CLEAR: per-frame matching that prefers continuing the previous match.
    tp = idsw = 0
    prev = np.full(len(gt_ids), -1)  # tracker index matched on the previous frame
    last = np.full(len(gt_ids), -1)  # tracker index matched most recently
    counts = np.zeros((len(gt_ids), len(tr_ids)))
    for gids, tids, sim in per_frame:
        gi = np.array([g_index[int(v)] for v in gids], dtype=np.int64)
        ti = np.array([t_index[int(v)] for v in tids], dtype=np.int64)
        if len(gi) and len(ti):
            counts[np.ix_(gi, ti)] += sim >= threshold - _EPS
        cur = np.full(len(gt_ids), -1)
        if len(gi) and len(ti):
            score = 1000.0 * (prev[gi][:, None] == ti[None, :]) + sim
            score[sim < threshold - _EPS] = 0
            r, c = linear_sum_assignment(-score)
            ok = score[r, c] > _EPS
            r, c = r[ok], c[ok]
            mg, mt = gi[r], ti[c]
            idsw += int(np.sum((last[mg] >= 0) & (last[mg] != mt)))
            tp += len(mg)
            cur[mg] = mt
            last[mg] = mt
        prev = cur
    fn = n_gt - tp
    fp = n_tr - tp

    # Identity: one-to-one matching of ids maximising frames matched.
    if len(gt_ids) and len(tr_ids):
        r, c = linear_sum_assignment(-counts)
        idtp = int(counts[r, c].sum())
    else:
        idtp = 0
    denom = n_gt + n_tr
    return {
        "IDF1": 100.0 * 2 * idtp / denom if denom else 0.0,
        "IDP": 100.0 * idtp / n_tr if n_tr else 0.0,
        "IDR": 100.0 * idtp / n_gt if n_gt else 0.0,
        "MOTA": 100.0 * (1 - (fn + fp + idsw) / n_gt) if n_gt else 0.0,
        "IDSW": idsw,
        "IDTP": idtp,
        "TP": tp,
        "FN": fn,
        "FP": fp,
        "GT_IDs": len(gt_ids),
        "IDs": len(tr_ids),
    }
