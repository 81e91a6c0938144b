"""Request validation against botocore's ``rekognition`` service model.

Every constraint (required members, types, lengths, patterns, enums) is read from the
model, so a botocore update changes the rules here too. Rekognition's own server-side rules
that the model does not spell out (``Video.S3Object`` with ``Bucket`` and ``Name`` is
required; ``MaxResults`` above 1000 is read as 1000) are added by :func:`validate_request`.

Examples
--------
>>> from persontrack.jobs._params import validate_request
>>> validate_request("GetPersonTracking", {"JobId": "abc", "MaxResults": 5000})["MaxResults"]
1000
>>> validate_request("GetPersonTracking", {})  # doctest: +IGNORE_EXCEPTION_DETAIL
Traceback (most recent call last):
InvalidParameterException: Missing required parameter JobId
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any

from botocore.model import Shape

from .._checks import is_number
from .._shapes import service_model
from ..errors import InvalidParameterException

MAX_RESULTS_CAP = 1000
"""GetPersonTracking returns at most this many Persons per page (larger MaxResults are capped)."""

OPERATIONS = ("StartPersonTracking", "GetPersonTracking")


@cache
def _pattern(pattern: str) -> re.Pattern[str]:
    # The model's patterns are Java regexes matched against the whole value, in ASCII.
    return re.compile(pattern, re.ASCII)


def input_shape(operation: str) -> Shape:
    """The botocore input shape of ``operation``."""
    shape = service_model().operation_model(operation).input_shape
    assert shape is not None
    return shape


def _check(value: Any, shape: Shape, path: str) -> list[str]:
    t = shape.type_name
    meta = shape.metadata
    if t == "structure":
        if not isinstance(value, Mapping):
            return [f"{path} must be a structure (dict), got {type(value).__name__}"]
        errors: list[str] = []
        for name in shape.required_members:
            if name not in value or value[name] is None:
                errors.append(f"Missing required parameter {_join(path, name)}")
        for key, item in value.items():
            if not isinstance(key, str) or key not in shape.members:
                errors.append(
                    f"Unknown parameter {_join(path, str(key))!r}; "
                    f"valid parameters are {sorted(shape.members)}"
                )
            elif item is not None:
                errors += _check(item, shape.members[key], _join(path, key))
        return errors
    if t == "string":
        if not isinstance(value, str):
            return [f"{path} must be a string, got {type(value).__name__}"]
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return [f"{path} is not valid Unicode text"]
        if "min" in meta and len(value) < meta["min"]:
            return [f"{path} must be at least {meta['min']} characters long"]
        if "max" in meta and len(value) > meta["max"]:
            return [f"{path} must be at most {meta['max']} characters long"]
        enum = getattr(shape, "enum", None)
        if enum and value not in enum:
            return [f"{path} must be one of {list(enum)}, got {value!r}"]
        if "pattern" in meta and not _pattern(meta["pattern"]).fullmatch(value):
            return [f"{path} {value!r} does not match the pattern {meta['pattern']}"]
        return []
    if t in ("integer", "long"):
        if not is_number(value, int):
            return [f"{path} must be an integer, got {type(value).__name__}"]
        if "min" in meta and value < meta["min"]:
            return [f"{path} must be >= {meta['min']}, got {value}"]
        if "max" in meta and value > meta["max"]:
            return [f"{path} must be <= {meta['max']}, got {value}"]
        return []
    raise NotImplementedError(f"shape type {t} is not used by {OPERATIONS}")  # pragma: no cover


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def validate_request(operation: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Check a request against the model and Rekognition's rules; return a normalised copy.

    Parameters
    ----------
    operation : {"StartPersonTracking", "GetPersonTracking"}
        The operation name.
    params : Mapping
        The keyword arguments as a boto3 user passes them.

    Returns
    -------
    dict
        The request with members set to None dropped and ``MaxResults`` capped at 1000.

    Raises
    ------
    InvalidParameterException
        Listing every violated constraint.
    """
    if operation not in OPERATIONS:
        raise ValueError(f"unknown operation {operation!r}")
    errors = _check(params, input_shape(operation), "")
    if not errors and operation == "StartPersonTracking":
        s3 = params["Video"].get("S3Object")
        if s3 is None:
            errors.append("Missing required parameter Video.S3Object")
        else:
            for name in ("Bucket", "Name"):
                if s3.get(name) is None:
                    errors.append(f"Missing required parameter Video.S3Object.{name}")
    if errors:
        raise InvalidParameterException("; ".join(errors), operation)
    out = _drop_none(params)
    if operation == "GetPersonTracking" and out.get("MaxResults", 0) > MAX_RESULTS_CAP:
        out["MaxResults"] = MAX_RESULTS_CAP
    return out


def _drop_none(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    return value
