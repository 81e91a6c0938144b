"""The tracker's association cascade: which detection continues which track.

:class:`Association` carries one update's detections and tracks between the stages of
:meth:`Tracker.update`; :func:`cascade` fills in its pairs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..vision.detections import Detections
from . import appearance as _app
from ._association import _match
from .config import TrackerConfig
from .state import _CONFIRMED, _TENTATIVE

__all__ = ["Association", "cascade"]


@dataclass
class Association:
    """What one update's stages pass each other: the detections, the tracks' split, the
    cost matrices and the pairs found so far."""

    t: float
    xyxy: np.ndarray
    conf: np.ndarray
    emb: np.ndarray | None
    state: np.ndarray  # the tracks' states before this update
    high: np.ndarray  # confident detections
    low: np.ndarray  # weak detections
    established: np.ndarray  # tracks with an id
    tentative: np.ndarray
    det_track: np.ndarray  # row of the matched track per detection, -1 where none
    matched: np.ndarray  # per track
    cost: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    rank: np.ndarray | None = None
    clean: np.ndarray | None = None
    det_idx: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    rows: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    @classmethod
    def start(
        cls, p: TrackerConfig, detections: Detections, emb: np.ndarray | None,
        state: np.ndarray, t: float,
    ) -> Association:  # fmt: skip
        """The split of one update's detections and tracks, nothing matched yet."""
        conf = detections.confidence
        n = len(detections)
        return cls(
            t=t,
            xyxy=detections.xyxy,
            conf=conf,
            emb=emb,
            state=state,
            high=np.flatnonzero(conf >= p.high_confidence),
            low=np.flatnonzero((conf >= p.low_confidence) & (conf < p.high_confidence)),
            established=np.flatnonzero(state != _TENTATIVE),
            tentative=np.flatnonzero(state == _TENTATIVE),
            det_track=np.full(n, -1, dtype=np.int64),
            matched=np.zeros(len(state), dtype=bool),
        )

    def assign(self, m_t: np.ndarray, m_d: np.ndarray) -> None:
        """Record the pairs (track rows ``m_t``, detections ``m_d``)."""
        self.det_track[m_d] = m_t
        self.matched[m_t] = True


def cascade(p: TrackerConfig, a: Association, feat: np.ndarray, pred_xyxy: np.ndarray) -> None:
    """ByteTrack's stages, then the appearance rescue; the pairs go into ``a``.

    Confident detections against every track with an id; weak ones only against tracks
    seen on the previous update (stricter gate); confident leftovers against new tracks;
    with embeddings, a leftover that looks like a lost (or weakly matched) track and is
    near its prediction continues it (``feat``: the tracks' appearances, ``pred_xyxy``:
    their predicted boxes).
    """
    est, state = a.established, a.state
    # Confident detections against every track with an id.
    a.assign(*_match(a.cost, est, a.high, p.gate, a.rank))
    # Weak detections may continue a track that was seen on the last update.
    recent = est[(state[est] == _CONFIRMED) & ~a.matched[est]]
    a.assign(*_match(a.cost, recent, a.low, p.low_gate, a.rank))
    weak_only = est[a.matched[est]]
    weak_only = weak_only[~np.isin(weak_only, a.det_track[a.high])]
    # Confident leftovers against tentative tracks.
    high_left = a.high[a.det_track[a.high] < 0]
    a.assign(*_match(a.cost, a.tentative, high_left, p.tentative_gate, a.rank))
    # Appearance: confident leftovers that look like a track with an id which is lost
    # or only got a weak detection, and are near its prediction.
    if a.emb is not None and p.rescue_max_distance > 0:
        high_left = a.high[a.det_track[a.high] < 0]
        free = est[~a.matched[est]]
        rows = np.concatenate([free, weak_only])
        r, c = _app.rescue(p, feat[rows], pred_xyxy[rows], a.emb[high_left], a.xyxy[high_left])
        m_t, m_d = rows[r], high_left[c]
        if len(m_t):
            a.det_track[np.isin(a.det_track, m_t)] = -1  # their weak detections
            a.assign(m_t, m_d)
