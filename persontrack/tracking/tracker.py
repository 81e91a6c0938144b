"""Give each person a stable ``Index`` across frames (tracking by detection).

:class:`Tracker` follows boxes from frame to frame: a Kalman filter predicts where every
track's box (centre, width, height) will be at the next timestamp, the Hungarian method
(:func:`scipy.optimize.linear_sum_assignment`) pairs predictions with detections, and
tracks that are not seen for a while are kept (``LOST``) so people who are occluded for a
moment get their id back. Time is in milliseconds, not frames, so the same settings work
on every frame of a 30 fps video and on one frame a second of it.

Each update:

1. Camera motion: a preliminary association of confirmed tracks gives their median
   unexpected displacement; when enough people agree, every track is shifted by it (a
   pan moves everyone at once, which the per-person velocities cannot foresee).
2. Association in stages (the ByteTrack recipe): confident detections first, against
   every track with an id (seen or lost); then weak detections, which may only continue a
   track seen on the previous update (a partly hidden person scores low; a false alarm
   rarely sits exactly where a track is predicted); then confident leftovers against
   tentative tracks. The default cost mixes IoU with the predicted-centre distance in
   body heights (:func:`combined_cost`); a lost track, whose predicted size drifts with
   the size velocity it had, takes no box of a very different height
   (``lost_size_ratio``). When the detections carry appearance embeddings
   (:attr:`Detections.embedding`, from :class:`~persontrack.vision.reid.AppearanceEmbedder`),
   pairs are ranked by a mix of that cost and the cosine distance to the track's
   appearance, and pairs that look clearly different never match when the box looks
   like another track that could be there (``veto_max_centroid``); appearance never
   widens the motion gate, so it cannot link people far apart. Last, with appearance, a
   confident leftover that looks like a lost (or weakly matched) track within a body
   height of its prediction continues it (``rescue_max_distance``): a person whose box
   suddenly changes shape (whole again after being half hidden) keeps their id.
3. Life cycle: a new track starts from a very confident detection that matched nothing
   and gets an id once matched on ``min_hits`` updates close together, so one-frame false
   positives never get an id; a track not matched is LOST (its velocity decaying) and
   deleted after ``max_lost_ms``.

On five MOT17 training sequences with their public detections the defaults score HOTA
49.9 / IDF1 58.3, ahead of SORT, ByteTrack, OC-SORT, BoT-SORT and norfair on the same
boxes (benchmarks/tracker_mot17.py).

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
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..errors import InvalidParameterException
from ..geometry import box_iou
from ..vision.detections import Detections
from ._association import _holding, _match, _merged_boxes, _to_cxcywh, _to_xyxy
from .costs import COSTS, CostFunction, centroid_cost, combined_cost, iou_cost

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


# ----------------------------------------------------------------------------- tracker

LOST_SIZE_RATIO = 2.5
"""Default ``lost_size_ratio`` of :class:`Tracker`."""
VETO_MAX_CENTROID = 1.0
"""Default ``veto_max_centroid`` of :class:`Tracker` (body heights)."""

# Plain ints for the hot path (enum attribute access is slow).
_TENTATIVE, _CONFIRMED, _LOST, _DELETED = (int(s) for s in TrackState)


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
    max_tentative_miss_ms: float
    max_lost_ms: float
    position_noise: float
    velocity_noise: float
    measurement_noise: float
    max_sigma: float
    lost_velocity_decay_ms: float
    lost_size_ratio: float
    camera_motion_min_tracks: int
    appearance_weight: float
    max_appearance_distance: float
    veto_max_centroid: float
    appearance_momentum: float
    appearance_max_overlap: float
    appearance_refresh_ms: float
    appearance_crowd_distance: float
    appearance_crowd_refresh_ms: float
    appearance_clear_margin: float
    rescue_max_distance: float
    rescue_max_centroid: float
    merged_box_containment: float
    merged_box_min_area: float


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
    birth_confidence : float, default 0.8
        A new track starts only from an unmatched detection at least this confident
        (it may then continue on detections down to ``low_confidence``). Scores depend
        on the detector: public MOT17 Faster R-CNN boxes of people mostly score >= 0.99,
        :class:`~persontrack.vision.detection.PersonDetector` gives 0.77-0.98 on the same
        scenes; lower this if people who never score this high must still get ids.
    min_hits : int, default 2
        Updates a new track must be matched on before it gets an id. 1 gives every
        confident detection an id at once (no false-positive suppression).
    max_tentative_miss_ms : float, default 100.0
        A new (tentative) track is deleted when it has not been matched for longer than
        this, so its ``min_hits`` must come close together; 100 ms forgives a detector
        missing a new person on two frames at 30 fps. 0 deletes it on its first miss.
    max_lost_ms : float, default 6000.0
        How long a track with an id survives without a matching detection (occlusion,
        missed detections) before it is deleted. Long, because a lost track only comes
        back through a close match to its prediction (see ``lost_velocity_decay_ms``).
    lost_velocity_decay_ms : float, default 2000.0
        While a track is lost its predicted velocity decays with this time constant, so
        its prediction stops about ``velocity * lost_velocity_decay_ms`` away instead of
        drifting off (people slow down or stop behind others). 0 keeps the velocity.
    lost_size_ratio : float, default 2.5
        A lost track takes no detection (in the motion stages) whose height is more than
        this many times, or less than its inverse, the track's height after its last
        detection. A lost track's predicted size keeps growing or shrinking with the size
        velocity it had when lost: a man walking towards the camera out of the frame at
        the bottom left (``pedestrian_survaillance.mp4``, box 0.64 of the frame high)
        was predicted 1.1 frame heights tall and 46 pixels wide 1.4 s later, and measured in
        that box's height a person entering at the top left (0.21 high) was near enough
        to continue his track (one Index for two people in a segment's tracker; the
        whole video's tracker, with another velocity, missed it by luck). That pair's
        ratio is 3.0. On MOT17's public boxes (``benchmarks/tracker_mot17.py``) 2.0 cost
        IDF1 (61.5 -> 61.4; MOT17-09 65.7 -> 63.5: people found again half hidden), 2.5
        and 3.0 changed nothing that matters (2.5: HOTA 53.3 -> 53.4, IDSW 367 -> 363);
        PETS09-S2L1 is unchanged from 2.0 up. 0 turns it off.
    position_noise : float, default 0.27
        Kalman process noise of the box centre and size: standard deviation, as a fraction
        of the box height, gained per square root of a second.
    velocity_noise : float, default 1.0
        Kalman process noise of the velocities: standard deviation in box heights per
        second, gained per square root of a second (how fast a person can change speed).
    measurement_noise : float, default 0.05
        Standard deviation of a detection's centre and size, as a fraction of its height.
    max_sigma : float, default 2.0
        Time-aware gate for tentative tracks, whose velocity is not known yet: a
        detection whose centre is within this many standard deviations of the Kalman
        prediction may continue one even when ``cost`` is above the gate. The
        uncertainty grows with the time between updates, so on sampled video (one frame a
        second) new tracks can still be confirmed; at 30 fps it adds almost nothing.
        0 turns it off.
    camera_motion_min_tracks : int, default 5
        Camera-motion compensation: when at least this many tracks seen on the previous
        update match a confident detection in a preliminary association, their median
        unexpected displacement is taken as camera motion and every track is shifted by
        it before the real association. With fewer people the median would be one
        person's own motion, so nothing is shifted. 0 turns it off.
    appearance_weight : float, default 0.5
        Used only when detections carry embeddings. Among the pairs within the motion
        gate, the Hungarian method minimises ``(1 - w) * cost + w * cosine_distance``
        (track appearance against detection embedding), so when two people cross, each
        track keeps the one who looks like it. 0 ignores appearance.
    max_appearance_distance : float, default 0.6
        A track never takes a detection farther than this from its appearance when the
        detection is within this of another track's appearance, however well the boxes
        agree: it is the other person (crossing, or stepping where a hidden person was
        predicted). A detection unlike every track (a crop of someone behind a sign) is
        left to motion, and so is one overlapping another detection
        (``appearance_max_overlap``), whose crop is partly someone else. On PETS09-S2L1 with the
        0277 model the same person's boxes are mostly below 0.4 from their track's
        appearance, other people mostly above 0.6 (benchmarks/tracking_pets09.py).
        2 (the largest cosine distance) turns the veto off.
    veto_max_centroid : float, default 1.0
        For a track seen on the previous update, the veto above counts only the other
        tracks predicted within this many mean body heights (centre distance,
        :func:`centroid_cost`) of the detection: its motion is sure, and a look-alike
        elsewhere (someone who left the view seconds ago, its prediction stopped at the
        edge) is no evidence that the box is someone else's. Lost and new tracks, whose
        place is uncertain, are vetoed by a look-alike anywhere. On
        ``pedestrian_survaillance.mp4`` a man's box, on his prediction on consecutive
        frames, was 0.64 from his track's appearance (made from 2 crops) and 0.599 from
        a track lost 4 s before at the far edge of the frame: vetoed, the man got a second
        Index. 0.5, 1 and 2 give the same results there and on PETS09-S2L1 (identity
        IDF1 92.0 unchanged, as with no limit); the crossings the veto is for happen
        within one body height.
    appearance_momentum : float, default 0.9
        A track's appearance is an exponential moving average of the embeddings of its
        detections: ``a <- m * a + (1 - m) * e``, renormalised. High, so a few
        contaminated crops do not replace who the track is.
    appearance_max_overlap : float, default 0.3
        A matched detection updates the track's appearance (and can be vetoed) only when
        its box overlaps no other detection by more than this IoU: the crop of a person
        half hidden behind another is mostly the other person.
    appearance_refresh_ms : float, default 0.0
        Used by :meth:`appearance_due` only, to embed fewer crops: a detection that can
        only be one track (the only detection within the motion gate of a track that is
        the only track within its gate) needs no embedding while that track's appearance
        was updated within this many milliseconds; new, contested or unexplained
        detections always do. 0 asks for every detection.
    appearance_crowd_distance : float, default 1.0
        For :meth:`appearance_due`: a detection with another detection or a second
        track's prediction within this many mean body heights (centre distance,
        :func:`centroid_cost`) is crowded: it is embedded when its track's appearance
        is older than ``appearance_crowd_refresh_ms``, so tracks about to cross carry a
        fresh appearance from before they overlap. One whose box touches another
        detection's or a second track's prediction is always embedded.
    appearance_crowd_refresh_ms : float, default 0.0
        ``appearance_refresh_ms`` for crowded detections. 0 embeds them all.
    appearance_clear_margin : float, default 0.0
        For :meth:`appearance_due`: a touching detection that motion alone settles is
        only crowded (embedded after ``appearance_crowd_refresh_ms``), not embedded on
        every update. Settled: its cheapest track is confirmed and its cost is lower by
        at least this (in ``cost`` units, costs above ``max_cost`` counted as
        ``max_cost``) than that of any other track for it and of any other detection for
        that track; no other lost or tentative track is within the gate or touches it
        (their predictions are guesses); and every detection it touches is explained by
        a confirmed track (a newcomer beside a track is what appearance must tell
        apart). Ties and near-ties, where the appearance ranking decides, stay due on
        every update. 0 (the default) turns it off: every touching detection is due. The video
        pipeline uses 0.3 (:data:`persontrack.pipeline.VIDEO_TRACKER_SETTINGS`): on
        ``pedestrian_survaillance.mp4`` (people walking in groups, nearly every box
        touching another) it embeds 1.5 crops a frame instead of 3.9, with the same
        Indexes (15, whole and in 4 segments; 0.2 and 0.4 too); on PETS09-S2L1 (864 px)
        2.0 instead of 2.8, identity HOTA 65.5 / IDF1 92.0 / 4 ID switches unchanged
        (0.2 the same; 0.1 IDF1 91.9; 0.4 and 0.5 split one short track in two). The
        margin alone was not enough there: a box at the frame's edge beside a lost
        track, and a man's box beside a newcomer not yet confirmed, skipped, each gave
        a person a second Index on ``pedestrian_survaillance.mp4``.
    rescue_max_distance : float, default 0.25
        Used only with embeddings; a last association stage. A confident detection left
        unmatched (it would start a new track) goes to a track with an id that is lost,
        or that only got a weak detection this update, when its crop is within this
        cosine distance of the track's appearance and its centre within
        ``rescue_max_centroid`` body heights of the track's prediction (the weak
        detection is then dropped). It catches a person whose box suddenly changes
        size, so the motion gate misses it: the whole body found again after only the
        head and shoulders showed above someone in front, or one box around two people
        splitting. 0 turns it off.
    rescue_max_centroid : float, default 1.0
        The motion gate of that stage: centre distance in mean body heights
        (:func:`centroid_cost`).
    merged_box_containment : float, default 0.0
        One box around two people is neither of them: a detection that holds at least
        this share of the predicted boxes of two or more tracks with an id (seen or
        lost), while at least ``merged_box_min_area`` times the area of each and holding
        no track's prediction of about its own size, continues no track and starts none;
        both people are missed on that frame (and found again when the detector
        separates them) instead of one of them taking the other's box. 0 (the default)
        turns it off: on MOT17's public boxes it cost 1 HOTA (people in crowds stand
        half inside each other's boxes). The video pipeline uses 0.6
        (:data:`persontrack.pipeline.VIDEO_TRACKER_SETTINGS`): on PETS09-S2L1 its
        detector's merged boxes, where one person walks in front of another, went to the
        wrong track for one to three frames (6 of 17 ID switches); 0.8 caught 2 of them
        (the prediction of a person missed on the frame before drifts off the box).
        The same setting also handles one box around *one* person with an id and
        something else (the sign they walk behind): a confident detection left over
        after the stages above that holds this share of the prediction of a track with
        an id, at least ``merged_box_min_area`` times its area, continues that track
        when it was seen on the previous update and got no box now (unless the box holds
        another track's prediction, or its crop is unlike the track and like another
        track by ``max_appearance_distance``: then it is the other person's), and starts
        no track when that track got a box of its own. On PETS09-S2L1 (864 px) such a
        box (a man and the sign) started a second track of the man that took him over
        for 3 s (2 ID switches): 6 → 4 switches, identity IDF1 91.6 → 92.0. Each half
        alone changed no switch; without the appearance condition a man's track took
        the box of a woman he met at the lamp post (0277 on every crop: 91.5 → 85.2).
    merged_box_min_area : float, default 1.3
        See ``merged_box_containment``: the merged boxes on PETS09-S2L1 were 1.26 to 2.7
        times the area of each person's prediction; a person's own box is about 1 times
        theirs, but more for someone walking towards the camera while lost (the
        prediction keeps its old size). On PETS09-S2L1 (864 px), 1.2 to 1.4 all give 4
        ID switches (identity IDF1 91.8 to 92.0); on ``data/sample.mp4`` (every 3rd
        frame) 1.2 took a man walking towards the camera for a merge (a segment's tracker
        lost both people on one frame) and 1.4 swapped the two people's Indexes.

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
        birth_confidence: float = 0.8,
        min_hits: int = 2,
        max_tentative_miss_ms: float = 100.0,
        max_lost_ms: float = 6000.0,
        lost_velocity_decay_ms: float = 2000.0,
        lost_size_ratio: float = LOST_SIZE_RATIO,
        position_noise: float = 0.27,
        velocity_noise: float = 1.0,
        measurement_noise: float = 0.05,
        max_sigma: float = 2.0,
        camera_motion_min_tracks: int = 5,
        appearance_weight: float = 0.5,
        max_appearance_distance: float = 0.6,
        veto_max_centroid: float = VETO_MAX_CENTROID,
        appearance_momentum: float = 0.9,
        appearance_max_overlap: float = 0.3,
        appearance_refresh_ms: float = 0.0,
        appearance_crowd_distance: float = 1.0,
        appearance_crowd_refresh_ms: float = 0.0,
        appearance_clear_margin: float = 0.0,
        rescue_max_distance: float = 0.25,
        rescue_max_centroid: float = 1.0,
        merged_box_containment: float = 0.0,
        merged_box_min_area: float = 1.3,
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
        for name, value, high in (
            ("appearance_weight", appearance_weight, 1.0),
            ("max_appearance_distance", max_appearance_distance, 2.0),
            ("appearance_momentum", appearance_momentum, 1.0),
            ("appearance_max_overlap", appearance_max_overlap, 1.0),
            ("rescue_max_distance", rescue_max_distance, 2.0),
            ("merged_box_containment", merged_box_containment, 1.0),
        ):
            if not _is_real(value) or not 0.0 <= value <= high:
                raise InvalidParameterException(
                    f"Tracker: {name} must be in [0, {high:g}], got {value!r}"
                )
        _int_at_least("min_hits", min_hits, 1)
        if not _is_real(merged_box_min_area) or not 1.0 <= merged_box_min_area < math.inf:
            raise InvalidParameterException(
                f"Tracker: merged_box_min_area must be a finite number >= 1, "
                f"got {merged_box_min_area!r}"
            )
        _int_at_least("camera_motion_min_tracks", camera_motion_min_tracks, 0)
        if _non_negative("lost_size_ratio", lost_size_ratio) and lost_size_ratio < 1.0:
            raise InvalidParameterException(
                f"Tracker: lost_size_ratio must be 0 (off) or at least 1, got {lost_size_ratio!r}"
            )
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
            max_tentative_miss_ms=_non_negative("max_tentative_miss_ms", max_tentative_miss_ms),
            max_lost_ms=float(max_lost_ms),
            position_noise=_positive("position_noise", position_noise),
            velocity_noise=_positive("velocity_noise", velocity_noise),
            measurement_noise=_positive("measurement_noise", measurement_noise),
            max_sigma=_non_negative("max_sigma", max_sigma),
            lost_velocity_decay_ms=_non_negative("lost_velocity_decay_ms", lost_velocity_decay_ms),
            lost_size_ratio=_non_negative("lost_size_ratio", lost_size_ratio),
            camera_motion_min_tracks=int(camera_motion_min_tracks),
            appearance_weight=float(appearance_weight),
            max_appearance_distance=float(max_appearance_distance),
            veto_max_centroid=_non_negative("veto_max_centroid", veto_max_centroid),
            appearance_momentum=float(appearance_momentum),
            appearance_max_overlap=float(appearance_max_overlap),
            appearance_refresh_ms=_non_negative("appearance_refresh_ms", appearance_refresh_ms),
            appearance_crowd_distance=_non_negative(
                "appearance_crowd_distance", appearance_crowd_distance
            ),
            appearance_crowd_refresh_ms=_non_negative(
                "appearance_crowd_refresh_ms", appearance_crowd_refresh_ms
            ),
            appearance_clear_margin=_non_negative(
                "appearance_clear_margin", appearance_clear_margin
            ),
            rescue_max_distance=float(rescue_max_distance),
            rescue_max_centroid=_non_negative("rescue_max_centroid", rescue_max_centroid),
            merged_box_containment=float(merged_box_containment),
            merged_box_min_area=float(merged_box_min_area),
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
            "max_tentative_miss_ms": float(max_tentative_miss_ms),
            "max_lost_ms": float(max_lost_ms),
            "position_noise": self._p.position_noise,
            "velocity_noise": self._p.velocity_noise,
            "measurement_noise": self._p.measurement_noise,
            "max_sigma": self._p.max_sigma,
            "lost_velocity_decay_ms": self._p.lost_velocity_decay_ms,
            "lost_size_ratio": self._p.lost_size_ratio,
            "camera_motion_min_tracks": self._p.camera_motion_min_tracks,
            "appearance_weight": self._p.appearance_weight,
            "max_appearance_distance": self._p.max_appearance_distance,
            "veto_max_centroid": self._p.veto_max_centroid,
            "appearance_momentum": self._p.appearance_momentum,
            "appearance_max_overlap": self._p.appearance_max_overlap,
            "appearance_refresh_ms": self._p.appearance_refresh_ms,
            "appearance_crowd_distance": self._p.appearance_crowd_distance,
            "appearance_crowd_refresh_ms": self._p.appearance_crowd_refresh_ms,
            "appearance_clear_margin": self._p.appearance_clear_margin,
            "rescue_max_distance": self._p.rescue_max_distance,
            "rescue_max_centroid": self._p.rescue_max_centroid,
            "merged_box_containment": self._p.merged_box_containment,
            "merged_box_min_area": self._p.merged_box_min_area,
        }
        self.reset()

    # ------------------------------------------------------------------ public API

    @property
    def settings(self) -> dict[str, object]:
        """The resolved settings (a copy), e.g. to store next to results."""
        return dict(self._settings)

    def reset(self) -> None:
        """Forget every track and start ids at 0 again (e.g. for the next video)."""
        # Kalman state per track: x = [cx, cy, w, h] and their velocities v (per second).
        # Each of the four coordinates is an independent constant-velocity filter (the
        # noises are diagonal), so the covariance is four 2x2 blocks: pxx, pxv, pvv.
        self._x = np.zeros((0, 4))
        self._v = np.zeros((0, 4))
        self._pxx = np.zeros((0, 4))
        self._pxv = np.zeros((0, 4))
        self._pvv = np.zeros((0, 4))
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
        self._seen_h = np.zeros(0)  # box height after the last Kalman update
        self._next_id = 0
        self._next_key = 0
        self._last_keys = np.zeros(0, dtype=np.int64)
        self._time_ms: float | None = None

    @property
    def tracks(self) -> tuple[Track, ...]:
        """Live tracks (tentative, confirmed and lost) as read-only snapshots."""
        out = []
        for i in range(len(self._id)):
            xyxy = _to_xyxy(self._x[i : i + 1])[0]
            vel = self._v[i, :2].copy()
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
        p = self._p
        due = np.ones(len(boxes), dtype=bool)
        if p.appearance_refresh_ms <= 0 or not len(boxes) or not len(self._id):
            return due
        dt = 0.0 if self._time_ms is None else max(float(timestamp_ms) - self._time_ms, 0.0)
        pred = _to_xyxy(self._x + dt / 1000.0 * self._v)
        cost = np.asarray(p.cost(pred, boxes), dtype=np.float64)
        own = cost.argmin(axis=0)  # the track each detection would most likely continue
        explained = cost[own, np.arange(len(boxes))] <= p.max_cost
        # Crowded: a second track or another detection within the crowd distance;
        # touching: a second track's or another detection's box overlaps.
        crowded = ((centroid_cost(pred, boxes) <= p.appearance_crowd_distance).sum(axis=0) > 1) | (
            (centroid_cost(boxes, boxes) <= p.appearance_crowd_distance).sum(axis=0) > 1
        )
        track_touch, det_touch = box_iou(pred, boxes) > 0, box_iou(boxes, boxes) > 0
        touching = (track_touch.sum(axis=0) > 1) | (det_touch.sum(axis=0) > 1)
        if p.appearance_clear_margin > 0 and touching.any():
            # Touching but settled by motion: waits for the crowd refresh.
            track_touch[own, np.arange(len(boxes))] = False
            touching &= ~self._clear_to_motion(cost, own, explained, track_touch, det_touch)
        known = ~np.isnan(self._feat[own, 0]) if self._feat.shape[1] else np.zeros(len(own), bool)
        age = float(timestamp_ms) - self._feat_ms[own]
        fresh = age <= np.where(crowded, p.appearance_crowd_refresh_ms, p.appearance_refresh_ms)
        due[explained & known & ~touching & fresh] = False
        return due

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
        if len(self._id):
            # Tracks unseen for longer than max_lost_ms are gone before matching, however
            # long ago the previous update was.
            expired = (self._state != _TENTATIVE) & (t - self._last_ms > p.max_lost_ms)
            if expired.any():
                self._select(~expired)
        if self._time_ms is not None and len(self._id):
            self._predict((t - self._time_ms) / 1000.0)
        self._time_ms = t

        n = len(detections)
        xyxy = detections.xyxy
        conf = detections.confidence
        emb = self._embeddings(detections)
        det_track = np.full(n, -1, dtype=np.int64)  # row of the matched track per detection

        high = np.flatnonzero(conf >= p.high_confidence)
        low = np.flatnonzero((conf >= p.low_confidence) & (conf < p.high_confidence))
        state = self._state
        established = np.flatnonzero(state != _TENTATIVE)
        tentative = np.flatnonzero(state == _TENTATIVE)
        pred_xyxy = _to_xyxy(self._x)
        matched_t = np.zeros(len(state), dtype=bool)

        def assign(m_t: np.ndarray, m_d: np.ndarray) -> None:
            det_track[m_d] = m_t
            matched_t[m_t] = True

        # Costs of every track against every detection, computed once (twice when the
        # camera moved); each stage below matches a block of it.
        cost = self._cost_matrix(pred_xyxy, xyxy, tentative)
        if p.camera_motion_min_tracks and self._compensate_camera(cost, xyxy, high, established):
            cost = self._cost_matrix(_to_xyxy(self._x), xyxy, tentative)
        if p.lost_size_ratio and len(cost):
            cost = self._size_gate(cost, xyxy)
        # One box around two people with ids is neither's (and no one new).
        merged = np.zeros(n, dtype=bool)
        if p.merged_box_containment > 0:
            merged = _merged_boxes(
                _to_xyxy(self._x),
                xyxy,
                state != _TENTATIVE,
                p.merged_box_containment,
                p.merged_box_min_area,
            )
            if merged.any():
                high, low = high[~merged[high]], low[~merged[low]]
        # Appearance ranks the pairs within the motion gate and vetoes unlike ones.
        rank = None
        clean = None
        if emb is not None:
            clean = self._unoccluded(xyxy, _to_xyxy(self._x[established]))
            if len(cost):
                cost, rank = self._appearance(cost, emb, clean, xyxy)

        # Stage 1: confident detections against every track with an id.
        assign(*_match(cost, established, high, p.max_cost, rank))
        # Stage 2: weak detections may continue a track that was seen on the last update.
        recent = established[(state[established] == _CONFIRMED) & ~matched_t[established]]
        assign(*_match(cost, recent, low, p.low_max_cost, rank))
        weak_only = established[matched_t[established]]
        weak_only = weak_only[~np.isin(weak_only, det_track[high])]
        # Stage 3: confident leftovers against tentative tracks.
        high_left = high[det_track[high] < 0]
        assign(*_match(cost, tentative, high_left, p.tentative_max_cost, rank))
        # Stage 4 (appearance): confident leftovers that look like a track with an id
        # which is lost or only got a weak detection, and are near its prediction.
        if emb is not None and p.rescue_max_distance > 0:
            high_left = high[det_track[high] < 0]
            free = established[~matched_t[established]]
            m_t, m_d = self._rescue(np.concatenate([free, weak_only]), high_left, emb, xyxy)
            if len(m_t):
                det_track[np.isin(det_track, m_t)] = -1  # their weak detections
                assign(m_t, m_d)

        # A box around a person with an id and more (the sign they walk behind): it
        # continues their track when they got no box of their own, else it starts none.
        if p.merged_box_containment > 0:
            recent = established[(state[established] == _CONFIRMED) & ~matched_t[established]]
            around = self._around_one(recent, high[det_track[high] < 0], xyxy, established, emb)
            assign(*around)
            merged |= self._around_matched(det_track, xyxy, matched_t & (state != _TENTATIVE))

        # Kalman update of every matched track.
        det_idx = np.flatnonzero(det_track >= 0)
        rows = det_track[det_idx]
        if len(rows):
            self._correct(rows, xyxy[det_idx])
            self._hits[rows] += 1
            self._last_ms[rows] = t
            self._conf[rows] = conf[det_idx]
            if emb is not None and clean is not None:
                self._update_appearance(rows, emb[det_idx], clean[det_idx], t)

        # Life cycle: confirm, lose, delete.
        new_state = state.copy()
        new_state[matched_t & (state != _TENTATIVE)] = _CONFIRMED
        unmatched_est = ~matched_t & (state != _TENTATIVE)
        new_state[unmatched_est] = _LOST
        new_state[
            ~matched_t & (state == _TENTATIVE) & (t - self._last_ms > p.max_tentative_miss_ms)
        ] = _DELETED
        new_state[unmatched_est & (t - self._last_ms > p.max_lost_ms)] = _DELETED
        promote = np.flatnonzero(matched_t & (state == _TENTATIVE) & (self._hits >= p.min_hits))
        if len(promote):
            # Ids in order of confirmation; ties (same update) in detection order.
            order = np.argsort(self._det_of(rows, det_idx, promote), kind="stable")
            promote = promote[order]
            self._id[promote] = np.arange(self._next_id, self._next_id + len(promote))
            self._next_id += len(promote)
            new_state[promote] = _CONFIRMED
        self._state = new_state

        out = np.full(n, -1, dtype=np.int64)
        keys = np.full(n, -1, dtype=np.int64)
        if len(det_idx):
            confirmed = new_state[rows] == _CONFIRMED
            out[det_idx[confirmed]] = self._id[rows[confirmed]]
            keys[det_idx] = self._key[rows]

        # Births: confident detections that matched nothing.
        births = np.flatnonzero((det_track < 0) & (conf >= p.birth_confidence) & ~merged)
        keep = new_state != _DELETED
        if not keep.all():
            self._select(keep)
        if len(births):
            first = len(self._id)
            self._add(xyxy[births], conf[births], t, None if emb is None else emb[births])
            if p.min_hits <= 1:
                new_rows = np.arange(first, first + len(births))
                self._id[new_rows] = np.arange(self._next_id, self._next_id + len(births))
                self._next_id += len(births)
                self._state[new_rows] = _CONFIRMED
                out[births] = self._id[new_rows]
            keys[births] = self._key[first:]
        self._last_keys = keys
        return out

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
        cost = np.array(self._p.cost(pred_xyxy, det_xyxy), dtype=np.float64)
        if cost.shape != (n_t, n_d):
            raise InvalidParameterException(
                f"Tracker: cost returned shape {cost.shape}, expected {(n_t, n_d)}"
            )
        if self._p.max_sigma > 0 and len(tentative):
            # Tentative tracks have no velocity yet: let them match anything within
            # max_sigma standard deviations of the prediction (grows with the time step).
            sigma = self._centre_sigmas(tentative, det_xyxy)
            gate = self._p.tentative_max_cost
            cost[tentative] = np.minimum(cost[tentative], gate * sigma / self._p.max_sigma)
        return cost

    def _clear_to_motion(
        self,
        cost: np.ndarray,
        own: np.ndarray,
        explained: np.ndarray,
        track_touch: np.ndarray,
        det_touch: np.ndarray,
    ) -> np.ndarray:
        """(D,) whether motion alone settles each detection, so appearance cannot matter.

        Its best track ``own`` is confirmed, and its (T, D) ``cost`` is lower by at
        least ``appearance_clear_margin`` than that of every other track for it and than
        that of every other detection for that track (costs above ``max_cost`` count as
        ``max_cost``: such pairs never match); no other lost or tentative track is within
        the gate or touches it (``track_touch``, (T, D) bool, False for ``own``): their
        predictions are guesses, the person may be coming back right there; and every
        detection its box touches (``det_touch``, (D, D) bool) is explained by a
        confirmed track (a newcomer beside a track is what appearance must tell apart).
        """
        p = self._p
        c = np.minimum(cost, p.max_cost)
        cols = np.arange(c.shape[1])
        best = c[own, cols]
        # Another track for this detection, another detection for this track.
        others = c.copy()
        others[own, cols] = np.inf
        rival_track = others.min(axis=0, initial=np.inf)
        same_track = c[own]  # (D, D): each detection's best track against every detection
        same_track[cols, cols] = np.inf
        rival_det = same_track.min(axis=1, initial=np.inf)
        margin = p.appearance_clear_margin
        clear = (rival_track - best >= margin) & (rival_det - best >= margin)
        # Lost and tentative tracks' predictions are guesses.
        guess = self._state != _CONFIRMED
        clear &= ~guess[own]
        clear &= ~(guess[:, None] & ((others < p.max_cost) | track_touch)).any(axis=0)
        settled = explained & ~guess[own]
        touch = det_touch.copy()
        touch[cols, cols] = False
        clear &= ~(touch & ~settled[None, :]).any(axis=1)
        return np.asarray(clear)

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

    def _around_one(
        self,
        rows: np.ndarray,
        cols: np.ndarray,
        xyxy: np.ndarray,
        established: np.ndarray,
        emb: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Pairs of tracks ``rows`` and leftover detections ``cols`` around them.

        A detection holding at least ``merged_box_containment`` of one of ``rows``'
        predicted boxes, at least ``merged_box_min_area`` times its area, and holding no
        other prediction of ``established``; each track and detection in one pair at most.
        With embeddings, not a detection unlike the track that looks like another track
        (``max_appearance_distance``): it is that person's box, not this one's and more.
        """
        if not len(rows) or not len(cols):
            return rows[:0], cols[:0]
        p = self._p
        held, bigger = _holding(
            _to_xyxy(self._x[established]),
            xyxy[cols],
            p.merged_box_containment,
            p.merged_box_min_area,
        )
        around = held & bigger & np.isin(established, rows)[:, None]
        if emb is not None and self._feat.shape[1]:
            dist = 1.0 - self._feat[established].astype(np.float64) @ emb[cols].T
            known = ~np.isnan(dist)
            alike = known & (dist <= p.max_appearance_distance)
            around &= ~(known & ~alike & alike.any(axis=0))
        ok = (around.sum(axis=0) == 1) & (held.sum(axis=0) == 1)
        pick = around[:, ok].argmax(axis=0)  # each such detection's one track
        once = np.bincount(pick, minlength=len(established))[pick] == 1
        return established[pick[once]], cols[ok][once]

    def _around_matched(
        self, det_track: np.ndarray, xyxy: np.ndarray, matched: np.ndarray
    ) -> np.ndarray:
        """(N,) unmatched detections around the prediction of a ``matched`` track (bool
        mask over tracks): at least ``merged_box_containment`` of it, at least
        ``merged_box_min_area`` times its area."""
        rows = np.flatnonzero(matched)
        out = np.zeros(len(xyxy), dtype=bool)
        free = det_track < 0
        if not len(rows) or not free.any():
            return out
        p = self._p
        held, bigger = _holding(
            _to_xyxy(self._x[rows]), xyxy[free], p.merged_box_containment, p.merged_box_min_area
        )
        out[free] = (held & bigger).any(axis=0)
        return out

    def _unoccluded(self, xyxy: np.ndarray, pred_xyxy: np.ndarray) -> np.ndarray:
        """(N,) whether each box overlaps no other box, and at most one of the tracks'
        predicted boxes, by more than appearance_max_overlap (IoU): the crop holds one
        person, even where the detector saw only one box around two."""
        limit = self._p.appearance_max_overlap
        out = (box_iou(pred_xyxy, xyxy) > limit).sum(axis=0) <= 1
        if len(xyxy) > 1:
            iou = box_iou(xyxy, xyxy)
            np.fill_diagonal(iou, 0.0)
            out &= iou.max(axis=1) <= limit
        return np.asarray(out)

    def _size_gate(self, cost: np.ndarray, xyxy: np.ndarray) -> np.ndarray:
        """``cost`` with the pairs of lost tracks and detections whose height is not
        within ``lost_size_ratio`` of the height the track was last measured at vetoed."""
        lost = np.flatnonzero(self._state == _LOST)
        if not len(lost):
            return cost
        ratio = (xyxy[:, 3] - xyxy[:, 1])[None, :] / self._seen_h[lost, None]
        r = self._p.lost_size_ratio
        out = cost.copy()
        out[lost] = np.where((ratio > r) | (ratio < 1.0 / r), np.inf, cost[lost])
        return out

    def _appearance(
        self, cost: np.ndarray, emb: np.ndarray, clean: np.ndarray, xyxy: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Motion cost with unlike pairs vetoed, and the ranking cost mixing appearance.

        A pair is vetoed when the detection is unlike the track but like another
        track predicted within ``veto_max_centroid`` body heights of it (it is someone
        else), and only for unoccluded detections: the crop of a person behind a sign or
        another person looks unlike everyone.
        """
        p = self._p
        dist = 1.0 - self._feat.astype(np.float64) @ emb.T.astype(np.float64)
        known = ~np.isnan(dist)
        gate = cost
        if p.max_appearance_distance < 2.0:
            unlike = known & (dist > p.max_appearance_distance)
            # Someone else's: the detection looks like another track, not like this one.
            # A track seen on the previous update is sure of where it is: only a
            # look-alike track predicted near the detection takes the box from it.
            alike = known & ~unlike
            other = np.any(alike, axis=0)
            near = centroid_cost(_to_xyxy(self._x), xyxy) <= p.veto_max_centroid
            other_near = np.any(alike & near, axis=0)
            seen = (self._state == _CONFIRMED)[:, None]
            veto = unlike & clean[None, :] & np.where(seen, other_near[None, :], other[None, :])
            gate = np.where(veto, np.inf, cost)
        rank = np.where(known, (1 - p.appearance_weight) * cost + p.appearance_weight * dist, cost)
        return gate, rank

    def _rescue(
        self, rows: np.ndarray, cols: np.ndarray, emb: np.ndarray, xyxy: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Stage 4 pairs: ``rows`` (tracks) and ``cols`` (detections) alike and near."""
        if not len(rows) or not len(cols):
            return rows[:0], cols[:0]
        p = self._p
        dist = 1.0 - self._feat[rows].astype(np.float64) @ emb[cols].T.astype(np.float64)
        near = centroid_cost(_to_xyxy(self._x[rows]), xyxy[cols]) <= p.rescue_max_centroid
        ok = near & (dist <= p.rescue_max_distance)  # False where NaN
        if not ok.any():
            return rows[:0], cols[:0]
        r, c = linear_sum_assignment(np.where(ok, dist, 10.0))
        good = ok[r, c]
        return rows[r[good]], cols[c[good]]

    def _update_appearance(
        self, rows: np.ndarray, e: np.ndarray, clean: np.ndarray, t: float
    ) -> None:
        """Moving average of the embeddings of unoccluded matched detections."""
        usable = ~np.isnan(e[:, 0]) & clean
        if not usable.any():
            return
        rows, e = rows[usable], e[usable]
        old = self._feat[rows]
        fresh = np.isnan(old[:, 0])
        m = self._p.appearance_momentum
        new = np.where(fresh[:, None], e, m * old + (1 - m) * e)
        new /= np.maximum(np.linalg.norm(new, axis=1, keepdims=True), 1e-12)
        self._feat[rows] = new
        self._feat_ms[rows] = t

    def _compensate_camera(
        self, cost: np.ndarray, xyxy: np.ndarray, high: np.ndarray, established: np.ndarray
    ) -> bool:
        """Shift every track by the median unexplained motion of the confirmed ones.

        When the camera pans, every person seems to move the same way at once; the
        Kalman velocities lag behind, so predictions of everyone (and most of all of the
        lost tracks, which get no correction) are off by the same offset. Returns whether
        the tracks were shifted.
        """
        k = self._p.camera_motion_min_tracks
        confirmed = established[self._state[established] == _CONFIRMED]
        if len(confirmed) < k or len(high) < k:
            return False
        m_t, m_d = _match(cost, confirmed, high, self._p.max_cost)
        if len(m_t) < k:
            return False
        shift = np.median(_to_cxcywh(xyxy[m_d])[:, :2] - self._x[m_t, :2], axis=0)
        self._x[:, :2] += shift
        return True

    def _centre_sigmas(self, track_rows: np.ndarray, det_xyxy: np.ndarray) -> np.ndarray:
        """(T, D) Mahalanobis distance of detection centres from predicted track centres."""
        x = self._x[track_rows]
        r = (self._p.measurement_noise * np.maximum(x[:, 3], 1.0)) ** 2
        var = self._pxx[track_rows, :2] + r[:, None]
        dx = (det_xyxy[None, :, 0] + det_xyxy[None, :, 2]) / 2 - x[:, None, 0]
        dy = (det_xyxy[None, :, 1] + det_xyxy[None, :, 3]) / 2 - x[:, None, 1]
        return np.sqrt(dx * dx / var[:, 0, None] + dy * dy / var[:, 1, None])

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
        z = _to_cxcywh(xyxy)
        h2 = np.maximum(z[:, 3:4], 1.0) ** 2
        self._x = np.concatenate([self._x, z])
        self._seen_h = np.concatenate([self._seen_h, z[:, 3]])
        self._v = np.concatenate([self._v, np.zeros((k, 4))])
        # Position as uncertain as two measurements; velocity unknown: about one body
        # height per second either way.
        self._pxx = np.concatenate([self._pxx, (2 * self._p.measurement_noise) ** 2 * h2 * _ONES])
        self._pxv = np.concatenate([self._pxv, np.zeros((k, 4))])
        self._pvv = np.concatenate([self._pvv, h2 * _ONES])
        self._id = np.concatenate([self._id, np.full(k, -1, dtype=np.int64)])
        self._state = np.concatenate([self._state, np.full(k, _TENTATIVE, np.int8)])
        self._hits = np.concatenate([self._hits, np.ones(k, dtype=np.int64)])
        self._first_ms = np.concatenate([self._first_ms, np.full(k, t)])
        self._last_ms = np.concatenate([self._last_ms, np.full(k, t)])
        self._conf = np.concatenate([self._conf, conf])
        self._key = np.concatenate([self._key, np.arange(self._next_key, self._next_key + k)])
        self._next_key += k

    def _select(self, keep: np.ndarray) -> None:
        for name in _ARRAYS:
            setattr(self, name, getattr(self, name)[keep])

    def _predict(self, dt: float) -> None:
        """Constant-velocity Kalman prediction of every track, ``dt`` seconds ahead."""
        p = self._p
        tau = p.lost_velocity_decay_ms
        if tau:
            lost = self._state == _LOST
            if lost.any():
                self._v[lost] *= math.exp(-dt * 1000.0 / tau)
        self._x += dt * self._v
        # Width and height cannot go below one pixel however the size velocity points.
        np.maximum(self._x[:, 2:4], 1.0, out=self._x[:, 2:4])
        h2 = (np.maximum(self._x[:, 3:4], 1.0) ** 2) * dt
        self._pxx += dt * (2 * self._pxv + dt * self._pvv) + p.position_noise**2 * h2
        self._pxv += dt * self._pvv
        self._pvv += p.velocity_noise**2 * h2

    def _correct(self, rows: np.ndarray, xyxy: np.ndarray) -> None:
        """Kalman update of tracks ``rows`` with measured boxes ``xyxy``."""
        z = _to_cxcywh(xyxy)
        r = (self._p.measurement_noise * np.maximum(z[:, 3:4], 1.0)) ** 2
        pxx, pxv, pvv = self._pxx[rows], self._pxv[rows], self._pvv[rows]
        s = pxx + r
        kx = pxx / s
        kv = pxv / s
        innovation = z - self._x[rows]
        self._x[rows] += kx * innovation
        self._v[rows] += kv * innovation
        self._pxx[rows] = (1 - kx) * pxx
        self._pxv[rows] = (1 - kx) * pxv
        self._pvv[rows] = pvv - kv * pxv
        self._seen_h[rows] = self._x[rows, 3]


_ONES = np.ones((1, 4))
_ARRAYS = (
    "_x",
    "_v",
    "_pxx",
    "_pxv",
    "_pvv",
    "_id",
    "_state",
    "_hits",
    "_first_ms",
    "_last_ms",
    "_conf",
    "_key",
    "_feat",
    "_feat_ms",
    "_seen_h",
)


def _is_real(value: object) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _int_at_least(name: str, value: object, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidParameterException(f"Tracker: {name} must be an int, got {value!r}")
    if value < low:
        raise InvalidParameterException(f"Tracker: {name} must be >= {low}, got {value}")


def _non_negative(name: str, value: object) -> float:
    if not _is_real(value) or not 0.0 <= float(value) < math.inf:  # type: ignore[arg-type]
        raise InvalidParameterException(
            f"Tracker: {name} must be a finite number >= 0, got {value!r}"
        )
    return float(value)  # type: ignore[arg-type]


def _positive(name: str, value: object) -> float:
    if not _is_real(value) or not 0.0 < float(value) < math.inf:  # type: ignore[arg-type]
        raise InvalidParameterException(
            f"Tracker: {name} must be a finite number > 0, got {value!r}"
        )
    return float(value)  # type: ignore[arg-type]
