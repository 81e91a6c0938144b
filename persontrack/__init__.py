"""persontrack: people, faces and paths from video.

A local replacement for Amazon Rekognition Video People Pathing.
"""

from ._version import __version__
from .analysis.analytics import (
    crossing_counts,
    entries_exits,
    line_crossings,
    people_present,
    points_in_polygon,
    trajectory_summary,
    zone_dwell,
)
from .analysis.annotate import annotate_video, show_video
from .analysis.plot import (
    frame_at,
    path_points,
    plot_frame,
    plot_heatmap,
    plot_paths,
    plot_timeline,
    plot_zones,
)
from .convert import (
    dataframe_to_persons,
    dataframe_to_response,
    iter_response_pages,
    response_to_dataframe,
    sort_results,
    strip_extensions,
    validate_response,
)
from .errors import (
    AccessDeniedException,
    IdempotentParameterMismatchException,
    InternalServerError,
    InvalidPaginationTokenException,
    InvalidParameterException,
    InvalidS3ObjectException,
    LimitExceededException,
    PersonTrackError,
    ProvisionedThroughputExceededException,
    ResourceNotFoundException,
    ThrottlingException,
    VideoTooLargeException,
)
from .geometry import box_iou, nms
from .io.files import read_results, results_to_mot, write_results
from .io.mot import read_mot_detections, read_mot_ground_truth, write_mot_tracks
from .io.video import Frame, VideoMetadata, VideoReader, iter_frames, open_video, read_metadata
from .jobs.client import PersonTrackingClient, client, get_person_tracking, start_person_tracking
from .pipeline import (
    VIDEO_TRACKER_SETTINGS,
    TrackingResult,
    TrackingSettings,
    track_video,
    versions,
)
from .schema import COLUMNS, body_landmarks_array, empty_frame, validate_frame
from .stream import StreamTracking, track_stream
from .tracking.mot import track_mot_detections
from .tracking.postprocess import (
    INTERPOLATED_CONFIDENCE,
    interpolate_tracks,
    link_tracks,
    smooth_tracks,
)
from .tracking.tracker import Track, Tracker, TrackState
from .vision.detection import PRESETS, DetectorSettings, PersonDetector
from .vision.detections import Detections
from .vision.faces import LANDMARK_TYPES, FaceAnalyzer, attach_faces
from .vision.models import (
    face_detector_model,
    model_cache_dir,
    pose_landmarker_model,
)

__all__ = [
    "annotate_video",
    "show_video",
    "track_stream",
    "StreamTracking",
    "VIDEO_TRACKER_SETTINGS",
    "nms",
    "box_iou",
    "smooth_tracks",
    "link_tracks",
    "interpolate_tracks",
    "INTERPOLATED_CONFIDENCE",
    "PathExplorer",
    "ResultPager",
    "JobLauncher",
    "plot_zones",
    "plot_timeline",
    "plot_heatmap",
    "plot_frame",
    "frame_at",
    "zone_dwell",
    "trajectory_summary",
    "points_in_polygon",
    "people_present",
    "line_crossings",
    "entries_exits",
    "crossing_counts",
    "start_person_tracking",
    "get_person_tracking",
    "client",
    "PersonTrackingClient",
    "TrackState",
    "Tracker",
    "Track",
    "versions",
    "track_video",
    "TrackingSettings",
    "TrackingResult",
    "write_mot_tracks",
    "track_mot_detections",
    "read_mot_ground_truth",
    "read_mot_detections",
    "pose_landmarker_model",
    "model_cache_dir",
    "face_detector_model",
    "PersonDetector",
    "DetectorSettings",
    "PRESETS",
    "COLUMNS",
    "AccessDeniedException",
    "Detections",
    "FaceAnalyzer",
    "Frame",
    "LANDMARK_TYPES",
    "VideoMetadata",
    "VideoReader",
    "attach_faces",
    "iter_frames",
    "open_video",
    "read_metadata",
    "IdempotentParameterMismatchException",
    "InternalServerError",
    "InvalidPaginationTokenException",
    "InvalidParameterException",
    "InvalidS3ObjectException",
    "LimitExceededException",
    "PersonTrackError",
    "ProvisionedThroughputExceededException",
    "ResourceNotFoundException",
    "ThrottlingException",
    "VideoTooLargeException",
    "__version__",
    "body_landmarks_array",
    "dataframe_to_persons",
    "dataframe_to_response",
    "iter_response_pages",
    "path_points",
    "plot_paths",
    "read_results",
    "response_to_dataframe",
    "results_to_mot",
    "sort_results",
    "strip_extensions",
    "validate_response",
    "write_results",
    "empty_frame",
    "validate_frame",
]

_WIDGETS = ("JobLauncher", "ResultPager", "PathExplorer")
# Modules notebooks import by short name: `from persontrack import analytics, plot, widgets`.
_SUBMODULES = {
    "analytics": "persontrack.analysis.analytics",
    "plot": "persontrack.analysis.plot",
    "widgets": "persontrack.analysis.widgets",
}


def __getattr__(name: str) -> object:
    # Widgets load ipywidgets; only import them when a notebook asks for one.
    if name in _WIDGETS:
        from .analysis import widgets

        return getattr(widgets, name)
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(_SUBMODULES[name])
    raise AttributeError(f"module 'persontrack' has no attribute {name!r}")
