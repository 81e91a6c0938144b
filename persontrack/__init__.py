"""persontrack: people, faces and paths from video.

A local replacement for Amazon Rekognition Video People Pathing.
"""

from typing import TYPE_CHECKING

from ._version import __version__
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

if TYPE_CHECKING:
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
    from .analysis.compare import compare_results
    from .analysis.plot import (
        frame_at,
        path_points,
        plot_frame,
        plot_heatmap,
        plot_paths,
        plot_timeline,
        plot_zones,
    )
    from .analysis.redact import redact_video
    from .analysis.spatial_events import spatial_analysis_events
    from .analysis.widgets import JobLauncher, PathExplorer, ResultPager
    from .convert import (
        dataframe_to_persons,
        dataframe_to_response,
        iter_response_pages,
        response_to_dataframe,
        sort_results,
        strip_extensions,
        validate_response,
    )
    from .geometry import box_iou, nms
    from .io.files import (
        read_results,
        results_to_mot,
        write_results,
    )
    from .io.mot import (
        read_mot_detections,
        read_mot_ground_truth,
        write_mot_tracks,
    )
    from .io.video import (
        Frame,
        VideoMetadata,
        VideoReader,
        iter_frames,
        open_video,
        read_metadata,
    )
    from .jobs.client import (
        PersonTrackingClient,
        client,
        get_person_tracking,
        start_person_tracking,
    )
    from .jobs.live import track_stream
    from .pipeline import VIDEO_TRACKER_SETTINGS, track_video
    from .result import TrackingResult, versions
    from .schema import (
        COLUMNS,
        body_landmarks_array,
        empty_frame,
        validate_frame,
    )
    from .settings import TrackingSettings
    from .stream import StreamTracking
    from .tracking.mot import track_mot_detections
    from .tracking.postprocess import (
        INTERPOLATED_CONFIDENCE,
        interpolate_tracks,
        link_tracks,
        smooth_tracks,
    )
    from .tracking.tracker import (
        Track,
        Tracker,
        TrackState,
    )
    from .vision.detection import (
        PRESETS,
        DetectorSettings,
        PersonDetector,
    )
    from .vision.detections import Detections
    from .vision.faces import (
        LANDMARK_TYPES,
        FaceAnalyzer,
        attach_faces,
    )
    from .vision.models import (
        face_detector_model,
        model_cache_dir,
    )

__all__ = [
    "compare_results",
    "spatial_analysis_events",
    "annotate_video",
    "show_video",
    "redact_video",
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

# Everything else loads on first use, so that `import persontrack` (every CLI command,
# job runner and Dask worker) does not import matplotlib, Dask or the models' runtimes it
# may never need: public name -> its module.
_LAZY: dict[str, str] = {
    "crossing_counts": "analysis.analytics",
    "entries_exits": "analysis.analytics",
    "line_crossings": "analysis.analytics",
    "people_present": "analysis.analytics",
    "points_in_polygon": "analysis.analytics",
    "trajectory_summary": "analysis.analytics",
    "zone_dwell": "analysis.analytics",
    "annotate_video": "analysis.annotate",
    "show_video": "analysis.annotate",
    "compare_results": "analysis.compare",
    "spatial_analysis_events": "analysis.spatial_events",
    "redact_video": "analysis.redact",
    "frame_at": "analysis.plot",
    "path_points": "analysis.plot",
    "plot_frame": "analysis.plot",
    "plot_heatmap": "analysis.plot",
    "plot_paths": "analysis.plot",
    "plot_timeline": "analysis.plot",
    "plot_zones": "analysis.plot",
    "dataframe_to_persons": "convert",
    "dataframe_to_response": "convert",
    "iter_response_pages": "convert",
    "response_to_dataframe": "convert",
    "sort_results": "convert",
    "strip_extensions": "convert",
    "validate_response": "convert",
    "box_iou": "geometry",
    "nms": "geometry",
    "read_results": "io.files",
    "results_to_mot": "io.files",
    "write_results": "io.files",
    "read_mot_detections": "io.mot",
    "read_mot_ground_truth": "io.mot",
    "write_mot_tracks": "io.mot",
    "Frame": "io.video",
    "VideoMetadata": "io.video",
    "VideoReader": "io.video",
    "iter_frames": "io.video",
    "open_video": "io.video",
    "read_metadata": "io.video",
    "PersonTrackingClient": "jobs.client",
    "client": "jobs.client",
    "get_person_tracking": "jobs.client",
    "start_person_tracking": "jobs.client",
    "VIDEO_TRACKER_SETTINGS": "pipeline",
    "TrackingResult": "result",
    "TrackingSettings": "settings",
    "track_video": "pipeline",
    "versions": "result",
    "COLUMNS": "schema",
    "body_landmarks_array": "schema",
    "empty_frame": "schema",
    "validate_frame": "schema",
    "StreamTracking": "stream",
    "track_stream": "jobs.live",
    "track_mot_detections": "tracking.mot",
    "INTERPOLATED_CONFIDENCE": "tracking.postprocess",
    "interpolate_tracks": "tracking.postprocess",
    "link_tracks": "tracking.postprocess",
    "smooth_tracks": "tracking.postprocess",
    "Track": "tracking.tracker",
    "Tracker": "tracking.tracker",
    "TrackState": "tracking.tracker",
    "PRESETS": "vision.detection",
    "DetectorSettings": "vision.detection",
    "PersonDetector": "vision.detection",
    "Detections": "vision.detections",
    "LANDMARK_TYPES": "vision.faces",
    "FaceAnalyzer": "vision.faces",
    "attach_faces": "vision.faces",
    "face_detector_model": "vision.models",
    "model_cache_dir": "vision.models",
    "JobLauncher": "analysis.widgets",
    "ResultPager": "analysis.widgets",
    "PathExplorer": "analysis.widgets",
}
# Modules notebooks import by short name: `from persontrack import analytics, plot, widgets`.
_SUBMODULES = {
    "analytics": "persontrack.analysis.analytics",
    "plot": "persontrack.analysis.plot",
    "widgets": "persontrack.analysis.widgets",
}


def __getattr__(name: str) -> object:
    import importlib

    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value  # later lookups skip this function
        return value
    if name in _SUBMODULES:
        return importlib.import_module(_SUBMODULES[name])
    if not name.startswith("__"):
        try:  # a module of the package not imported yet: `pt.pipeline.STAGES`
            return importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as e:
            if e.name != f"{__name__}.{name}":
                raise
    raise AttributeError(f"module 'persontrack' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
