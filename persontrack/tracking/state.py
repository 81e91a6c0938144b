"""A track's life cycle and its read-only snapshot (:attr:`Tracker.tracks`)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

__all__ = ["Track", "TrackState"]


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
    key : int
        A number unique to this track from its birth, tentative or not (see
        :attr:`Tracker.last_keys`).
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
    appearance : numpy.ndarray or None
        (D,) the track's appearance (unit vector), None when it has none.
    """

    id: int
    state: TrackState
    key: int
    xyxy: np.ndarray
    velocity: np.ndarray
    hits: int
    first_seen_ms: float
    last_seen_ms: float
    confidence: float
    appearance: np.ndarray | None = None


# Plain ints for the hot path (enum attribute access is slow).
_TENTATIVE, _CONFIRMED, _LOST, _DELETED = (int(s) for s in TrackState)
