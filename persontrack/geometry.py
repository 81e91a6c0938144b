"""Box geometry shared by the detector, the face analyser and the tracker: the one place
that computes how boxes overlap.

Boxes are ``[x1, y1, x2, y2]`` arrays in any one unit (pixels or ratios).

Examples
--------
>>> import numpy as np, persontrack as pt
>>> boxes = np.array([[0.0, 0, 10, 10], [1.0, 1, 10, 10], [20.0, 20, 30, 30]])
>>> pt.nms(boxes, np.array([0.9, 0.8, 0.7]), iou_threshold=0.5).tolist()
[0, 2]
"""

from __future__ import annotations

import numpy as np


def box_intersection(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Area shared by every box in ``a`` with every box in ``b``: (N, M), in ``a``'s dtype.

    Examples
    --------
    >>> import numpy as np
    >>> box_intersection(np.array([[0.0, 0, 2, 2]]), np.array([[1.0, 0, 3, 2], [5.0, 5, 6, 6]]))
    array([[2., 0.]])
    """
    iw = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    ih = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    return np.clip(iw, 0, None) * np.clip(ih, 0, None)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of every box in ``a`` with every box in ``b``.

    Parameters
    ----------
    a, b : numpy.ndarray
        (N, 4) and (M, 4) boxes ``[x1, y1, x2, y2]``.

    Returns
    -------
    numpy.ndarray
        (N, M) IoU in [0, 1].

    Examples
    --------
    >>> import numpy as np, persontrack as pt
    >>> pt.box_iou(np.array([[0.0, 0, 2, 2]]), np.array([[1.0, 0, 3, 2]])).round(3).tolist()
    [[0.333]]
    """
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    inter = box_intersection(a, b)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy non-maximum suppression.

    Parameters
    ----------
    boxes : numpy.ndarray
        (N, 4) boxes.
    scores : numpy.ndarray
        (N,) scores; higher is kept first.
    iou_threshold : float
        A box overlapping an already kept box by more than this IoU is dropped.

    Returns
    -------
    numpy.ndarray
        Indices of the kept boxes, best first.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    keep: list[int] = []
    for i in order:
        if not keep or box_iou(boxes[i], boxes[keep]).max() <= iou_threshold:
            keep.append(int(i))
    return np.array(keep, dtype=np.int64)
