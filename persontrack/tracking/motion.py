"""The tracker's prediction stage: a Kalman filter per box, camera motion, the size gate.

Each track's box is ``[cx, cy, w, h]`` with a velocity per coordinate (per second). The
four coordinates are independent constant-velocity filters (the noises are diagonal), so
the covariance is four 2x2 blocks, kept as three (T, 4) arrays ``pxx, pxv, pvv``. Noises
scale with the box height, so one setting holds for near and far people.

Examples
--------
>>> import numpy as np
>>> from persontrack.tracking.config import TrackerConfig
>>> from persontrack.tracking.motion import KalmanBoxes
>>> kf = KalmanBoxes(TrackerConfig())
>>> kf.add(np.array([[0.0, 0, 40, 100]]))
>>> kf.correct(np.array([0]), np.array([[10.0, 0, 50, 100]]))
>>> kf.predict(0.1, np.zeros(1, bool))
>>> bool(kf.x[0, 0] > 20)
True
"""

from __future__ import annotations

import math

import numpy as np

from ._association import _match, _to_cxcywh
from .config import MEASUREMENT_NOISE, POSITION_NOISE, VELOCITY_NOISE, TrackerConfig

__all__ = ["KalmanBoxes", "camera_shift", "size_gate"]

_ONES = np.ones((1, 4))


class KalmanBoxes:
    """The boxes of every track and their uncertainty (rows in the tracker's order)."""

    def __init__(self, config: TrackerConfig) -> None:
        self._p = config
        self.x = np.zeros((0, 4))
        self.v = np.zeros((0, 4))
        self.pxx = np.zeros((0, 4))
        self.pxv = np.zeros((0, 4))
        self.pvv = np.zeros((0, 4))
        self.seen_h = np.zeros(0)  # box height after the last measurement

    def add(self, xyxy: np.ndarray) -> None:
        """New tracks at these boxes: position as uncertain as two measurements, velocity
        unknown (about one body height per second either way)."""
        z = _to_cxcywh(xyxy)
        k = len(z)
        h2 = np.maximum(z[:, 3:4], 1.0) ** 2
        self.x = np.concatenate([self.x, z])
        self.seen_h = np.concatenate([self.seen_h, z[:, 3]])
        self.v = np.concatenate([self.v, np.zeros((k, 4))])
        noise = (2 * MEASUREMENT_NOISE) ** 2
        self.pxx = np.concatenate([self.pxx, noise * h2 * _ONES])
        self.pxv = np.concatenate([self.pxv, np.zeros((k, 4))])
        self.pvv = np.concatenate([self.pvv, h2 * _ONES])

    def select(self, keep: np.ndarray) -> None:
        """Keep only these rows."""
        for name in ("x", "v", "pxx", "pxv", "pvv", "seen_h"):
            setattr(self, name, getattr(self, name)[keep])

    def predict(self, dt: float, lost: np.ndarray) -> None:
        """Constant-velocity prediction ``dt`` seconds ahead; ``lost`` tracks' velocities
        decay (``lost_velocity_decay_ms``): people slow down or stop behind others."""
        p = self._p
        tau = p.lost_velocity_decay_ms
        if tau and lost.any():
            self.v[lost] *= math.exp(-dt * 1000.0 / tau)
        self.x += dt * self.v
        # Width and height cannot go below one pixel however the size velocity points.
        np.maximum(self.x[:, 2:4], 1.0, out=self.x[:, 2:4])
        h2 = (np.maximum(self.x[:, 3:4], 1.0) ** 2) * dt
        self.pxx += dt * (2 * self.pxv + dt * self.pvv) + POSITION_NOISE**2 * h2
        self.pxv += dt * self.pvv
        self.pvv += VELOCITY_NOISE**2 * h2

    def correct(self, rows: np.ndarray, xyxy: np.ndarray) -> None:
        """Kalman update of tracks ``rows`` with measured boxes ``xyxy``."""
        z = _to_cxcywh(xyxy)
        r = (MEASUREMENT_NOISE * np.maximum(z[:, 3:4], 1.0)) ** 2
        pxx, pxv, pvv = self.pxx[rows], self.pxv[rows], self.pvv[rows]
        s = pxx + r
        kx = pxx / s
        kv = pxv / s
        innovation = z - self.x[rows]
        self.x[rows] += kx * innovation
        self.v[rows] += kv * innovation
        self.pxx[rows] = (1 - kx) * pxx
        self.pxv[rows] = (1 - kx) * pxv
        self.pvv[rows] = pvv - kv * pxv
        self.seen_h[rows] = self.x[rows, 3]

    def centre_sigmas(self, rows: np.ndarray, det_xyxy: np.ndarray) -> np.ndarray:
        """(T, D) Mahalanobis distance of detection centres from predicted centres."""
        x = self.x[rows]
        r = (MEASUREMENT_NOISE * np.maximum(x[:, 3], 1.0)) ** 2
        var = self.pxx[rows, :2] + r[:, None]
        dx = (det_xyxy[None, :, 0] + det_xyxy[None, :, 2]) / 2 - x[:, None, 0]
        dy = (det_xyxy[None, :, 1] + det_xyxy[None, :, 3]) / 2 - x[:, None, 1]
        return np.asarray(np.sqrt(dx * dx / var[:, 0, None] + dy * dy / var[:, 1, None]))


def camera_shift(
    p: TrackerConfig, cost: np.ndarray, x: np.ndarray, xyxy: np.ndarray,
    high: np.ndarray, confirmed: np.ndarray,
) -> np.ndarray | None:  # fmt: skip
    """The median unexplained motion of the ``confirmed`` tracks (rows) matched to
    confident detections ``high``, or None when fewer than ``camera_motion_min_tracks``
    agree. A pan moves everyone at once; the per-person velocities lag behind."""
    k = p.camera_motion_min_tracks
    if len(confirmed) < k or len(high) < k:
        return None
    m_t, m_d = _match(cost, confirmed, high, p.gate)
    if len(m_t) < k:
        return None
    return np.asarray(np.median(_to_cxcywh(xyxy[m_d])[:, :2] - x[m_t, :2], axis=0))


def size_gate(
    cost: np.ndarray, xyxy: np.ndarray, lost: np.ndarray, seen_h: np.ndarray, ratio: float
) -> np.ndarray:
    """``cost`` with the pairs of ``lost`` tracks (rows) and detections whose height is
    not within ``ratio`` of the height the track was last measured at vetoed: a lost
    prediction keeps growing or shrinking with the size velocity it had."""
    if not len(lost):
        return cost
    r = (xyxy[:, 3] - xyxy[:, 1])[None, :] / seen_h[lost, None]
    out = cost.copy()
    out[lost] = np.where((r > ratio) | (r < 1.0 / ratio), np.inf, cost[lost])
    return out
