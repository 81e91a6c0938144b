"""Detections of one frame: what detectors produce and the tracker consumes.

Examples
--------
>>> import numpy as np, persontrack as pt
>>> d = pt.Detections(xyxy=np.array([[10.0, 20.0, 50.0, 120.0]]), confidence=np.array([0.9]))
>>> len(d), d.centroids().tolist()
(1, [[30.0, 70.0]])
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InvalidParameterException


@dataclass(frozen=True)
class Detections:
    """People found in one frame.

    Parameters
    ----------
    xyxy : numpy.ndarray
        (N, 4) boxes ``[x1, y1, x2, y2]`` in pixels of the full frame.
    confidence : numpy.ndarray
        (N,) detection confidences in [0, 1].
    landmarks : numpy.ndarray, optional
        (N, 33, 4) body landmarks ``[x, y, z, visibility]``, x and y as ratios of the
        full frame's width and height (MediaPipe convention).
    embedding : numpy.ndarray, optional
        (N, D) appearance embeddings, unit vectors compared by cosine similarity (see
        :mod:`persontrack.vision.reid`); a NaN row means "no appearance" for that box
        (e.g. too small). The :class:`~persontrack.Tracker` uses them when given.
    """

    xyxy: np.ndarray
    confidence: np.ndarray
    landmarks: np.ndarray | None = field(default=None)
    embedding: np.ndarray | None = field(default=None)

    def __post_init__(self) -> None:
        xyxy = np.asarray(self.xyxy, dtype=np.float64).reshape(-1, 4)
        conf = np.asarray(self.confidence, dtype=np.float64).reshape(-1)
        if len(conf) != len(xyxy):
            raise InvalidParameterException(
                f"Detections: {len(xyxy)} boxes but {len(conf)} confidences"
            )
        if not np.all(np.isfinite(xyxy)):
            raise InvalidParameterException("Detections: boxes must be finite numbers")
        if np.any(xyxy[:, 2] < xyxy[:, 0]) or np.any(xyxy[:, 3] < xyxy[:, 1]):
            raise InvalidParameterException("Detections: boxes need x2 >= x1 and y2 >= y1")
        lm = self.landmarks
        if lm is not None:
            lm = np.asarray(lm, dtype=np.float64)
            if lm.shape[0] != len(xyxy) or lm.ndim != 3:
                raise InvalidParameterException(
                    f"Detections: landmarks shape {lm.shape} does not match {len(xyxy)} boxes"
                )
            lm.setflags(write=False)
        emb = self.embedding
        if emb is not None:
            emb = np.array(emb, dtype=np.float32)
            if emb.ndim != 2 or emb.shape[0] != len(xyxy):
                raise InvalidParameterException(
                    f"Detections: embedding shape {emb.shape} does not match {len(xyxy)} boxes"
                )
            if np.isinf(emb).any():
                raise InvalidParameterException("Detections: embedding must not be infinite")
            emb.setflags(write=False)
        xyxy.setflags(write=False)
        conf.setflags(write=False)
        object.__setattr__(self, "xyxy", xyxy)
        object.__setattr__(self, "confidence", conf)
        object.__setattr__(self, "landmarks", lm)
        object.__setattr__(self, "embedding", emb)

    def __len__(self) -> int:
        return len(self.xyxy)

    @classmethod
    def empty(cls) -> Detections:
        """No detections."""
        return cls(np.zeros((0, 4)), np.zeros(0))

    def centroids(self) -> np.ndarray:
        """(N, 2) box centres in pixels."""
        return np.column_stack(
            [(self.xyxy[:, 0] + self.xyxy[:, 2]) / 2, (self.xyxy[:, 1] + self.xyxy[:, 3]) / 2]
        )

    def __getitem__(self, idx: np.ndarray | slice | list[int]) -> Detections:
        """Subset by boolean mask, integer indices or slice."""
        lm = None if self.landmarks is None else self.landmarks[idx]
        emb = None if self.embedding is None else self.embedding[idx]
        return Detections(self.xyxy[idx], self.confidence[idx], lm, emb)
