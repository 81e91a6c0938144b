"""Results DataFrame <-> ``GetPersonTracking`` response, both ways, as pure functions.

A response made here has the exact shape of Rekognition's (checked against botocore's
service model by :func:`validate_response`). What Rekognition has no field for — the source
frame number, the person detection confidence and the 33 body landmarks of each entry, and
the versions and settings of a run — travels in ``"PersonTrack"`` keys, which boto3-style
readers ignore like any unknown field; ``extensions=False`` leaves them out.

Examples
--------
>>> import pandas as pd, persontrack as pt
>>> df = pt.validate_frame(pd.DataFrame({
...     "Timestamp": [0, 100], "Index": [0, 0],
...     "Left": [0.1, 0.2], "Top": [0.2, 0.2], "Width": [0.1, 0.1], "Height": [0.5, 0.5]}),
...     fill_missing=True)
>>> resp = pt.dataframe_to_response(df, {"FrameRate": 10.0})
>>> resp["Persons"][1]["Person"]["BoundingBox"]["Left"]
0.2
>>> pt.response_to_dataframe(resp)[["Timestamp", "Index", "Left"]].values.tolist()
[[0.0, 0.0, 0.1], [100.0, 0.0, 0.2]]
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import pandas as pd

from ._checks import is_number
from ._shapes import output_shape, shape_errors
from .errors import InvalidParameterException
from .schema import (
    BOX_COLUMNS,
    COLUMNS,
    FACE_BOX_COLUMNS,
    FACE_POSE_COLUMNS,
    FACE_QUALITY_COLUMNS,
    empty_frame,
    landmarks_as_list,
    validate_frame,
)

SORT_BY = ("TIMESTAMP", "INDEX")
JOB_STATUSES = ("IN_PROGRESS", "SUCCEEDED", "FAILED")
EXTENSION_KEY = "PersonTrack"
RESPONSE_ATTR = "GetPersonTracking"
"""Key in ``DataFrame.attrs`` holding a response's fields other than ``Persons``."""

_BOX_KEYS = ("Left", "Top", "Width", "Height")
_POSE_KEYS = ("Pitch", "Roll", "Yaw")
_QUALITY_KEYS = ("Brightness", "Sharpness")
_FACE_KNOWN = ("BoundingBox", "Confidence", "Landmarks", "Pose", "Quality")


def _num(value: Any) -> float | None:
    """A float, or None for NaN/NA/None."""
    if value is None or value is pd.NA:
        return None
    f = float(value)
    return None if math.isnan(f) else f


def sort_results(df: pd.DataFrame, sort_by: str = "TIMESTAMP") -> pd.DataFrame:
    """Order result rows as ``GetPersonTracking`` does.

    Parameters
    ----------
    df : pandas.DataFrame
        A results DataFrame.
    sort_by : {"TIMESTAMP", "INDEX"}
        ``TIMESTAMP``: by time, then Index. ``INDEX``: by person Index; each person's
        entries by detection confidence, highest first (the API reference's rule), then by
        time. Confidence is the person's, or the face's where the person's is unknown.

    Returns
    -------
    pandas.DataFrame
        A new frame, same rows, new order, fresh RangeIndex.
    """
    if sort_by not in SORT_BY:
        raise InvalidParameterException(f"SortBy must be one of {list(SORT_BY)}, got {sort_by!r}")
    if sort_by == "TIMESTAMP":
        out = df.sort_values(["Timestamp", "Index"], kind="mergesort")
    else:
        conf = df["Confidence"].fillna(df["FaceConfidence"])
        key = pd.DataFrame(
            {"i": df["Index"].to_numpy(), "c": -conf.to_numpy(), "t": df["Timestamp"].to_numpy()},
            index=df.index,
        )
        order = key.sort_values(["i", "c", "t"], kind="mergesort", na_position="last").index
        out = df.loc[order]
    return out.reset_index(drop=True)


