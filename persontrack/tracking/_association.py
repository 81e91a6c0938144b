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
