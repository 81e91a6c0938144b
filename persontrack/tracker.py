"""Give each person a stable ``Index`` across frames (tracking by detection).

:class:`Tracker` follows boxes from frame to frame: a Kalman filter predicts where every
track's box (centre, width, height) will be at the next timestamp, the Hungarian method
(:func:`scipy.optimize.linear_sum_assignment`) pairs predictions with detections, and
tracks that are not seen for a while are kept (``LOST``) so people who are occluded for a
moment get their id back. Time is in milliseconds, not frames, so the same settings work
on every frame of a 30 fps video and on one frame a second of it.

Association runs in stages (the ByteTrack recipe): confident detections first, against
every live track; then weak detections, which may only continue a track that was seen on
the previous update (a person partly hidden gets a low score, a false alarm rarely sits
exactly where a track is predicted); then the confident leftovers against tentative
tracks. A new track starts from a confident detection that matched nothing and gets an id
only once it has been seen on ``min_hits`` consecutive updates, so one-frame false
positives never get an id.

Examples
--------
>>> import numpy as np, persontrack as pt
>>> tracker = pt.Tracker()
>>> for t in range(3):
...     boxes = np.array([[10.0 + 5 * t, 20.0, 50.0 + 5 * t, 120.0]])
...     ids = tracker.update(pt.Detections(boxes, np.array([0.9])), timestamp_ms=40.0 * t)
>>> ids.tolist()
[0]
>>> [(t.id, t.state.name) for t in tracker.tracks]
[(0, 'CONFIRMED')]
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from .detections import Detections
from .errors import InvalidParameterException

__all__ = [
    "COSTS",
    "CostFunction",
    "Track",
    "TrackState",
    "Tracker",
    "box_iou",
    "centroid_cost",
    "combined_cost",
    "iou_cost",
]

CostFunction = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""``cost(track_xyxy (T, 4), detection_xyxy (D, 4)) -> (T, D)``; lower is a better match."""


class TrackState(enum.IntEnum):
    """Life cycle of a track."""

    TENTATIVE = 0
    """Started from a detection, not yet seen on ``min_hits`` consecutive updates; no id."""
    CONFIRMED = 1
    """Has an id and was matched on the latest update."""
    LOST = 2
    """Has an id but was not matched on the latest update; kept for ``max_lost_ms``."""
    DELETED = 3
    """Ended: a tentative track that missed an update or a track lost for too long."""


@dataclass(frozen=True)
class Track:
    """Read-only snapshot of one live track (see :attr:`Tracker.tracks`).

    Attributes
    ----------
    id : int
        The person's index (0, 1, … in order of confirmation); -1 while tentative.
    state : TrackState
        TENTATIVE, CONFIRMED or LOST.
    xyxy : numpy.ndarray
        (4,) the filtered box at the latest timestamp, pixels.
    velocity : numpy.ndarray
        (2,) the centre's estimated velocity, pixels per second.
    hits : int
        How many detections were matched to the track.
    first_seen_ms, last_seen_ms : float
        Timestamps of the first and the latest matched detection.
    confidence : float
        Confidence of the latest matched detection.
    """

    id: int
    state: TrackState
    xyxy: np.ndarray
    velocity: np.ndarray
    hits: int
    first_seen_ms: float
    last_seen_ms: float
    confidence: float


