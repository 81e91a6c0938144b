"""persontrack: people, faces and paths from video, a local replacement for Rekognition People Pathing."""

from ._version import __version__
from .detections import Detections
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
from .convert import (
    dataframe_to_persons,
    dataframe_to_response,
    iter_response_pages,
    response_to_dataframe,
    sort_results,
    strip_extensions,
    validate_response,
)
from .files import read_results, results_to_mot, write_results
from .plot import path_points, plot_paths
from .schema import COLUMNS, body_landmarks_array, empty_frame, validate_frame

__all__ = [
    "COLUMNS",
    "AccessDeniedException",
    "Detections",
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