def dataframe_to_persons(df: pd.DataFrame, *, extensions: bool = False) -> list[dict[str, Any]]:
    """Turn result rows into ``PersonDetection`` dicts, in the frame's row order.

    Parameters
    ----------
    df : pandas.DataFrame
        A results DataFrame (validated).
    extensions : bool, default False
        Add a ``"PersonTrack"`` dict to each entry with FrameNumber, Confidence and
        BodyLandmarks, where known.

    Returns
    -------
    list of dict
        ``{"Timestamp": int, "Person": {"Index", "BoundingBox", "Face"?}}`` per row.
    """
    df = validate_frame(df)
    persons: list[dict[str, Any]] = []
    for row in df.itertuples(index=False, name=None):
        r = dict(zip(COLUMNS, row, strict=True))
        person: dict[str, Any] = {"Index": int(r["Index"])}
        box = [_num(r[c]) for c in BOX_COLUMNS]
        if all(v is not None for v in box):
            person["BoundingBox"] = dict(zip(_BOX_KEYS, box, strict=True))
        face = _face_detail(r)
        if face is not None:
            person["Face"] = face
        entry: dict[str, Any] = {"Timestamp": int(r["Timestamp"]), "Person": person}
        if extensions:
            ext: dict[str, Any] = {}
            if r["FrameNumber"] is not pd.NA:
                ext["FrameNumber"] = int(r["FrameNumber"])
            conf = _num(r["Confidence"])
            if conf is not None:
                ext["Confidence"] = conf
            if r["BodyLandmarks"] is not None:
                ext["BodyLandmarks"] = landmarks_as_list(r["BodyLandmarks"])
            if ext:
                entry[EXTENSION_KEY] = ext
        persons.append(entry)
    return persons


def _face_detail(r: Mapping[str, Any]) -> dict[str, Any] | None:
    face: dict[str, Any] = {}
    box = [_num(r[c]) for c in FACE_BOX_COLUMNS]
    if all(v is not None for v in box):
        face["BoundingBox"] = dict(zip(_BOX_KEYS, box, strict=True))
    conf = _num(r["FaceConfidence"])
    if conf is not None:
        face["Confidence"] = conf
    if r["FaceLandmarks"] is not None:
        face["Landmarks"] = r["FaceLandmarks"]
    for key, cols, names in (
        ("Pose", FACE_POSE_COLUMNS, _POSE_KEYS),
        ("Quality", FACE_QUALITY_COLUMNS, _QUALITY_KEYS),
    ):
        part = {
            n: v for n, v in zip(names, (_num(r[c]) for c in cols), strict=True) if v is not None
        }
        if part:
            face[key] = part
    if r["FaceExtra"]:
        face.update(r["FaceExtra"])
    return face or None


def dataframe_to_response(
    df: pd.DataFrame,
    video_metadata: Mapping[str, Any] | Any | None = None,
    *,
    sort_by: str = "TIMESTAMP",
    job_status: str | None = None,
    status_message: str | None = None,
    next_token: str | None = None,
    extensions: bool = False,
    extra: Mapping[str, Any] | None = None,
    presorted: bool = False,
) -> dict[str, Any]:
    """Build a ``GetPersonTracking`` response from results.

    Parameters
    ----------
    df : pandas.DataFrame
        The results (all of them, or one page).
    video_metadata : dict or VideoMetadata, optional
        Rekognition ``VideoMetadata``; objects with ``to_dict()`` are accepted. Defaults
        to the one remembered in ``df.attrs`` by :func:`response_to_dataframe`, else ``{}``.
    sort_by : {"TIMESTAMP", "INDEX"}
        Order of ``Persons`` (see :func:`sort_results`).
    job_status : {"IN_PROGRESS", "SUCCEEDED", "FAILED"}, optional
        ``JobStatus`` of the response; defaults to the one remembered in ``df.attrs``,
        else SUCCEEDED.
    status_message, next_token : str, optional
        Included when given.
    extensions : bool, default False
        Include persontrack's extra fields (``"PersonTrack"`` keys).
    extra : dict, optional
        More top-level fields (JobId, Video, JobTag, …); with ``extensions`` also a
        ``"PersonTrack"`` dict of versions and settings. Defaults to the fields remembered
        in ``df.attrs`` by :func:`response_to_dataframe`, so stored JSON round-trips.
    presorted : bool, default False
        Keep ``df``'s row order (it is already sorted by ``sort_by``).

    Returns
    -------
    dict
        The response; ``Persons`` is empty unless ``job_status`` is SUCCEEDED.
    """
    df = validate_frame(df, fill_missing=True)
    remembered = dict(df.attrs.get(RESPONSE_ATTR, {}))
    if job_status is None:
        job_status = remembered.get("JobStatus", "SUCCEEDED")
    if job_status not in JOB_STATUSES:
        raise InvalidParameterException(
            f"JobStatus must be one of {list(JOB_STATUSES)}, got {job_status!r}"
        )
    if status_message is None:
        status_message = remembered.get("StatusMessage")
    if extra is None:
        extra = {
            k: v
            for k, v in remembered.items()
            if k not in ("JobStatus", "StatusMessage", "VideoMetadata")
        }
    if video_metadata is None:
        meta = dict(remembered.get("VideoMetadata", {}))
    elif hasattr(video_metadata, "to_dict"):
        meta = dict(video_metadata.to_dict())
    elif isinstance(video_metadata, Mapping):
        meta = dict(video_metadata)
    else:
        raise InvalidParameterException(
            f"video_metadata must be a dict or VideoMetadata, got {type(video_metadata).__name__}"
        )
    response: dict[str, Any] = {"JobStatus": job_status}
    if status_message is not None:
        response["StatusMessage"] = status_message
    response["VideoMetadata"] = meta
    if next_token is not None:
        response["NextToken"] = next_token
    rows = df if presorted else sort_results(df, sort_by)
    response["Persons"] = (
        dataframe_to_persons(rows, extensions=extensions) if job_status == "SUCCEEDED" else []
    )
    for key, value in (extra or {}).items():
        if key == EXTENSION_KEY and not extensions:
            continue
        response[key] = value
    return response


