"""Hungarian matching and box-format helpers of the tracker's hot path."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

_EMPTY = np.zeros(0, dtype=np.int64)


def _match(
    cost: np.ndarray,
    track_rows: np.ndarray,
    det_cols: np.ndarray,
    gate: float,
    rank: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Hungarian matching of a block of the cost matrix; pairs above ``gate`` never match.

    With ``rank`` (same shape as ``cost``), the pairs within the gate are chosen to
    minimise ``rank`` instead of ``cost``.
    """
    if len(track_rows) == 0 or len(det_cols) == 0:
        return _EMPTY, _EMPTY
    sub = cost[np.ix_(track_rows, det_cols)]
    ok = sub <= gate  # False for NaN
    if rank is None:
        sub = np.where(ok, sub, gate + 1.0)
    else:
        r_sub = rank[np.ix_(track_rows, det_cols)]
        big = (float(r_sub[ok].max()) if ok.any() else 0.0) + gate + 1.0
        sub = np.where(ok, r_sub, big)
    r, c = linear_sum_assignment(sub)
    good = ok[r, c]
    return track_rows[r[good]], det_cols[c[good]]


def _merged_boxes(
    pred_xyxy: np.ndarray,
    det_xyxy: np.ndarray,
    counted: np.ndarray,
    containment: float,
    min_area: float,
) -> np.ndarray:
    """(D,) whether each detection is one box around two or more of the predicted boxes.

    A detection is merged when it holds at least ``containment`` of the area of two or
    more ``counted`` predictions (a bool mask over them) while its area is at least
    ``min_area`` times each of theirs (bigger than either person, it is neither of
    them), and holds no prediction of about its own size (less than ``min_area`` times
    smaller: that person's own box, around people standing behind them).
    """
    if len(pred_xyxy) < 2 or not len(det_xyxy):
        return np.zeros(len(det_xyxy), dtype=bool)
    held, smaller = _holding(pred_xyxy, det_xyxy, containment, min_area)
    two = (held & smaller & counted[:, None]).sum(axis=0) >= 2
    return np.asarray(two & ~(held & ~smaller).any(axis=0))


def _holding(
    pred_xyxy: np.ndarray, det_xyxy: np.ndarray, containment: float, min_area: float
) -> tuple[np.ndarray, np.ndarray]:
    """(T, D) whether each detection holds at least ``containment`` of each predicted
    box's area, and whether it is at least ``min_area`` times that box's area."""
    p, d = pred_xyxy[:, None, :], det_xyxy[None, :, :]
    iw = np.clip(np.minimum(p[..., 2], d[..., 2]) - np.maximum(p[..., 0], d[..., 0]), 0, None)
    ih = np.clip(np.minimum(p[..., 3], d[..., 3]) - np.maximum(p[..., 1], d[..., 1]), 0, None)
    area_p = np.maximum((p[..., 2] - p[..., 0]) * (p[..., 3] - p[..., 1]), 1e-9)
    area_d = (d[..., 2] - d[..., 0]) * (d[..., 3] - d[..., 1])
    return iw * ih >= containment * area_p, area_d >= min_area * area_p


def _to_cxcywh(xyxy: np.ndarray) -> np.ndarray:
    return np.column_stack(
        [
            (xyxy[:, 0] + xyxy[:, 2]) / 2,
            (xyxy[:, 1] + xyxy[:, 3]) / 2,
            xyxy[:, 2] - xyxy[:, 0],
            xyxy[:, 3] - xyxy[:, 1],
        ]
    )


def _to_xyxy(cxcywh: np.ndarray) -> np.ndarray:
    half = cxcywh[:, 2:4] / 2
    return np.concatenate([cxcywh[:, 0:2] - half, cxcywh[:, 0:2] + half], axis=1)
