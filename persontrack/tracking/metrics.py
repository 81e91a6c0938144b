"""Multi-object tracking scores (CLEAR MOTA, Identity IDF1, HOTA) as TrackEval computes them.

The input is what TrackEval's metrics see after a dataset's preprocessing: per timestep,
the ground-truth ids, the tracker ids and their IoU matrix. :func:`score_frames` follows
TrackEval 1.3.0's ``CLEAR``, ``Identity`` and ``HOTA`` ``eval_sequence`` (IoU >= 0.5
matches for CLEAR and Identity; per frame, continuing the previous match is preferred;
IDF1 from one global one-to-one matching of ids; HOTA averaged over the 19 IoU thresholds
0.05, 0.10, …, 0.95). tests/analysis/test_compare.py checks it against TrackEval itself.

Examples
--------
>>> import numpy as np
>>> from persontrack.tracking.metrics import score_frames
>>> one = (np.array([0]), np.array([5]), np.array([[1.0]]))
>>> r = score_frames([one, one])
>>> r["IDF1"], r["MOTA"], r["HOTA"], r["id_pairs"]
(100.0, 100.0, 100.0, [(0, 5)])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = ["HOTA_ALPHAS", "iou_xywh", "score_frames"]

HOTA_ALPHAS = np.arange(0.05, 0.99, 0.05)
"""The IoU thresholds HOTA is averaged over (TrackEval's ``array_labels``)."""

_EPS = np.finfo(float).eps

Frame = tuple[np.ndarray, np.ndarray, np.ndarray]
"""(ground-truth ids (G,), tracker ids (T,), IoU (G, T)) of one timestep."""


def iou_xywh(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box of ``a`` (N, 4) with every box of ``b`` (M, 4), boxes as x, y, w, h.

    Examples
    --------
    >>> from persontrack.tracking.metrics import iou_xywh
    >>> float(iou_xywh([[0, 0, 2, 2]], [[1, 0, 2, 2]])[0, 0])
    0.3333333333333333
    """
    a = np.asarray(a, dtype=float).reshape(-1, 4)
    b = np.asarray(b, dtype=float).reshape(-1, 4)
    a2 = a[:, None, :2] + a[:, None, 2:]
    b2 = b[None, :, :2] + b[None, :, 2:]
    wh = np.minimum(a2, b2) - np.maximum(a[:, None, :2], b[None, :, :2])
    inter = np.clip(wh[..., 0], 0, None) * np.clip(wh[..., 1], 0, None)
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def score_frames(frames: Sequence[Frame], threshold: float = 0.5) -> dict:
    """Score tracker ids against ground-truth ids, timestep by timestep.

    Parameters
    ----------
    frames : sequence of (gt_ids, tracker_ids, iou)
        One per timestep, in time order; ids are any integers, ``iou`` is (G, T).
    threshold : float, default 0.5
        IoU a tracker box needs to match a ground-truth box (CLEAR and Identity).

    Returns
    -------
    dict
        ``MOTA, IDF1, IDP, IDR, HOTA, DetA, AssA, LocA`` (percent), ``IDSW, TP, FN, FP,
        IDTP, GT_IDs, IDs`` (counts) and ``id_pairs``: the (gt id, tracker id) pairs of
        IDF1's global matching that share at least one matched box.
    """
    gt_ids = np.unique(np.concatenate([np.asarray(f[0]) for f in frames] or [np.zeros(0)]))
    tr_ids = np.unique(np.concatenate([np.asarray(f[1]) for f in frames] or [np.zeros(0)]))
    g_of = {int(v): i for i, v in enumerate(gt_ids)}
    t_of = {int(v): i for i, v in enumerate(tr_ids)}
    steps = []
    for g, t, sim in frames:
        gi = np.array([g_of[int(v)] for v in np.asarray(g)], dtype=np.int64)
        ti = np.array([t_of[int(v)] for v in np.asarray(t)], dtype=np.int64)
        steps.append((gi, ti, np.asarray(sim, dtype=float).reshape(len(gi), len(ti))))
    n_gt = sum(len(s[0]) for s in steps)
    n_tr = sum(len(s[1]) for s in steps)
    out = _clear(steps, len(gt_ids), len(tr_ids), n_gt, n_tr, threshold)
    idtp, pairs = _identity(steps, len(gt_ids), len(tr_ids), threshold)
    denom = n_gt + n_tr
    out.update(
        {
            "IDF1": 100.0 * 2 * idtp / denom if denom else 0.0,
            "IDP": 100.0 * idtp / n_tr if n_tr else 0.0,
            "IDR": 100.0 * idtp / n_gt if n_gt else 0.0,
            "IDTP": idtp,
            "GT_IDs": len(gt_ids),
            "IDs": len(tr_ids),
            "id_pairs": [(int(gt_ids[r]), int(tr_ids[c])) for r, c in pairs],
        }
    )
    out.update(_hota(steps, len(gt_ids), len(tr_ids), n_gt, n_tr))
    return out


def _clear(steps: list, n_g: int, n_t: int, n_gt: int, n_tr: int, threshold: float) -> dict:
    """CLEAR MOT: per-frame matching that prefers continuing the previous frame's match."""
    tp = idsw = 0
    prev = np.full(n_g, -1)  # tracker matched on the previous timestep
    last = np.full(n_g, -1)  # tracker matched most recently
    for gi, ti, sim in steps:
        cur = np.full(n_g, -1)
        if len(gi) and len(ti):
            score = 1000.0 * (prev[gi][:, None] == ti[None, :]) + sim
            score[sim < threshold - _EPS] = 0
            r, c = linear_sum_assignment(-score)
            ok = score[r, c] > _EPS
            mg, mt = gi[r[ok]], ti[c[ok]]
            idsw += int(np.sum((last[mg] >= 0) & (last[mg] != mt)))
            tp += len(mg)
            cur[mg] = mt
            last[mg] = mt
        prev = cur
    fn, fp = n_gt - tp, n_tr - tp
    return {
        "MOTA": 100.0 * (1 - (fn + fp + idsw) / n_gt) if n_gt else 0.0,
        "IDSW": idsw,
        "TP": tp,
        "FN": fn,
        "FP": fp,
    }


def _identity(steps: list, n_g: int, n_t: int, threshold: float) -> tuple[int, list]:
    """IDTP of the one-to-one id matching that maximises matched boxes, and its pairs."""
    counts = np.zeros((n_g, n_t))
    for gi, ti, sim in steps:
        if len(gi) and len(ti):
            counts[np.ix_(gi, ti)] += sim >= threshold
    if not (n_g and n_t):
        return 0, []
    r, c = linear_sum_assignment(-counts)
    keep = counts[r, c] > 0
    return int(counts[r, c].sum()), list(zip(r[keep].tolist(), c[keep].tolist(), strict=True))


def _hota(steps: list, n_g: int, n_t: int, n_gt: int, n_tr: int) -> dict:
    """HOTA, DetA, AssA, LocA (percent, averaged over :data:`HOTA_ALPHAS`)."""
    n_a = len(HOTA_ALPHAS)
    if n_tr == 0 or n_gt == 0:
        return {"HOTA": 0.0, "DetA": 0.0, "AssA": 0.0, "LocA": 100.0}
    potential = np.zeros((n_g, n_t))
    g_count = np.zeros((n_g, 1))
    t_count = np.zeros((1, n_t))
    for gi, ti, sim in steps:
        denom = sim.sum(0)[None, :] + sim.sum(1)[:, None] - sim
        mask = denom > _EPS
        part = np.zeros_like(sim)
        part[mask] = sim[mask] / denom[mask]
        potential[gi[:, None], ti[None, :]] += part
        g_count[gi] += 1
        t_count[0, ti] += 1
    alignment = potential / (g_count + t_count - potential)
    matches = np.zeros((n_a, n_g, n_t))
    tp, loc = np.zeros(n_a), np.zeros(n_a)
    for gi, ti, sim in steps:
        if not (len(gi) and len(ti)):
            continue
        r, c = linear_sum_assignment(-(alignment[gi[:, None], ti[None, :]] * sim))
        for a, alpha in enumerate(HOTA_ALPHAS):
            ok = sim[r, c] >= alpha - _EPS
            tp[a] += ok.sum()
            loc[a] += sim[r[ok], c[ok]].sum()
            np.add.at(matches[a], (gi[r[ok]], ti[c[ok]]), 1)
    fn, fp = n_gt - tp, n_tr - tp
    ass = np.array(
        [
            np.sum(m * m / np.maximum(1, g_count + t_count - m)) / max(1.0, tp[a])
            for a, m in enumerate(matches)
        ]
    )
    det = tp / np.maximum(1, tp + fn + fp)
    loca = np.maximum(1e-10, loc) / np.maximum(1e-10, tp)
    return {
        "HOTA": 100.0 * float(np.mean(np.sqrt(det * ass))),
        "DetA": 100.0 * float(np.mean(det)),
        "AssA": 100.0 * float(np.mean(ass)),
        "LocA": 100.0 * float(np.mean(loca)),
    }
