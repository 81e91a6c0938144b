"""Small MOT Challenge scorer: IDF1, ID switches and MOTA, as TrackEval computes them.

Used by the tests to check tracking quality on real MOT17 data without a benchmark-only
dependency. It follows TrackEval's ``MotChallenge2DBox`` preprocessing (tracker boxes that
match a distractor — person on vehicle, static person, distractor, reflection — are
dropped; only ``consider == 1`` pedestrians are scored) and its CLEAR / Identity metrics
scored by :func:`persontrack.tracking.metrics.score_frames`. TrackEval remains the
reference (benchmarks/tracker_mot17.py); this agrees with it on IDF1, IDSW and MOTA.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from .metrics import iou_xywh, score_frames

DISTRACTOR_CLASSES = (2, 7, 8, 12)
"""MOT17 classes whose matched tracker boxes are not counted (TrackEval's list)."""

_EPS = np.finfo(float).eps


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
        ``IDF1, IDP, IDR, MOTA, HOTA, DetA, AssA, LocA`` (percent), ``IDSW, IDTP, TP, FN,
        FP, GT_IDs, IDs`` (see :func:`~persontrack.tracking.metrics.score_frames`).
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
        sim = iou_xywh(gb, tb)
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

    scores = score_frames(per_frame, threshold)
    return {k: v for k, v in scores.items() if k != "id_pairs"}
