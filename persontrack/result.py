"""The result of tracking one video: the results DataFrame and what describes the run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._version import __version__
from .convert import EXTENSION_KEY, RESPONSE_ATTR, dataframe_to_response
from .io.video import VideoMetadata

__all__ = ["TrackingResult", "tracking_result", "versions"]


def versions() -> dict[str, str]:
    """Versions of persontrack and the libraries that shape its output."""
    from importlib.metadata import version

    return {"persontrack": __version__, "openvino": version("openvino"), "numpy": np.__version__}


@dataclass
class TrackingResult:
    """The output of :func:`track_video`.

    Attributes
    ----------
    frame : pandas.DataFrame
        Results, one row per person per analysed timestamp (see :mod:`persontrack.schema`).
    metadata : VideoMetadata
        The video's Rekognition VideoMetadata.
    settings : dict
        The settings used.
    versions : dict
        persontrack, OpenVINO and numpy versions.
    timings : dict
        Wall-clock seconds spent in each stage of :data:`~persontrack.pipeline.STAGES`
        (``convert``: making the result rows and the DataFrame, linking and smoothing
        included), and ``frames``, the number of frames analysed. Not part of the results.
    appearance : dict or None
        ``{Index: unit vector}``, each person's mean appearance embedding (without
        ``appearance`` in the settings: None). Not part of the results; segments of one
        video are stitched by it (:class:`persontrack.tracking.stitch.Stitcher`).
    """

    frame: pd.DataFrame
    metadata: VideoMetadata
    settings: dict[str, Any]
    versions: dict[str, str]
    timings: dict[str, float] = field(default_factory=dict, compare=False)
    appearance: dict[int, np.ndarray] | None = field(default=None, compare=False, repr=False)

    def to_response(self, **kwargs: Any) -> dict[str, Any]:
        """The full GetPersonTracking response (see :func:`dataframe_to_response`).

        With ``extensions=True`` (the default here) the response also carries the frame
        numbers, detection confidences, body landmarks, versions and settings.
        """
        kwargs.setdefault("extensions", True)
        extra = dict(kwargs.pop("extra", None) or {})
        extra.setdefault(EXTENSION_KEY, {"Versions": self.versions, "Settings": self.settings})
        return dataframe_to_response(self.frame, self.metadata, extra=extra, **kwargs)


def tracking_result(
    frame: pd.DataFrame,
    metadata: VideoMetadata,
    settings: dict[str, Any],
    versions: dict[str, str],
    *,
    timings: dict[str, float] | None = None,
    appearance: dict[int, np.ndarray] | None = None,
    response_metadata: dict[str, Any] | None = None,
) -> TrackingResult:
    """The one place a :class:`TrackingResult` is made (whole video or stitched segments).

    ``frame.attrs`` gets what :func:`~persontrack.dataframe_to_response` needs to make the
    response from the frame alone: the VideoMetadata (``response_metadata``, else
    ``metadata.to_dict()``), versions and settings.
    """
    result = TrackingResult(frame, metadata, settings, versions, dict(timings or {}), appearance)
    frame.attrs[RESPONSE_ATTR] = {
        "VideoMetadata": metadata.to_dict() if response_metadata is None else response_metadata,
        EXTENSION_KEY: {"Versions": result.versions, "Settings": result.settings},
    }
    return result
