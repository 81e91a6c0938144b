"""persontrack's public names, each written once (PEP 484 explicit re-exports).

Type checkers and IDEs read this stub; ``__init__.py`` reads it at import time to build
``__all__`` and the lazy ``__getattr__`` that loads each name's module on first use (as
scikit-image's ``lazy_loader.attach_stub``). A name added here is public.
"""

from ._version import (
    __version__ as __version__,
)
from .analysis.analytics import (
    crossing_counts as crossing_counts,
    entries_exits as entries_exits,
    line_crossings as line_crossings,
    people_present as people_present,
    points_in_polygon as points_in_polygon,
    trajectory_summary as trajectory_summary,
    zone_dwell as zone_dwell,
)
from .analysis.annotate import (
    annotate_video as annotate_video,
    show_video as show_video,
)
from .analysis.compare import (
    compare_results as compare_results,
)
from .analysis.plot import (
    frame_at as frame_at,
    path_points as path_points,
    plot_frame as plot_frame,
    plot_heatmap as plot_heatmap,
    plot_paths as plot_paths,
    plot_timeline as plot_timeline,
    plot_zones as plot_zones,
)
from .analysis.redact import (
    redact_video as redact_video,
)
from .analysis.spatial_events import (
    spatial_analysis_events as spatial_analysis_events,
)
from .analysis.widgets import (
    JobLauncher as JobLauncher,
    PathExplorer as PathExplorer,
    ResultPager as ResultPager,
)
from .convert import (
    dataframe_to_persons as dataframe_to_persons,
    dataframe_to_response as dataframe_to_response,
    iter_response_pages as iter_response_pages,
    response_to_dataframe as response_to_dataframe,
    sort_results as sort_results,
    strip_extensions as strip_extensions,
    validate_response as validate_response,
)
from .errors import (
    AccessDeniedException as AccessDeniedException,
    IdempotentParameterMismatchException as IdempotentParameterMismatchException,
    InternalServerError as InternalServerError,
    InvalidPaginationTokenException as InvalidPaginationTokenException,
    InvalidParameterException as InvalidParameterException,
    InvalidS3ObjectException as InvalidS3ObjectException,
    LimitExceededException as LimitExceededException,
    PersonTrackError as PersonTrackError,
    ProvisionedThroughputExceededException as ProvisionedThroughputExceededException,
    ResourceNotFoundException as ResourceNotFoundException,
    ThrottlingException as ThrottlingException,
    VideoTooLargeException as VideoTooLargeException,
)
from .geometry import (
    box_iou as box_iou,
    nms as nms,
)
from .io.files import (
    read_results as read_results,
    results_to_mot as results_to_mot,
    write_results as write_results,
)
from .io.mot import (
    read_mot_detections as read_mot_detections,
    read_mot_ground_truth as read_mot_ground_truth,
    write_mot_tracks as write_mot_tracks,
)
from .io.video import (
    Frame as Frame,
    VideoMetadata as VideoMetadata,
    VideoReader as VideoReader,
    iter_frames as iter_frames,
    open_video as open_video,
    read_metadata as read_metadata,
)
from .jobs.client import (
    PersonTrackingClient as PersonTrackingClient,
    client as client,
    get_person_tracking as get_person_tracking,
    start_person_tracking as start_person_tracking,
)
from .jobs.live import (
    track_stream as track_stream,
)
from .pipeline import (
    VIDEO_TRACKER_SETTINGS as VIDEO_TRACKER_SETTINGS,
    track_video as track_video,
)
from .result import (
    TrackingResult as TrackingResult,
    versions as versions,
)
from .schema import (
    COLUMNS as COLUMNS,
    body_landmarks_array as body_landmarks_array,
    empty_frame as empty_frame,
    validate_frame as validate_frame,
)
from .settings import (
    TrackingSettings as TrackingSettings,
)
from .stream import (
    StreamTracking as StreamTracking,
)
from .tracking.mot import (
    track_mot_detections as track_mot_detections,
)
from .tracking.postprocess import (
    INTERPOLATED_CONFIDENCE as INTERPOLATED_CONFIDENCE,
    interpolate_tracks as interpolate_tracks,
    link_tracks as link_tracks,
    smooth_tracks as smooth_tracks,
)
from .tracking.tracker import (
    Track as Track,
    Tracker as Tracker,
    TrackState as TrackState,
)
from .vision.detection import (
    PRESETS as PRESETS,
    DetectorSettings as DetectorSettings,
    PersonDetector as PersonDetector,
)
from .vision.detections import (
    Detections as Detections,
)
from .vision.faces import (
    LANDMARK_TYPES as LANDMARK_TYPES,
    FaceAnalyzer as FaceAnalyzer,
    attach_faces as attach_faces,
)
from .vision.models import (
    face_detector_model as face_detector_model,
    model_cache_dir as model_cache_dir,
)
