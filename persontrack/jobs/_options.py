"""Checks of the jobs client's options, all made when the client is created.

A wrong option is InvalidParameterException naming it, before any file, thread or worker
exists, instead of a failure of every job later (a negative heartbeat timeout, an unknown
setting, a tracker that cannot be imported).

Examples
--------
>>> from persontrack.jobs._options import validate_options
>>> validate_options({"heartbeat_timeout": 30, "tracker": None})["heartbeat_timeout"]
30.0
>>> validate_options({"token_ttl": -5})  # doctest: +IGNORE_EXCEPTION_DETAIL
Traceback (most recent call last):
InvalidParameterException: token_ttl must be a number > 0, got -5
"""

from __future__ import annotations

import json
import math
import numbers
import os
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from .._checks import is_number
from ..errors import InvalidParameterException
from ._worker import DEFAULT_TRACKER

_REGION = re.compile(r"[a-z]{2}(-[a-z0-9]+)+-\d{1,2}|[a-z0-9-]{1,64}", re.ASCII)


def _fail(name: str, why: str, value: Any) -> InvalidParameterException:
    return InvalidParameterException(f"{name} must be {why}, got {value!r:.120}")


def _number(name: str, value: Any, *, low: float, strict: bool, none: bool = False) -> Any:
    if value is None and none:
        return None
    why = f"a number {'>' if strict else '>='} {low:g}"
    if not is_number(value, numbers.Real):
        raise _fail(name, why, value)
    number = float(value)
    if not math.isfinite(number) or number < low or (strict and number == low):
        raise _fail(name, why, value)
    return number


def _count(name: str, value: Any, *, none: bool = False) -> Any:
    if value is None and none:
        return None
    if not is_number(value, numbers.Integral) or value < 1:
        raise _fail(name, "an integer >= 1", value)
    return int(value)


def _folder(name: str, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bytes) or not isinstance(value, (str, os.PathLike)):
        raise _fail(name, "a folder path (str or os.PathLike)", value)
    text = os.fspath(value)
    if not isinstance(text, str) or "\x00" in text:
        raise _fail(name, "a folder path without NUL characters", value)
    return value


def _url(name: str, value: Any) -> Any:
    if value is None:
        return None
    try:
        parts = urlsplit(value) if isinstance(value, str) else None
        ok = parts is not None and parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        ok = False
    if not ok:
        raise _fail(name, "an http(s):// URL", value)
    return value


def _tracker(value: Any) -> Any:
    if value is None or value == DEFAULT_TRACKER:
        return value
    if not isinstance(value, str) or ":" not in value.strip(":"):
        raise _fail("tracker", "'module:function' or '/path/file.py:function'", value)
    from ._worker import load_callable

    try:
        fn = load_callable(value)
    except Exception as exc:
        raise InvalidParameterException(
            f"tracker {value!r} cannot be loaded: {type(exc).__name__}: {exc}"
        ) from None
    if not callable(fn):
        raise _fail("tracker", "a callable", fn)
    return value


def _settings(value: Any, tracker: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if hasattr(value, "to_dict"):
        value = value.to_dict()
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise _fail("settings", "TrackingSettings or a dict with str keys", value)
    settings = dict(value)
    if tracker in (None, DEFAULT_TRACKER):
        from ..pipeline import TrackingSettings

        try:
            TrackingSettings.from_dict(settings)
        except (InvalidParameterException, TypeError, ValueError) as exc:
            raise InvalidParameterException(f"settings: {exc}") from None
    try:
        json.dumps(settings, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterException(f"settings must be JSON data: {exc}") from None
    return settings


def validate_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """Check the client's options; return them normalised (numbers as float or int).

    ``options`` holds the constructor's keyword arguments; those absent are not checked.
    ``tracker`` is checked as given (None means the default); ``settings`` against
    :class:`persontrack.TrackingSettings` when the tracker is the default one.

    Raises
    ------
    InvalidParameterException
        Naming the first wrong option and what it must be.
    """
    out = dict(options)
    checks = {
        "data_dir": lambda v: _folder("data_dir", v),
        "bucket_root": lambda v: _folder("bucket_root", v),
        "max_jobs": lambda v: _count("max_jobs", v),
        "max_workers": lambda v: _count("max_workers", v, none=True),
        "heartbeat_timeout": lambda v: _number("heartbeat_timeout", v, low=0, strict=True),
        "token_ttl": lambda v: _number("token_ttl", v, low=0, strict=True),
        "busy_timeout": lambda v: _number("busy_timeout", v, low=0, strict=False),
        "max_requests_per_second": lambda v: _number(
            "max_requests_per_second", v, low=0, strict=True, none=True
        ),
        "s3_endpoint_url": lambda v: _url("s3_endpoint_url", v),
        "sns_endpoint_url": lambda v: _url("sns_endpoint_url", v),
        "tracker": _tracker,
        "segment_seconds": lambda v: _number("segment_seconds", v, low=0, strict=True),
        "overlap_seconds": lambda v: _number("overlap_seconds", v, low=0, strict=False),
    }
    for name, check in checks.items():
        if name in out:
            out[name] = check(out[name])
    if "segment_seconds" in out and out["segment_seconds"] <= out.get("overlap_seconds", 0.0):
        raise _fail(
            "segment_seconds",
            f"more than overlap_seconds ({out.get('overlap_seconds', 0.0):g})",
            out["segment_seconds"],
        )
    address = out.get("scheduler_address")
    if address is not None and not (isinstance(address, str) and address.strip()):
        raise _fail(
            "scheduler_address", "a Dask scheduler address such as 'tcp://host:8786'", address
        )
    storage = out.get("storage")
    if storage is not None and storage not in ("local", "s3"):
        raise _fail("storage", "'local' or 's3'", storage)
    region = out.get("region_name")
    if region is not None and not (isinstance(region, str) and _REGION.fullmatch(region)):
        raise _fail("region_name", "an AWS region name such as 'eu-west-1'", region)
    if "settings" in out:
        out["settings"] = _settings(out["settings"], out.get("tracker"))
    return out
