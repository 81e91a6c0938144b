"""Exceptions named as in the Amazon Rekognition API reference.

Every exception is a :class:`botocore.exceptions.ClientError`, so code written against
boto3 keeps working::

    try:
        client.get_person_tracking(JobId="nope")
    except ClientError as e:
        if e.response["Error"]["Code"] == "ResourceNotFoundException":
            ...

Examples
--------
>>> from botocore.exceptions import ClientError
>>> import persontrack as pt
>>> try:
...     raise pt.InvalidParameterException("MaxResults must be >= 1")
... except ClientError as e:
...     print(e.response["Error"]["Code"])
InvalidParameterException
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError


class PersonTrackError(ClientError):
    """Base class: a botocore ``ClientError`` whose ``Error.Code`` is the class name.

    Parameters
    ----------
    message : str
        What went wrong, for a person to read.
    operation_name : str, optional
        The Rekognition operation this error belongs to.
    """

    http_status: int = 400

    def __init__(self, message: str = "", operation_name: str = "persontrack") -> None:
        self.message = message
        response: dict[str, Any] = {
            "Error": {"Code": type(self).__name__, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": self.http_status},
            "Message": message,
        }
        super().__init__(response, operation_name)

    def __reduce__(self) -> tuple[Any, ...]:
        # ClientError's own pickling needs (response, operation); ours needs the message.
        return (type(self), (self.message, self.operation_name))


class InvalidParameterException(PersonTrackError, ValueError):
    """An input parameter violated a constraint."""


class InvalidPaginationTokenException(PersonTrackError):
    """The pagination token is invalid, expired, or belongs to another request."""


class IdempotentParameterMismatchException(PersonTrackError):
    """A ClientRequestToken was reused with different parameters."""


class ResourceNotFoundException(PersonTrackError):
    """The job (or other resource) does not exist."""


class InvalidS3ObjectException(PersonTrackError):
    """The video object cannot be found or read."""


class VideoTooLargeException(PersonTrackError):
    """The video is larger than 10 GB or longer than 6 hours."""


class LimitExceededException(PersonTrackError):
    """Too many jobs running or waiting at once."""


class AccessDeniedException(PersonTrackError):
    """Access to the resource is not allowed."""

    http_status = 403


class InternalServerError(PersonTrackError):
    """persontrack failed internally; the request may be retried."""

    http_status = 500


class ThrottlingException(PersonTrackError):
    """Too many requests in a short time."""

    http_status = 429


class ProvisionedThroughputExceededException(PersonTrackError):
    """The request rate exceeds the configured throughput."""


ERRORS: dict[str, type[PersonTrackError]] = {
    cls.__name__: cls
    for cls in (
        InvalidParameterException,
        InvalidPaginationTokenException,
        IdempotentParameterMismatchException,
        ResourceNotFoundException,
        InvalidS3ObjectException,
        VideoTooLargeException,
        LimitExceededException,
        AccessDeniedException,
        InternalServerError,
        ThrottlingException,
        ProvisionedThroughputExceededException,
    )
}
"""Exception classes by Rekognition error code."""