# ----------------------------------------------------------------------------- costs


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
    >>> box_iou(np.array([[0.0, 0, 2, 2]]), np.array([[1.0, 0, 3, 2]])).round(3).tolist()
    [[0.333]]
    """
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    iw = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    ih = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def iou_cost(tracks_xyxy: np.ndarray, detections_xyxy: np.ndarray) -> np.ndarray:
    """``1 - IoU`` of predicted track boxes and detections (0 = same box, 1 = disjoint)."""
    return 1.0 - box_iou(tracks_xyxy, detections_xyxy)


def centroid_cost(tracks_xyxy: np.ndarray, detections_xyxy: np.ndarray) -> np.ndarray:
    """Centre distance divided by the mean height of the two boxes.

    A person's height is the most stable measure of scale, so the same gate (e.g. 0.5 =
    half a body height) works for people near and far from the camera.
    """
    t = np.asarray(tracks_xyxy, dtype=np.float64).reshape(-1, 4)
    d = np.asarray(detections_xyxy, dtype=np.float64).reshape(-1, 4)
    dx = (t[:, None, 0] + t[:, None, 2] - d[None, :, 0] - d[None, :, 2]) / 2
    dy = (t[:, None, 1] + t[:, None, 3] - d[None, :, 1] - d[None, :, 3]) / 2
    scale = ((t[:, None, 3] - t[:, None, 1]) + (d[None, :, 3] - d[None, :, 1])) / 2
    return np.hypot(dx, dy) / np.maximum(scale, 1e-6)


def combined_cost(tracks_xyxy: np.ndarray, detections_xyxy: np.ndarray) -> np.ndarray:
    """Mean of :func:`iou_cost` and :func:`centroid_cost` (the latter capped at 1).

    IoU separates people standing side by side; the normalised centre distance still
    ranks candidates when the prediction is off by more than a box (fast motion,
    a camera pan, a long occlusion) and IoU is 0 for all of them.
    """
    return 0.5 * iou_cost(tracks_xyxy, detections_xyxy) + 0.5 * np.minimum(
        centroid_cost(tracks_xyxy, detections_xyxy), 1.0
    )


COSTS: dict[str, tuple[CostFunction, float]] = {
    "iou": (iou_cost, 0.8),
    "centroid": (centroid_cost, 0.5),
    "combined": (combined_cost, 0.7),
}
"""Built-in costs by name, each with its default ``max_cost`` gate."""


# ----------------------------------------------------------------------------- tracker

_POS = slice(0, 4)  # cx, cy, w, h in the state vector; velocities (per second) follow.


@dataclass(frozen=True)
class _Params:
    cost: CostFunction
    max_cost: float
    low_max_cost: float
    tentative_max_cost: float
    high_confidence: float
    low_confidence: float
    birth_confidence: float
    min_hits: int
    max_lost_ms: float
    position_noise: float
    velocity_noise: float
    measurement_noise: float


class Tracker:
    """Online multi-person tracker: one stable id per person.

    Parameters
    ----------
    cost : {"combined", "iou", "centroid"} or callable, default "combined"
        How unlike a predicted track box and a detection are. A callable gets
        ``(track_xyxy (T, 4), detection_xyxy (D, 4))`` and returns a (T, D) array, lower
        meaning more alike.
    max_cost : float, optional
        Pairs costlier than this are never matched. Default: the cost's own gate in
        :data:`COSTS` (``combined`` 0.7, ``iou`` 0.8, ``centroid`` 0.5); required for a
        callable.
    low_max_cost : float, optional
        Gate for the second stage (weak detections continuing a track). Default:
        ``0.625 * max_cost``, i.e. stricter, because weak detections are more often wrong.
    tentative_max_cost : float, optional
        Gate for matching confident leftovers to tentative tracks. Default:
        ``0.875 * max_cost``.
    high_confidence : float, default 0.5
        Detections at or above this confidence are associated first, against all tracks.
    low_confidence : float, default 0.1
        Detections below this are ignored; those between ``low_confidence`` and
        ``high_confidence`` may only continue a track seen on the previous update.
    birth_confidence : float, default 0.6
        A new track starts only from an unmatched detection at least this confident.
    min_hits : int, default 2
        Consecutive updates a new track must be matched on before it gets an id. 1 gives
        every confident detection an id at once (no false-positive suppression).
    max_lost_ms : float, default 1000.0
        How long a track with an id survives without a matching detection (occlusion,
        missed detections) before it is deleted.
    position_noise : float, default 0.27
        Kalman process noise of the box centre and size: standard deviation, as a fraction
        of the box height, gained per square root of a second.
    velocity_noise : float, default 1.0
        Kalman process noise of the velocities: standard deviation in box heights per
        second, gained per square root of a second (how fast a person can change speed).
    measurement_noise : float, default 0.05
        Standard deviation of a detection's centre and size, as a fraction of its height.

    Raises
    ------
    InvalidParameterException
        A setting is out of range or of the wrong type.

    Examples
    --------
    >>> import numpy as np, persontrack as pt
    >>> tracker = pt.Tracker(max_lost_ms=2000, min_hits=3)
    >>> det = pt.Detections(np.array([[0.0, 0, 40, 100]]), np.array([0.9]))
    >>> [tracker.update(det, t).tolist() for t in (0.0, 100.0, 200.0)]
    [[-1], [-1], [0]]
    """

    def __init__(
        self,
        cost: str | CostFunction = "combined",
        *,
        max_cost: float | None = None,
        low_max_cost: float | None = None,
        tentative_max_cost: float | None = None,
        high_confidence: float = 0.5,
        low_confidence: float = 0.1,
        birth_confidence: float = 0.6,
        min_hits: int = 2,
        max_lost_ms: float = 1000.0,
        position_noise: float = 0.27,
        velocity_noise: float = 1.0,
        measurement_noise: float = 0.05,
    ) -> None:
        if isinstance(cost, str):
            if cost not in COSTS:
                raise InvalidParameterException(
                    f"Tracker: cost must be one of {sorted(COSTS)} or a callable, got {cost!r}"
                )
            cost_fn, default_gate = COSTS[cost]
            max_cost = default_gate if max_cost is None else max_cost
        elif callable(cost):
            cost_fn = cost
            if max_cost is None:
                raise InvalidParameterException("Tracker: a callable cost needs max_cost")
        else:
            raise InvalidParameterException(
                f"Tracker: cost must be a name or a callable, got {type(cost).__name__}"
            )
        max_cost = _positive("max_cost", max_cost)
        low_max_cost = _positive(
            "low_max_cost", 0.625 * max_cost if low_max_cost is None else low_max_cost
        )
        tentative_max_cost = _positive(
            "tentative_max_cost",
            0.875 * max_cost if tentative_max_cost is None else tentative_max_cost,
        )
        for name, value in (
            ("high_confidence", high_confidence),
            ("low_confidence", low_confidence),
            ("birth_confidence", birth_confidence),
        ):
            if not _is_real(value) or not 0.0 <= value <= 1.0:
                raise InvalidParameterException(f"Tracker: {name} must be in [0, 1], got {value!r}")
        if low_confidence > high_confidence:
            raise InvalidParameterException(
                f"Tracker: low_confidence ({low_confidence}) must not exceed "
                f"high_confidence ({high_confidence})"
            )
        if birth_confidence < high_confidence:
            raise InvalidParameterException(
                f"Tracker: birth_confidence ({birth_confidence}) must be at least "
                f"high_confidence ({high_confidence})"
            )
        if isinstance(min_hits, bool) or not isinstance(min_hits, (int, np.integer)):
            raise InvalidParameterException(f"Tracker: min_hits must be an int, got {min_hits!r}")
        if min_hits < 1:
            raise InvalidParameterException(f"Tracker: min_hits must be >= 1, got {min_hits}")
        if not _is_real(max_lost_ms) or not 0.0 <= max_lost_ms < math.inf:
            raise InvalidParameterException(
                f"Tracker: max_lost_ms must be a finite number >= 0, got {max_lost_ms!r}"
            )
        self._p = _Params(
            cost=cost_fn,
            max_cost=max_cost,
            low_max_cost=low_max_cost,
            tentative_max_cost=tentative_max_cost,
            high_confidence=float(high_confidence),
            low_confidence=float(low_confidence),
            birth_confidence=float(birth_confidence),
            min_hits=int(min_hits),
            max_lost_ms=float(max_lost_ms),
            position_noise=_positive("position_noise", position_noise),
            velocity_noise=_positive("velocity_noise", velocity_noise),
            measurement_noise=_positive("measurement_noise", measurement_noise),
        )
        self._settings = {
            "cost": cost if isinstance(cost, str) else getattr(cost, "__name__", repr(cost)),
            "max_cost": max_cost,
            "low_max_cost": low_max_cost,
            "tentative_max_cost": tentative_max_cost,
            "high_confidence": float(high_confidence),
            "low_confidence": float(low_confidence),
            "birth_confidence": float(birth_confidence),
            "min_hits": int(min_hits),
            "max_lost_ms": float(max_lost_ms),
            "position_noise": self._p.position_noise,
            "velocity_noise": self._p.velocity_noise,
            "measurement_noise": self._p.measurement_noise,
        }
        self.reset()

    # ------------------------------------------------------------------ public API

    @property
    def settings(self) -> dict[str, object]:
        """The resolved settings (a copy), e.g. to store next to results."""
        return dict(self._settings)

    def reset(self) -> None:
        """Forget every track and start ids at 0 again (e.g. for the next video)."""
        self._mean = np.zeros((0, 8))
        self._cov = np.zeros((0, 8, 8))
        self._id = np.zeros(0, dtype=np.int64)
        self._state = np.zeros(0, dtype=np.int8)
        self._hits = np.zeros(0, dtype=np.int64)
        self._first_ms = np.zeros(0)
        self._last_ms = np.zeros(0)
        self._conf = np.zeros(0)
        self._next_id = 0
        self._time_ms: float | None = None

    @property
    def tracks(self) -> tuple[Track, ...]:
        """Live tracks (tentative, confirmed and lost) as read-only snapshots."""
        out = []
        for i in range(len(self._id)):
            xyxy = _to_xyxy(self._mean[i : i + 1, _POS])[0]
            vel = self._mean[i, 4:6].copy()
            xyxy.setflags(write=False)
            vel.setflags(write=False)
            out.append(
                Track(
                    id=int(self._id[i]),
                    state=TrackState(int(self._state[i])),
                    xyxy=xyxy,
                    velocity=vel,
                    hits=int(self._hits[i]),
                    first_seen_ms=float(self._first_ms[i]),
                    last_seen_ms=float(self._last_ms[i]),
                    confidence=float(self._conf[i]),
                )
            )
        return tuple(out)

    def update(self, detections: Detections, timestamp_ms: float) -> np.ndarray:
        """Advance to ``timestamp_ms`` and assign the detections of that frame to tracks.

        Parameters
        ----------
        detections : Detections
            The people detected in this frame (may be empty: time still advances, so
            tracks that are not seen age towards deletion).
        timestamp_ms : float
            Time of the frame in milliseconds; must increase from call to call.

        Returns
        -------
        numpy.ndarray
            (N,) int64, the id of each detection's track, or -1 where a detection is not
            (yet) part of a confirmed track (ignored, too weak, or a new tentative track).

        Raises
        ------
        InvalidParameterException
            ``detections`` is not a :class:`Detections`, or the timestamp is not a finite
            number greater than the previous one.
        """
        if not isinstance(detections, Detections):
            raise InvalidParameterException(
                f"Tracker.update: detections must be Detections, got {type(detections).__name__}"
            )
        if not _is_real(timestamp_ms) or not math.isfinite(timestamp_ms):
            raise InvalidParameterException(
                f"Tracker.update: timestamp_ms must be a finite number, got {timestamp_ms!r}"
            )
        t = float(timestamp_ms)
        if self._time_ms is not None and t <= self._time_ms:
            raise InvalidParameterException(
                f"Tracker.update: timestamps must increase; got {t} after {self._time_ms}"
            )
        p = self._p
        if self._time_ms is not None and len(self._id):
            self._predict((t - self._time_ms) / 1000.0)
        self._time_ms = t

        n = len(detections)
        xyxy = detections.xyxy
        conf = detections.confidence
        det_track = np.full(n, -1, dtype=np.int64)  # row of the matched track per detection

        high = np.flatnonzero(conf >= p.high_confidence)
        low = np.flatnonzero((conf >= p.low_confidence) & (conf < p.high_confidence))
        state = self._state
        established = np.flatnonzero(state != TrackState.TENTATIVE)
        tentative = np.flatnonzero(state == TrackState.TENTATIVE)
        pred_xyxy = _to_xyxy(self._mean[:, _POS])

        # Stage 1: confident detections against every track with an id.
        m_t, m_d = self._match(pred_xyxy, xyxy, established, high, p.max_cost)
        det_track[m_d] = m_t
        # Stage 2: weak detections may continue a track that was seen on the last update.
        matched_t = np.zeros(len(state), dtype=bool)
        matched_t[m_t] = True
        recent = established[(state[established] == TrackState.CONFIRMED) & ~matched_t[established]]
        m_t, m_d = self._match(pred_xyxy, xyxy, recent, low, p.low_max_cost)
        det_track[m_d] = m_t
        matched_t[m_t] = True
        # Stage 3: confident leftovers against tentative tracks.
        high_left = high[det_track[high] < 0]
        m_t, m_d = self._match(pred_xyxy, xyxy, tentative, high_left, p.tentative_max_cost)
        det_track[m_d] = m_t
        matched_t[m_t] = True

        # Kalman update of every matched track.
        det_idx = np.flatnonzero(det_track >= 0)
        rows = det_track[det_idx]
        if len(rows):
            self._correct(rows, xyxy[det_idx])
            self._hits[rows] += 1
            self._last_ms[rows] = t
            self._conf[rows] = conf[det_idx]

        # Life cycle: confirm, lose, delete.
        new_state = state.copy()
        new_state[matched_t & (state != TrackState.TENTATIVE)] = TrackState.CONFIRMED
        unmatched_est = ~matched_t & (state != TrackState.TENTATIVE)
        new_state[unmatched_est] = TrackState.LOST
        new_state[~matched_t & (state == TrackState.TENTATIVE)] = TrackState.DELETED
        new_state[unmatched_est & (t - self._last_ms > p.max_lost_ms)] = TrackState.DELETED
        promote = np.flatnonzero(
            matched_t & (state == TrackState.TENTATIVE) & (self._hits >= p.min_hits)
        )
        if len(promote):
            # Ids in order of confirmation; ties (same update) in detection order.
            order = np.argsort(self._det_of(rows, det_idx, promote), kind="stable")
            promote = promote[order]
            self._id[promote] = np.arange(self._next_id, self._next_id + len(promote))
            self._next_id += len(promote)
            new_state[promote] = TrackState.CONFIRMED
        self._state = new_state

        out = np.full(n, -1, dtype=np.int64)
        if len(det_idx):
            confirmed = new_state[rows] == TrackState.CONFIRMED
            out[det_idx[confirmed]] = self._id[rows[confirmed]]

        # Births: confident detections that matched nothing.
        births = np.flatnonzero((det_track < 0) & (conf >= p.birth_confidence))
        keep = new_state != TrackState.DELETED
        if not keep.all():
            self._select(keep)
        if len(births):
            first = len(self._id)
            self._add(xyxy[births], conf[births], t)
            if p.min_hits <= 1:
                new_rows = np.arange(first, first + len(births))
                self._id[new_rows] = np.arange(self._next_id, self._next_id + len(births))
                self._next_id += len(births)
                self._state[new_rows] = TrackState.CONFIRMED
                out[births] = self._id[new_rows]
        return out

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._settings.items())
        return f"Tracker({args})"

    # ------------------------------------------------------------------ internals

    def _match(
        self,
        pred_xyxy: np.ndarray,
        det_xyxy: np.ndarray,
        track_rows: np.ndarray,
        det_rows: np.ndarray,
        gate: float,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Hungarian matching of a subset of tracks and detections under ``gate``."""
        if len(track_rows) == 0 or len(det_rows) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        cost = np.asarray(
            self._p.cost(pred_xyxy[track_rows], det_xyxy[det_rows]), dtype=np.float64
        )
        if cost.shape != (len(track_rows), len(det_rows)):
            raise InvalidParameterException(
                f"Tracker: cost returned shape {cost.shape}, "
                f"expected {(len(track_rows), len(det_rows))}"
            )
        cost = np.where(np.isfinite(cost) & (cost <= gate), cost, gate + 1.0)
        r, c = linear_sum_assignment(cost)
        ok = cost[r, c] <= gate
        return track_rows[r[ok]], det_rows[c[ok]]

    @staticmethod
    def _det_of(rows: np.ndarray, det_idx: np.ndarray, tracks: np.ndarray) -> np.ndarray:
        lookup = dict(zip(rows.tolist(), det_idx.tolist()))
        return np.array([lookup[r] for r in tracks.tolist()])

    def _add(self, xyxy: np.ndarray, conf: np.ndarray, t: float) -> None:
        k = len(xyxy)
        z = _to_cxcywh(xyxy)
        mean = np.zeros((k, 8))
        mean[:, _POS] = z
        h = np.maximum(z[:, 3], 1.0)
        p = self._p
        std = np.concatenate(
            [np.repeat(2 * p.measurement_noise * h[:, None], 4, 1), np.repeat(h[:, None], 4, 1)],
            axis=1,
        )
        cov = np.zeros((k, 8, 8))
        cov[:, np.arange(8), np.arange(8)] = std**2
        self._mean = np.concatenate([self._mean, mean])
        self._cov = np.concatenate([self._cov, cov])
        self._id = np.concatenate([self._id, np.full(k, -1, dtype=np.int64)])
        self._state = np.concatenate([self._state, np.full(k, TrackState.TENTATIVE, np.int8)])
        self._hits = np.concatenate([self._hits, np.ones(k, dtype=np.int64)])
        self._first_ms = np.concatenate([self._first_ms, np.full(k, t)])
        self._last_ms = np.concatenate([self._last_ms, np.full(k, t)])
        self._conf = np.concatenate([self._conf, conf])

    def _select(self, keep: np.ndarray) -> None:
        self._mean = self._mean[keep]
        self._cov = self._cov[keep]
        self._id = self._id[keep]
        self._state = self._state[keep]
        self._hits = self._hits[keep]
        self._first_ms = self._first_ms[keep]
        self._last_ms = self._last_ms[keep]
        self._conf = self._conf[keep]

    def _predict(self, dt: float) -> None:
        """Constant-velocity Kalman prediction of every track, ``dt`` seconds ahead."""
        p = self._p
        m, c = self._mean, self._cov
        m[:, :4] += dt * m[:, 4:]
        # Width and height cannot go below one pixel however the size velocity points.
        np.maximum(m[:, 2:4], 1.0, out=m[:, 2:4])
        f = np.eye(8)
        f[:4, 4:] = dt * np.eye(4)
        h2 = np.maximum(m[:, 3], 1.0) ** 2
        q = np.zeros((len(m), 8))
        q[:, :4] = (p.position_noise**2 * dt) * h2[:, None]
        q[:, 4:] = (p.velocity_noise**2 * dt) * h2[:, None]
        c = f @ c @ f.T
        c[:, np.arange(8), np.arange(8)] += q
        self._cov = c

    def _correct(self, rows: np.ndarray, xyxy: np.ndarray) -> None:
        """Kalman update of tracks ``rows`` with measured boxes ``xyxy``."""
        z = _to_cxcywh(xyxy)
        m = self._mean[rows]
        c = self._cov[rows]
        r = (self._p.measurement_noise * np.maximum(z[:, 3], 1.0)) ** 2
        s = c[:, :4, :4].copy()
        s[:, np.arange(4), np.arange(4)] += r[:, None]
        gain = np.linalg.solve(s, c[:, :4, :]).transpose(0, 2, 1)  # (k, 8, 4)
        m = m + np.einsum("kij,kj->ki", gain, z - m[:, :4])
        c = c - gain @ c[:, :4, :]
        self._mean[rows] = m
        self._cov[rows] = c


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


def _is_real(value: object) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, bool
    )


def _positive(name: str, value: object) -> float:
    if not _is_real(value) or not 0.0 < float(value) < math.inf:  # type: ignore[arg-type]
        raise InvalidParameterException(
            f"Tracker: {name} must be a finite number > 0, got {value!r}"
        )
    return float(value)  # type: ignore[arg-type]