def _pages(response_or_pages: Mapping[str, Any] | Iterable[Mapping[str, Any]]) -> list:
    if isinstance(response_or_pages, Mapping):
        return [response_or_pages]
    if isinstance(response_or_pages, (str, bytes)):
        raise InvalidParameterException("expected a response dict or a list of pages, got text")
    try:
        return list(response_or_pages)
    except TypeError:
        raise InvalidParameterException(
            f"expected a GetPersonTracking response dict or pages, "
            f"got {type(response_or_pages).__name__}"
        ) from None


def response_to_dataframe(
    response_or_pages: Mapping[str, Any] | Iterable[Mapping[str, Any]],
) -> pd.DataFrame:
    """Load ``GetPersonTracking`` response page(s) into a results DataFrame.

    Fields the schema has no column for are kept: extra FaceDetail fields (AgeRange,
    Emotions, …) in ``FaceExtra``; the first page's top-level fields (JobStatus,
    VideoMetadata, …, without Persons and NextToken) in ``df.attrs["GetPersonTracking"]``,
    so :func:`dataframe_to_response` can rebuild the response.

    Parameters
    ----------
    response_or_pages : dict or iterable of dict
        One response, or its pages in order (for example stored JSON files).

    Returns
    -------
    pandas.DataFrame
        One row per entry of ``Persons``, in the pages' order.

    Raises
    ------
    InvalidParameterException
        When the input is not shaped like a GetPersonTracking response.
    """
    pages = _pages(response_or_pages)
    records: list[dict[str, Any]] = []
    for p, page in enumerate(pages):
        if not isinstance(page, Mapping):
            raise InvalidParameterException(f"page {p} is a {type(page).__name__}, not a dict")
        persons = page.get("Persons", [])
        if not isinstance(persons, list):
            raise InvalidParameterException(f"page {p}: Persons must be a list")
        for i, entry in enumerate(persons):
            try:
                records.append(_record(entry))
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise InvalidParameterException(
                    f"page {p}, Persons[{i}] is not a PersonDetection: {exc!r}"
                ) from None
    df = pd.DataFrame.from_records(records, columns=list(COLUMNS)) if records else empty_frame()
    df = validate_frame(df, fill_missing=True)
    if pages:
        first = pages[0]
        df.attrs[RESPONSE_ATTR] = {
            k: v for k, v in first.items() if k not in ("Persons", "NextToken")
        }
    return df


def _box(box: Mapping[str, Any] | None) -> list[float]:
    if box is None:
        return [math.nan] * 4
    return [float(box[k]) if k in box else math.nan for k in _BOX_KEYS]


