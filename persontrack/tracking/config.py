"""The tracker's one configuration: every threshold declared once, with its range and reason.

:class:`TrackerConfig` is the single default used by every path that tracks (a video,
``track-detections``, a stream, a segment of a job): :class:`~persontrack.Tracker` builds one
from its keyword arguments, and :class:`~persontrack.TrackingSettings` builds one from its
``tracker`` dict when the settings are made, so a misspelt or out-of-range key fails at
once with :class:`~persontrack.InvalidParameterException` instead of inside a worker.

Each field's metadata holds its range (``low``, ``high``; ``open`` when an end is
excluded), whether 0 turns the rule off, and a one-line reason; ``docs/tracker.md`` prints
the table and the measurements behind each default.

Examples
--------
>>> from persontrack.tracking.config import TrackerConfig
>>> TrackerConfig().max_cost
0.7
>>> TrackerConfig.from_dict({"min_hits": 3}).min_hits
3
>>> TrackerConfig.from_dict({"min_hit": 3})  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
persontrack.errors.InvalidParameterException: ...unknown setting 'min_hit'...
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InvalidParameterException
from .costs import COSTS, CostFunction

__all__ = ["TUNABLE", "TrackerConfig", "config_table"]


def _p(default: Any, low: float, high: float, why: str, *, kind: str = "float", **kw: Any) -> Any:
    """A declared setting: default, range [low, high] and a one-line reason."""
    return field(
        default=default, metadata={"low": low, "high": high, "why": why, "kind": kind, **kw}
    )


@dataclass(frozen=True)
class TrackerConfig:
    """Every setting of :class:`~persontrack.Tracker` (see ``docs/tracker.md``).

    Build it with keywords or :meth:`from_dict`; out-of-range values, wrong types and
    unknown keys raise :class:`~persontrack.InvalidParameterException`. ``max_cost`` of
    ``None`` is the cost's own gate (:data:`~persontrack.tracking.costs.COSTS`). The
    model's constants, never tuned, are module constants below the class.
    """

    cost: str | CostFunction = "combined"
    # --- association gates (cost units)
    max_cost: float | None = _p(
        None, 0, math.inf, "pairs costlier never match (combined 0.7, iou 0.8, centroid 0.5)",
        open_low=True, open_high=True, optional=True)  # fmt: skip
    # --- confidences (calibrated: the share of boxes of that score that are people)
    high_confidence: float = _p(0.5, 0, 1, "boxes at least this sure match first, every track")
    low_confidence: float = _p(0.1, 0, 1, "weaker boxes are ignored; between: continue only")
    birth_confidence: float = _p(0.8, 0, 1, "a new track starts only on a box this sure")
    # --- life cycle
    min_hits: int = _p(2, 1, math.inf, "updates before an id: one-frame false alarms get none",
                       kind="int")  # fmt: skip
    max_lost_ms: float = _p(
        6000.0, 0, math.inf, "a lost track waits this long for a close match", open_high=True
    )
    lost_velocity_decay_ms: float = _p(
        2000.0, 0, math.inf, "a lost prediction slows down instead of drifting off",
        open_high=True, off=True)  # fmt: skip
    lost_size_ratio: float = _p(
        2.5, 1, math.inf, "a lost track takes no box of a very different height",
        open_high=True, off=True)  # fmt: skip
    # --- Kalman filter (fractions of the box height)
    max_sigma: float = _p(
        2.0, 0, math.inf, "new tracks match within this many sigmas (sampled video)",
        open_high=True, off=True)  # fmt: skip
    camera_motion_min_tracks: int = _p(
        5, 0, math.inf, "people agreeing on a shift before it is taken as a pan",
        kind="int", off=True)  # fmt: skip
    # --- appearance (used only when detections carry embeddings)
    appearance_weight: float = _p(0.5, 0, 1, "weight of the cosine distance in the ranking")
    max_appearance_distance: float = _p(
        0.6, 0, 2, "unlike the track and like another track near it: the other person"
    )
    veto_max_centroid: float = _p(
        1.0, 0, math.inf, "a seen track is vetoed only by look-alikes this near (heights)",
        open_high=True)  # fmt: skip
    appearance_momentum: float = _p(0.9, 0, 1, "a few contaminated crops do not replace who")
    appearance_max_overlap: float = _p(
        0.3, 0, 1, "a crop overlapping another box by more is partly someone else"
    )
    appearance_refresh_ms: float = _p(
        1000.0, 0, math.inf, "a lone track's crop is embedded again after this long",
        open_high=True, off=True)  # fmt: skip
    appearance_crowd_refresh_ms: float = _p(
        300.0, 0, math.inf, "a crowded track's crop is embedded again after this long",
        open_high=True)  # fmt: skip
    appearance_clear_margin: float = _p(
        0.3, 0, math.inf, "a touching box motion settles by this cost margin is not embedded",
        open_high=True, off=True)  # fmt: skip
    rescue_max_distance: float = _p(
        0.25, 0, 2, "a leftover this alike continues a lost track near it", off=True
    )

    def __post_init__(self) -> None:
        cost, gate = self.cost, self.max_cost
        if isinstance(cost, str):
            if cost not in COSTS:
                raise InvalidParameterException(
                    f"Tracker: cost must be one of {sorted(COSTS)} or a callable, got {cost!r}"
                )
            if gate is None:
                gate = COSTS[cost][1]
        elif callable(cost):
            if gate is None:
                raise InvalidParameterException("Tracker: a callable cost needs max_cost")
        else:
            raise InvalidParameterException(
                f"Tracker: cost must be a name or a callable, got {type(cost).__name__}"
            )
        object.__setattr__(self, "max_cost", gate)
        for f in dataclasses.fields(self):
            if f.metadata:
                object.__setattr__(self, f.name, _checked(f, getattr(self, f.name)))
        if self.low_confidence > self.high_confidence:
            raise InvalidParameterException(
                f"Tracker: low_confidence ({self.low_confidence}) must not exceed "
                f"high_confidence ({self.high_confidence})"
            )
        if self.birth_confidence < self.high_confidence:
            raise InvalidParameterException(
                f"Tracker: birth_confidence ({self.birth_confidence}) must be at least "
                f"high_confidence ({self.high_confidence})"
            )

    @property
    def gate(self) -> float:
        """``max_cost``, resolved."""
        return float(self.max_cost)  # type: ignore[arg-type]

    @property
    def low_gate(self) -> float:
        """The gate of weak detections: :data:`LOW_GATE_SHARE` of ``max_cost``."""
        return LOW_GATE_SHARE * self.gate

    @property
    def tentative_gate(self) -> float:
        """The gate of new tracks: :data:`TENTATIVE_GATE_SHARE` of ``max_cost``."""
        return TENTATIVE_GATE_SHARE * self.gate

    @property
    def cost_fn(self) -> CostFunction:
        """The cost as a function."""
        return COSTS[self.cost][0] if isinstance(self.cost, str) else self.cost

    @classmethod
    def from_dict(cls, settings: Mapping[str, Any] | None) -> TrackerConfig:
        """Build from a settings dict, refusing unknown keys."""
        if settings is None:
            return cls()
        if not isinstance(settings, Mapping):
            raise InvalidParameterException(
                f"tracker settings must be a dict, got {type(settings).__name__}"
            )
        known = {f.name for f in dataclasses.fields(cls)}
        for key in settings:
            if key not in known:
                raise InvalidParameterException(
                    f"Tracker: unknown setting {key!r}; known: {', '.join(sorted(known))}"
                )
        return cls(**settings)

    def as_dict(self, *, resolved: bool = True) -> dict[str, Any]:
        """The settings, e.g. to store next to results (a callable cost by its name unless
        ``resolved`` is False)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        if resolved and not isinstance(self.cost, str):
            out["cost"] = getattr(self.cost, "__name__", repr(self.cost))
        return out


