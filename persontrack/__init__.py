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
    "empty_frame",
    "validate_frame",
]
