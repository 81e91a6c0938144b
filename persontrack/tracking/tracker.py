"""Give each person a stable ``Index`` across frames (tracking by detection).

:class:`Tracker` follows boxes from frame to frame: a Kalman filter predicts where every
track's box (centre, width, height) will be at the next timestamp, the Hungarian method
(:func:`scipy.optimize.linear_sum_assignment`) pairs predictions with detections, and
tracks that are not seen for a while are kept (``LOST``) so people who are occluded for a
moment get their id back. Time is in milliseconds, not frames, so the same settings work
on every frame of a 30 fps video and on one frame a second of it.

Each update is an ordered list of stages (``docs/tracker.md`` has the table, the
settings and the measurements behind each rule):

1. prediction: expire tracks lost too long, predict every box (:mod:`.motion`);
2. camera motion, the lost-size gate and appearance ranking/veto on one cost matrix
   (:mod:`.motion`, :mod:`.appearance`);
3. the association cascade: confident boxes, weak boxes for tracks seen last update,
   leftovers for new tracks, the appearance rescue (:mod:`.cascade`);
4. measurement: Kalman and appearance update of matched tracks;
5. life cycle: confirm after ``min_hits``, lose, delete, births (:mod:`.state`).

Every setting is a field of :class:`~persontrack.tracking.config.TrackerConfig`, the one
default of every path. On five MOT17 training sequences with their public detections
the defaults score HOTA 49.9 / IDF1 58.3 online (53.4 / 61.5 with the post-processing),
ahead of SORT, ByteTrack, OC-SORT, BoT-SORT and norfair on the same boxes
(benchmarks/tracker_mot17.py).

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

import math
from typing import Any

import numpy as np

from ..errors import InvalidParameterException
from ..geometry import box_iou
from ..vision.detections import Detections
from . import appearance as _app
from ._association import _to_xyxy
from .cascade import Association, cascade
from .config import MAX_TENTATIVE_MISS_MS, TrackerConfig
from .costs import COSTS, CostFunction, centroid_cost, combined_cost, iou_cost
from .motion import KalmanBoxes, camera_shift, size_gate
from .state import _CONFIRMED, _DELETED, _LOST, _TENTATIVE, Track, TrackState

__all__ = [
    "COSTS",
    "CostFunction",
    "Track",
    "TrackState",
    "Tracker",
    "TrackerConfig",
    "box_iou",
    "centroid_cost",
    "combined_cost",
    "iou_cost",
]


# ----------------------------------------------------------------------------- tracker


class Tracker:
    """Online multi-person tracker: one stable id per person.

    Parameters
    ----------
    cost : {"combined", "iou", "centroid"} or callable, default "combined"
        How unlike a predicted track box and a detection are. A callable gets
        ``(track_xyxy (T, 4), detection_xyxy (D, 4))`` and returns a (T, D) array, lower
        meaning more alike (it then needs ``max_cost``).
    config : TrackerConfig, optional
        Every other setting; default :class:`TrackerConfig` (the one default of every
        path). Keyword arguments override it field by field.
    **settings
        Fields of :class:`~persontrack.tracking.config.TrackerConfig` (range and reason
        of each there and in ``docs/tracker.md``).

    Raises
    ------
    InvalidParameterException
        A setting is unknown, out of range or of the wrong type.

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
        cost: str | CostFunction | None = None,
        *,
        config: TrackerConfig | None = None,
        **settings: Any,
    ) -> None:
        if config is not None and not isinstance(config, TrackerConfig):
            raise InvalidParameterException(
                f"Tracker: config must be a TrackerConfig, got {type(config).__name__}"
            )
        base = {} if config is None else config.as_dict(resolved=False)
        if cost is not None:
            base["cost"] = cost
            if config is not None and "max_cost" not in settings:
                base["max_cost"] = None  # the new cost's own gate
        self._p = TrackerConfig.from_dict({**base, **settings})
        self._settings = self._p.as_dict()
        self.reset()

    @property
    def config(self) -> TrackerConfig:
        """The tracker's settings, resolved (frozen)."""
        return self._p

    # ------------------------------------------------------------------ public API

    @property
    def settings(self) -> dict[str, object]:
        """The resolved settings (a copy), e.g. to store next to results."""
        return dict(self._settings)

    def reset(self) -> None:
        """Forget every track and start ids at 0 again (e.g. for the next video)."""
        self._kf = KalmanBoxes(self._p)  # prediction: boxes and their uncertainty
        self._id = np.zeros(0, dtype=np.int64)
        self._state = np.zeros(0, dtype=np.int8)
        self._hits = np.zeros(0, dtype=np.int64)
        self._first_ms = np.zeros(0)
        self._last_ms = np.zeros(0)
        self._conf = np.zeros(0)
        self._key = np.zeros(0, dtype=np.int64)
        # Appearance per track: a unit vector, NaN while the track has none; the width is
        # set by the first embeddings seen.
        self._feat = np.zeros((0, 0), dtype=np.float32)
        self._feat_ms = np.zeros(0)  # when each track's appearance was last updated
        self._next_id = 0
        self._next_key = 0
        self._last_keys = np.zeros(0, dtype=np.int64)
        self._time_ms: float | None = None

    @property
    def tracks(self) -> tuple[Track, ...]:
        """Live tracks (tentative, confirmed and lost) as read-only snapshots."""
        out = []
        for i in range(len(self._id)):
            xyxy = _to_xyxy(self._kf.x[i : i + 1])[0]
            vel = self._kf.v[i, :2].copy()
            xyxy.setflags(write=False)
            vel.setflags(write=False)
            feat: np.ndarray | None = None
            if self._feat.shape[1] and not np.isnan(self._feat[i, 0]):
                feat = self._feat[i].copy()
                feat.setflags(write=False)
            out.append(
                Track(
                    id=int(self._id[i]),
                    state=TrackState(int(self._state[i])),
                    key=int(self._key[i]),
                    xyxy=xyxy,
                    velocity=vel,
                    hits=int(self._hits[i]),
                    first_seen_ms=float(self._first_ms[i]),
                    last_seen_ms=float(self._last_ms[i]),
                    confidence=float(self._conf[i]),
                    appearance=feat,
                )
            )
        return tuple(out)

    @property
    def last_keys(self) -> np.ndarray:
        """(N,) track key of each detection of the latest update, -1 where none.

        Unlike the ids :meth:`update` returns, a key is given to tentative tracks too, so
        a caller can keep a new person's detections until the track is confirmed and then
        file them under its id (the pipeline does this, so nobody's first frames are lost).
        """
        return self._last_keys.copy()

    def appearance_due(self, xyxy: np.ndarray, timestamp_ms: float) -> np.ndarray:
        """Which of the next update's detections need an appearance embedding.

        Call before :meth:`update` with the same boxes and time, embed the detections
        it marks and give the others NaN embeddings: the tracker ranks and vetoes pairs
        by appearance only where it has one. A detection is due when no track's
        prediction is within the motion gate (a new person or one coming back), when
        another track or detection is also within the gate (a crossing, a crowd), or
        when its one track has no appearance yet or last got one more than
        ``appearance_refresh_ms`` ago; so each track's appearance stays fresh for the
        offline linking (:func:`~persontrack.tracking.postprocess.link_tracks`). A
        detection whose box touches another's or a second track's prediction is due on
        every update, unless motion alone settles it (``appearance_clear_margin``).

        Parameters
        ----------
        xyxy : numpy.ndarray
            (N, 4) the boxes, pixels.
        timestamp_ms : float
            Time of the coming update.

        Returns
        -------
        numpy.ndarray
            (N,) bool; all True when ``appearance_refresh_ms`` is 0.

        Examples
        --------
        >>> import numpy as np, persontrack as pt
        >>> tracker = pt.Tracker(appearance_refresh_ms=1000)
        >>> box = np.array([[0.0, 0, 40, 100]])
        >>> emb = np.ones((1, 2), np.float32) / np.sqrt(2)
        >>> for t in (0.0, 100.0):
        ...     due = tracker.appearance_due(box, t)
        ...     _ = tracker.update(pt.Detections(box, np.array([0.9]), embedding=emb), t)
        >>> [tracker.appearance_due(box, t).tolist() for t in (200.0, 2000.0)]
        [[False], [True]]
        >>> far = np.array([[0.0, 0, 40, 100], [300.0, 0, 340, 100]])
        >>> tracker.appearance_due(far, 200.0).tolist()  # a new person
        [False, True]
        """
        boxes = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
        if self._p.appearance_refresh_ms <= 0 or not len(boxes) or not len(self._id):
            return np.ones(len(boxes), dtype=bool)
        dt = 0.0 if self._time_ms is None else max(float(timestamp_ms) - self._time_ms, 0.0)
        pred = _to_xyxy(self._kf.x + dt / 1000.0 * self._kf.v)
        confirmed = self._state == _CONFIRMED
        t = float(timestamp_ms)
        return _app.crops_due(self._p, pred, boxes, confirmed, self._feat, self._feat_ms, t)

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
        self._advance(t)  # 1. prediction (and expiry)
        emb = self._embeddings(detections)
        a = Association.start(self._p, detections, emb, self._state, t)
        self._camera_and_gates(a)  # 2. camera motion, lost size gate, appearance
        cascade(
            self._p, a, self._feat, _to_xyxy(self._kf.x)
        )  # 3. association cascade (confident, weak, tentative, rescue)
        self._measure(a)  # 4. Kalman and appearance update of matched tracks
        out, keys = self._life_cycle(a)  # 5. confirm, lose, delete, births
        self._last_keys = keys
        return out

    # ------------------------------------------------------------------ stages

    def _advance(self, t: float) -> None:
        """Delete tracks unseen for longer than max_lost_ms, predict the rest to ``t``."""
        if len(self._id):
            # Tracks unseen for longer than max_lost_ms are gone before matching, however
            # long ago the previous update was.
            expired = (self._state != _TENTATIVE) & (t - self._last_ms > self._p.max_lost_ms)
            if expired.any():
                self._select(~expired)
        if self._time_ms is not None and len(self._id):
            self._kf.predict((t - self._time_ms) / 1000.0, self._state == _LOST)
        self._time_ms = t

    def _camera_and_gates(self, a: Association) -> None:
        """The cost matrix, after camera motion, the lost size gate and appearance
        (ranking and veto)."""
        p, xyxy = self._p, a.xyxy
        # Costs of every track against every detection, computed once (twice when the
        # camera moved); each stage of the cascade matches a block of it.
        a.cost = self._cost_matrix(_to_xyxy(self._kf.x), xyxy, a.tentative)
        if p.camera_motion_min_tracks:
            confirmed = a.established[a.state[a.established] == _CONFIRMED]
            shift = camera_shift(p, a.cost, self._kf.x, xyxy, a.high, confirmed)
            if shift is not None:
                self._kf.x[:, :2] += shift
                a.cost = self._cost_matrix(_to_xyxy(self._kf.x), xyxy, a.tentative)
        if p.lost_size_ratio and len(a.cost):
            lost = np.flatnonzero(a.state == _LOST)
            a.cost = size_gate(a.cost, xyxy, lost, self._kf.seen_h, p.lost_size_ratio)
        # Appearance ranks the pairs within the motion gate and vetoes unlike ones.
        if a.emb is not None:
            limit = p.appearance_max_overlap
            a.clean = _app.unoccluded(xyxy, _to_xyxy(self._kf.x[a.established]), limit)
            if len(a.cost):
                a.cost, a.rank = _app.gate_and_rank(
                    p, a.cost, self._feat, a.state == _CONFIRMED, _to_xyxy(self._kf.x),
                    a.emb, a.clean, xyxy,
                )  # fmt: skip

    def _measure(self, a: Association) -> None:
        """Kalman update of every matched track, and of its appearance."""
        a.det_idx = np.flatnonzero(a.det_track >= 0)
        rows = a.rows = a.det_track[a.det_idx]
        if not len(rows):
            return
        self._kf.correct(rows, a.xyxy[a.det_idx])
        self._hits[rows] += 1
        self._last_ms[rows] = a.t
        self._conf[rows] = a.conf[a.det_idx]
        if a.emb is not None and a.clean is not None:
            # Moving average of the embeddings of unoccluded matched detections.
            e = a.emb[a.det_idx]
            usable = ~np.isnan(e[:, 0]) & a.clean[a.det_idx]
            if usable.any():
                up = rows[usable]
                self._feat[up] = _app.blend(self._feat[up], e[usable], self._p.appearance_momentum)
                self._feat_ms[up] = a.t

    def _life_cycle(self, a: Association) -> tuple[np.ndarray, np.ndarray]:
        """Confirm, lose and delete tracks, start new ones; the ids and keys to return."""
        p, state, t, matched = self._p, a.state, a.t, a.matched
        rows, det_idx = a.rows, a.det_idx
        new_state = state.copy()
        new_state[matched & (state != _TENTATIVE)] = _CONFIRMED
        unmatched_est = ~matched & (state != _TENTATIVE)
        new_state[unmatched_est] = _LOST
        new_state[
            ~matched & (state == _TENTATIVE) & (t - self._last_ms > MAX_TENTATIVE_MISS_MS)
        ] = _DELETED
        new_state[unmatched_est & (t - self._last_ms > p.max_lost_ms)] = _DELETED
        promote = np.flatnonzero(matched & (state == _TENTATIVE) & (self._hits >= p.min_hits))
        if len(promote):
            # Ids in order of confirmation; ties (same update) in detection order.
            order = np.argsort(self._det_of(rows, det_idx, promote), kind="stable")
            promote = promote[order]
            self._id[promote] = np.arange(self._next_id, self._next_id + len(promote))
            self._next_id += len(promote)
            new_state[promote] = _CONFIRMED
        self._state = new_state

        n = len(a.xyxy)
        out = np.full(n, -1, dtype=np.int64)
        keys = np.full(n, -1, dtype=np.int64)
        if len(det_idx):
            confirmed = new_state[rows] == _CONFIRMED
            out[det_idx[confirmed]] = self._id[rows[confirmed]]
            keys[det_idx] = self._key[rows]

        # Births: confident detections that matched nothing.
        births = np.flatnonzero((a.det_track < 0) & (a.conf >= p.birth_confidence))
        keep = new_state != _DELETED
        if not keep.all():
            self._select(keep)
        if len(births):
            first = len(self._id)
            emb = a.emb
            self._add(a.xyxy[births], a.conf[births], t, None if emb is None else emb[births])
            if p.min_hits <= 1:
                new_rows = np.arange(first, first + len(births))
                self._id[new_rows] = np.arange(self._next_id, self._next_id + len(births))
                self._next_id += len(births)
                self._state[new_rows] = _CONFIRMED
                out[births] = self._id[new_rows]
            keys[births] = self._key[first:]
        return out, keys

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._settings.items())
        return f"Tracker({args})"

    # ------------------------------------------------------------------ internals

    def _cost_matrix(
        self, pred_xyxy: np.ndarray, det_xyxy: np.ndarray, tentative: np.ndarray
    ) -> np.ndarray:
        """(T, D) cost of every track against every detection."""
        n_t, n_d = len(pred_xyxy), len(det_xyxy)
        if n_t == 0 or n_d == 0:
            return np.zeros((n_t, n_d))
        cost = np.array(self._p.cost_fn(pred_xyxy, det_xyxy), dtype=np.float64)
        if cost.shape != (n_t, n_d):
            raise InvalidParameterException(
                f"Tracker: cost returned shape {cost.shape}, expected {(n_t, n_d)}"
            )
        if self._p.max_sigma > 0 and len(tentative):
            # Tentative tracks have no velocity yet: let them match anything within
            # max_sigma standard deviations of the prediction (grows with the time step).
            sigma = self._kf.centre_sigmas(tentative, det_xyxy)
            gate = self._p.tentative_gate
            cost[tentative] = np.minimum(cost[tentative], gate * sigma / self._p.max_sigma)
        return cost

    def _embeddings(self, detections: Detections) -> np.ndarray | None:
        """The detections' embeddings (None when there are none or appearance is off)."""
        emb = detections.embedding
        p = self._p
        if emb is None or (p.appearance_weight == 0 and p.max_appearance_distance >= 2):
            return None
        dim = emb.shape[1]
        if self._feat.shape[1] != dim:
            if self._feat.shape[1] and len(self._feat):
                raise InvalidParameterException(
                    f"Tracker.update: embeddings have {dim} values, earlier ones "
                    f"{self._feat.shape[1]}"
                )
            self._feat = np.full((len(self._id), dim), np.nan, dtype=np.float32)
        return emb

    @staticmethod
    def _det_of(rows: np.ndarray, det_idx: np.ndarray, tracks: np.ndarray) -> np.ndarray:
        lookup = dict(zip(rows.tolist(), det_idx.tolist(), strict=True))
        return np.array([lookup[r] for r in tracks.tolist()])

    def _add(self, xyxy: np.ndarray, conf: np.ndarray, t: float, emb: np.ndarray | None) -> None:
        k = len(xyxy)
        dim = self._feat.shape[1]
        feat = np.full((k, dim), np.nan, dtype=np.float32)
        if emb is not None and dim:
            feat[:] = emb
        self._feat = np.concatenate([self._feat, feat])
        self._feat_ms = np.concatenate([self._feat_ms, np.full(k, t)])
        self._kf.add(xyxy)
        self._id = np.concatenate([self._id, np.full(k, -1, dtype=np.int64)])
        self._state = np.concatenate([self._state, np.full(k, _TENTATIVE, np.int8)])
        self._hits = np.concatenate([self._hits, np.ones(k, dtype=np.int64)])
        self._first_ms = np.concatenate([self._first_ms, np.full(k, t)])
        self._last_ms = np.concatenate([self._last_ms, np.full(k, t)])
        self._conf = np.concatenate([self._conf, conf])
        self._key = np.concatenate([self._key, np.arange(self._next_key, self._next_key + k)])
        self._next_key += k

    def _select(self, keep: np.ndarray) -> None:
        self._kf.select(keep)
        for name in _ARRAYS:
            setattr(self, name, getattr(self, name)[keep])


_ARRAYS = (
    "_id", "_state", "_hits", "_first_ms", "_last_ms", "_conf", "_key", "_feat", "_feat_ms",
)  # fmt: skip


def _is_real(value: object) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