# ---------------------------------------------------------------- constants (not tuned)

LOW_GATE_SHARE = 0.625
"""Weak detections continue a track only within this share of ``max_cost``: they are
more often wrong."""
TENTATIVE_GATE_SHARE = 0.875
"""Confident leftovers continue a new track within this share of ``max_cost``."""
MAX_TENTATIVE_MISS_MS = 100.0
"""A new track missed for longer is deleted, so its ``min_hits`` come close together
(forgives a detector missing a newcomer on two frames at 30 fps)."""
POSITION_NOISE = 0.27
"""Kalman process noise of centre and size: standard deviation as a fraction of the box
height gained per square root of a second."""
VELOCITY_NOISE = 1.0
"""Kalman process noise of the velocities: box heights per second per root second (how
fast a person changes speed)."""
MEASUREMENT_NOISE = 0.05
"""Standard deviation of a detection's centre and size, as a fraction of its height."""
CROWD_DISTANCE = 1.0
"""For :meth:`Tracker.appearance_due`: another box within this many mean body heights
makes a detection crowded (refreshed after ``appearance_crowd_refresh_ms``)."""
RESCUE_MAX_CENTROID = 1.0
"""The appearance rescue's motion gate: centre distance in mean body heights."""

TUNABLE = tuple(f.name for f in dataclasses.fields(TrackerConfig) if f.metadata.get("tuned", False))
"""Settings in the declared joint search (``benchmarks/tracker_tune.py``)."""


def config_table() -> str:
    """The settings as a markdown table: name, default, range, reason (docs/tracker.md)."""
    lines = ["| setting | default | range | why |", "|---|---|---|---|"]
    for f in dataclasses.fields(TrackerConfig):
        m = f.metadata
        if not m:
            lines.append(f"| {f.name} | {f.default!r} | {', '.join(sorted(COSTS))} or a callable "
                         "| how unlike a prediction and a box are |")  # fmt: skip
            continue
        left = "(" if m.get("open_low") else "["
        right = ")" if m.get("open_high") else "]"
        rng = f"{left}{m['low']:g}, {m['high']:g}{right}" + (" or 0 (off)" if m.get("off") else "")
        lines.append(f"| {f.name} | {f.default!r} | {rng} | {m['why']} |")
    return "\n".join(lines)


def _is_real(value: object) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _checked(f: dataclasses.Field, value: object) -> object:
    """``value`` as the field's type, or InvalidParameterException naming the range."""
    m = f.metadata
    if value is None and m.get("optional"):
        return None
    name, low, high = f.name, m["low"], m["high"]
    if m["kind"] == "int":
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise InvalidParameterException(f"Tracker: {name} must be an int, got {value!r}")
        if m.get("off") and value == 0:
            return 0
        if value < low:
            raise InvalidParameterException(f"Tracker: {name} must be >= {low}, got {value}")
        return int(value)
    if not _is_real(value) or math.isnan(float(value)):  # type: ignore[arg-type]
        raise InvalidParameterException(f"Tracker: {name} must be a number, got {value!r}")
    v = float(value)  # type: ignore[arg-type]
    if m.get("off") and v == 0.0:
        return 0.0
    too_low = v <= low if m.get("open_low") else v < low
    too_high = v >= high if m.get("open_high") else v > high
    if too_low or too_high:
        left = "(" if m.get("open_low") else "["
        right = ")" if m.get("open_high") else "]"
        off = " or 0 (off)" if m.get("off") else ""
        raise InvalidParameterException(
            f"Tracker: {name} must be in {left}{low:g}, {high:g}{right}{off}, got {value!r}"
        )
    return v