def _record(entry: Mapping[str, Any]) -> dict[str, Any]:
    person = entry["Person"]
    ext = entry.get(EXTENSION_KEY) or {}
    face = person.get("Face")
    rec: dict[str, Any] = {
        "Timestamp": int(entry["Timestamp"]),
        "FrameNumber": ext.get("FrameNumber", pd.NA),
        "Index": int(person["Index"]),
        "Confidence": float(ext.get("Confidence", math.nan)),
        "BodyLandmarks": ext.get("BodyLandmarks"),
    }
    rec.update(zip(BOX_COLUMNS, _box(person.get("BoundingBox")), strict=True))
    if face is None:
        rec.update(dict.fromkeys(FACE_BOX_COLUMNS, math.nan))
        rec.update(FaceConfidence=math.nan, FaceLandmarks=None, FaceExtra=None)
        rec.update(dict.fromkeys(FACE_POSE_COLUMNS + FACE_QUALITY_COLUMNS, math.nan))
        return rec
    rec.update(zip(FACE_BOX_COLUMNS, _box(face.get("BoundingBox")), strict=True))
    rec["FaceConfidence"] = float(face.get("Confidence", math.nan))
    rec["FaceLandmarks"] = face.get("Landmarks")
    pose, quality = face.get("Pose") or {}, face.get("Quality") or {}
    rec.update(
        zip(FACE_POSE_COLUMNS, (float(pose.get(k, math.nan)) for k in _POSE_KEYS), strict=True)
    )
    rec.update(
        zip(
            FACE_QUALITY_COLUMNS,
            (float(quality.get(k, math.nan)) for k in _QUALITY_KEYS),
            strict=True,
        )
    )
    extra = {k: v for k, v in face.items() if k not in _FACE_KNOWN}
    rec["FaceExtra"] = extra or None
    return rec


def validate_response(response: Mapping[str, Any], *, strict: bool = False) -> None:
    """Check a response against botocore's ``GetPersonTracking`` output shape.

    Parameters
    ----------
    response : dict
        A GetPersonTracking response.
    strict : bool, default False
        Also reject fields the model does not have (``"PersonTrack"`` extensions, or
        ``VideoMetadata.FileExtension`` that real Rekognition output carries).

    Raises
    ------
    InvalidParameterException
        Listing every departure from the shape.
    """
    errors = shape_errors(
        dict(response), output_shape("GetPersonTracking"), allow_unknown=not strict
    )
    if errors:
        shown = "; ".join(errors[:10]) + (
            f"; … {len(errors) - 10} more" if len(errors) > 10 else ""
        )
        raise InvalidParameterException(f"not a valid GetPersonTracking response: {shown}")


def strip_extensions(response: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``response`` without persontrack's ``"PersonTrack"`` fields."""
    out = {k: v for k, v in response.items() if k != EXTENSION_KEY}
    if "Persons" in out:
        out["Persons"] = [
            {k: v for k, v in e.items() if k != EXTENSION_KEY} for e in out["Persons"]
        ]
    return out


def _offset_token(offset: int, sort_by: str) -> str:
    raw = json.dumps({"o": offset, "s": sort_by}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def iter_response_pages(
    df: pd.DataFrame,
    video_metadata: Mapping[str, Any] | Any | None = None,
    *,
    max_results: int = 1000,
    sort_by: str = "TIMESTAMP",
    extensions: bool = False,
    extra: Mapping[str, Any] | None = None,
) -> Iterator[dict[str, Any]]:
    """Split results into ``GetPersonTracking`` pages of at most ``max_results`` entries.

    Each page carries VideoMetadata and, except the last, a ``NextToken``; the tokens here
    are plain offsets (the jobs client issues signed ones).

    Examples
    --------
    >>> import pandas as pd, persontrack as pt
    >>> df = pt.validate_frame(pd.DataFrame({"Timestamp": range(5), "Index": 0}), fill_missing=True)
    >>> [len(p["Persons"]) for p in pt.iter_response_pages(df, max_results=2)]
    [2, 2, 1]
    """
    if not is_number(max_results, int) or max_results < 1:
        raise InvalidParameterException(f"MaxResults must be an integer >= 1, got {max_results!r}")
    max_results = min(max_results, 1000)
    rows = sort_results(validate_frame(df, fill_missing=True), sort_by)
    for start in range(0, max(len(rows), 1), max_results):
        stop = start + max_results
        token = _offset_token(stop, sort_by) if stop < len(rows) else None
        yield dataframe_to_response(
            rows.iloc[start:stop],
            video_metadata
            if video_metadata is not None
            else df.attrs.get(RESPONSE_ATTR, {}).get("VideoMetadata"),
            sort_by=sort_by,
            next_token=token,
            extensions=extensions,
            extra=extra,
            presorted=True,
        )
