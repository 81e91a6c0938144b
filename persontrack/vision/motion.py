"""Regions where something moves, from background subtraction, for the detector to look at."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InvalidParameterException


class MotionRegions:
    """Boxes around moving blobs in successive RGB frames of one video (OpenCV MOG2).

    Parameters
    ----------
    history : int
        Frames the background model remembers.
    warmup : int
        Frames seen before any region is given (the model is still learning).
    min_area : float
        Least blob area as a fraction of the frame's area.
    margin : float
        Fraction of a blob's height added around its box (a moving person's blob often
        misses still parts: a standing leg, the head).
    max_regions : int
        Most regions given per frame (the largest blobs).

    Examples
    --------
    >>> import numpy as np
    >>> motion = MotionRegions(warmup=20)
    >>> still = np.random.default_rng(0).integers(60, 120, (120, 160, 3), dtype=np.uint8)
    >>> for _ in range(21):
    ...     boxes = motion.update(still)
    >>> moving = still.copy()
    >>> moving[40:100, 60:80] = (200, 30, 30)
    >>> motion.update(moving).round()
    array([[ 54.,  34.,  86., 106.]])
    """

    def __init__(
        self,
        history: int = 200,
        warmup: int = 10,
        min_area: float = 0.0005,
        margin: float = 0.1,
        max_regions: int = 20,
    ) -> None:
        for name, value in (("history", history), ("warmup", warmup), ("max_regions", max_regions)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidParameterException(f"{name} must be an integer >= 1, got {value!r}")
        if not 0 < min_area < 1:
            raise InvalidParameterException(f"min_area must be in (0, 1), got {min_area!r}")
        if not 0 <= margin <= 1:
            raise InvalidParameterException(f"margin must be in [0, 1], got {margin!r}")
        import cv2

        self._cv2: Any = cv2
        self.history, self.warmup = history, warmup
        self.min_area, self.margin, self.max_regions = min_area, margin, max_regions
        self.reset()

    def reset(self) -> None:
        """Forget the background (a new video or a cut)."""
        self._model = self._cv2.createBackgroundSubtractorMOG2(
            history=self.history, detectShadows=True
        )
        self._seen = 0

    def update(self, image: np.ndarray) -> np.ndarray:
        """Learn from ``image`` and return (K, 4) boxes ``[x1, y1, x2, y2]`` in pixels."""
        cv2 = self._cv2
        mask = self._model.apply(image)
        self._seen += 1
        if self._seen <= self.warmup:
            return np.zeros((0, 4))
        # 255 = foreground, 127 = shadow (not a person's own pixels).
        fg = (mask == 255).astype(np.uint8)
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
        fg = cv2.morphologyEx(fg, cv2.MORPH_OPEN, kernel)
        fg = cv2.morphologyEx(fg, cv2.MORPH_CLOSE, kernel, iterations=2)
        n, _, stats, _ = cv2.connectedComponentsWithStats(fg)
        height, width = image.shape[:2]
        stats = stats[1:n]
        stats = stats[stats[:, 4] >= self.min_area * height * width]
        stats = stats[np.argsort(-stats[:, 4], kind="stable")][: self.max_regions]
        x, y, w, h = (stats[:, i].astype(np.float64) for i in range(4))
        pad = self.margin * h
        boxes = np.column_stack([x - pad, y - pad, x + w + pad, y + h + pad])
        return np.clip(boxes, 0, [width, height, width, height]).reshape(-1, 4)
