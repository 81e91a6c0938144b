"""The results DataFrame: one row per person per analysed timestamp.

This module is the single definition of the column schema. Every function that
produces or accepts a results DataFrame goes through :func:`validate_frame` (or builds
through :func:`empty_frame`), so a column name or dtype is written down only here.

========================  =========  ===========================================================
column                    dtype      meaning
========================  =========  ===========================================================
``Timestamp``             int64      milliseconds from the start of the video
``FrameNumber``           Int64      0-based source frame number (<NA> when unknown, e.g.
                                     loaded from Rekognition JSON)
``Index``                 int64      the person's stable identifier within the video
``Left`` ``Top``          float64    person BoundingBox, ratios of the frame width/height
``Width`` ``Height``      float64    (Rekognition semantics; may exceed [0, 1] slightly)
``Confidence``            float64    person detection confidence, 0-100 (NaN when unknown)
``FaceLeft`` …            float64    face BoundingBox (NaN when no face was seen)
``FaceHeight``
``FaceConfidence``        float64    face detection confidence, 0-100
``FacePitch`` ``FaceRoll`` float64   head pose in degrees
``FaceYaw``
``FaceBrightness``        float64    face image quality, 0-100
``FaceSharpness``
``FaceLandmarks``         object     list of ``{"Type", "X", "Y"}`` dicts, or None
``FaceExtra``             object     other FaceDetail fields (AgeRange, Emotions, …) as a
                                     dict, or None; kept so Rekognition JSON round-trips
``BodyLandmarks``         object     33 ``[x, y, z, visibility]`` (MediaPipe pose order, x/y
                                     ratios of the frame): a list of lists, or a float32
                                     array of shape (33, 4) (see :func:`compact_landmarks`),
                                     or None
========================  =========  ===========================================================

Examples
--------
>>> import persontrack as pt
>>> df = pt.empty_frame()
>>> list(df.columns[:4])
['Timestamp', 'FrameNumber', 'Index', 'Left']
>>> pt.validate_frame(df) is df
True
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .errors import InvalidParameterException

BOX_COLUMNS: tuple[str, ...] = ("Left", "Top", "Width", "Height")
FACE_BOX_COLUMNS: tuple[str, ...] = ("FaceLeft", "FaceTop", "FaceWidth", "FaceHeight")
FACE_POSE_COLUMNS: tuple[str, ...] = ("FacePitch", "FaceRoll", "FaceYaw")
FACE_QUALITY_COLUMNS: tuple[str, ...] = ("FaceBrightness", "FaceSharpness")

COLUMNS: dict[str, str] = {
    "Timestamp": "int64",
    "FrameNumber": "Int64",
    "Index": "int64",
    **{c: "float64" for c in BOX_COLUMNS},
    "Confidence": "float64",
    **{c: "float64" for c in FACE_BOX_COLUMNS},
    "FaceConfidence": "float64",
    **{c: "float64" for c in FACE_POSE_COLUMNS},
    **{c: "float64" for c in FACE_QUALITY_COLUMNS},
    "FaceLandmarks": "object",
    "FaceExtra": "object",
    "BodyLandmarks": "object",
}
"""Column name -> pandas dtype, in order."""

OBJECT_COLUMNS: tuple[str, ...] = tuple(c for c, t in COLUMNS.items() if t == "object")
REQUIRED_COLUMNS: tuple[str, ...] = ("Timestamp", "Index")
"""Columns a frame must have; any other schema column missing is added as nulls."""

BODY_LANDMARK_NAMES: tuple[str, ...] = (
    "nose",
    "left_eye_inner",
    "left_eye",
    "left_eye_outer",
    "right_eye_inner",
    "right_eye",
    "right_eye_outer",
    "left_ear",
    "right_ear",
    "mouth_left",
    "mouth_right",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_pinky",
    "right_pinky",
    "left_index",
    "right_index",
    "left_thumb",
    "right_thumb",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_heel",
    "right_heel",
    "left_foot_index",
    "right_foot_index",
)
"""The 33 MediaPipe pose landmarks, in the order of ``BodyLandmarks``."""


def empty_frame() -> pd.DataFrame:
    """Return a results DataFrame with no rows and every schema column.

    Returns
    -------
    pandas.DataFrame
        Columns and dtypes as in :data:`COLUMNS`.
    """
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in COLUMNS.items()})


def validate_frame(df: pd.DataFrame, *, fill_missing: bool = False) -> pd.DataFrame:
    """Check that ``df`` follows the results schema.

    Parameters
    ----------
    df : pandas.DataFrame
        A results DataFrame.
    fill_missing : bool, default False
        Add absent optional columns as nulls and cast castable columns, returning a new
        frame (the input is never modified). When False, ``df`` must already match.

    Returns
    -------
    pandas.DataFrame
        ``df`` itself when it already matches, otherwise a conformed copy
        (only with ``fill_missing=True``).

    Raises
    ------
    InvalidParameterException
        When ``df`` is not a DataFrame, lacks required columns, has values of the wrong
        type, negative timestamps, or duplicate (Timestamp, Index) pairs.

    Examples
    --------
    >>> import pandas as pd, persontrack as pt
    >>> df = pt.validate_frame(pd.DataFrame({"Timestamp": [0], "Index": [1]}), fill_missing=True)
    >>> bool(df["Left"].isna().all())
    True
    """
    if not isinstance(df, pd.DataFrame):
        raise InvalidParameterException(
            f"expected a pandas DataFrame of results, got {type(df).__name__}"
        )
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise InvalidParameterException(f"results DataFrame lacks required columns {missing}")
    unknown = [c for c in df.columns if c not in COLUMNS]
    if unknown:
        raise InvalidParameterException(
            f"results DataFrame has columns outside the schema: {unknown}; "
            f"known columns are {list(COLUMNS)}"
        )
    conforms = list(df.columns) == list(COLUMNS) and all(
        str(df[c].dtype) == t for c, t in COLUMNS.items()
    )
    if not conforms:
        if not fill_missing:
            wrong = {
                c: str(df[c].dtype)
                for c in df.columns
                if c in COLUMNS and str(df[c].dtype) != COLUMNS[c]
            }
            absent = [c for c in COLUMNS if c not in df.columns]
            raise InvalidParameterException(
                "results DataFrame does not match the schema"
                + (f"; wrong dtypes {wrong}" if wrong else "")
                + (f"; missing columns {absent}" if absent else "")
                + " (pass fill_missing=True to conform it)"
            )
        df = _conform(df)
    _check_values(df)
    return df


def _conform(df: pd.DataFrame) -> pd.DataFrame:
    n = len(df)
    out: dict[str, pd.Series] = {}
    for col, dtype in COLUMNS.items():
        if col in df.columns:
            try:
                out[col] = df[col].astype(dtype) if dtype != "object" else df[col].astype(object)
            except (TypeError, ValueError) as exc:
                raise InvalidParameterException(
                    f"column {col!r} cannot be read as {dtype}: {exc}"
                ) from None
        elif dtype == "object":
            out[col] = pd.Series([None] * n, index=df.index, dtype=object)
        else:
            out[col] = pd.Series(pd.NA if dtype == "Int64" else np.nan, index=df.index).astype(
                dtype
            )
    return pd.DataFrame(out, index=df.index)


def _check_values(df: pd.DataFrame) -> None:
    if len(df) == 0:
        return
    if (df["Timestamp"] < 0).any():
        raise InvalidParameterException("Timestamp values must be >= 0 milliseconds")
    if (df["Index"] < 0).any():
        raise InvalidParameterException("Index values must be >= 0")
    if df.duplicated(["Timestamp", "Index"]).any():
        dup = df.loc[df.duplicated(["Timestamp", "Index"]), ["Timestamp", "Index"]].iloc[0]
        raise InvalidParameterException(
            f"person Index {int(dup['Index'])} appears twice at Timestamp {int(dup['Timestamp'])}"
        )
    bad = df["FaceLandmarks"].map(lambda v: v is not None and not isinstance(v, list))
    if bad.any():
        raise InvalidParameterException("column 'FaceLandmarks' must hold lists or None")
    bad = df["BodyLandmarks"].map(
        lambda v: (
            v is not None
            and not isinstance(v, list)
            and not (isinstance(v, np.ndarray) and v.shape == (len(BODY_LANDMARK_NAMES), 4))
        )
    )
    if bad.any():
        raise InvalidParameterException(
            "column 'BodyLandmarks' must hold lists, (33, 4) arrays or None"
        )
    bad_extra = df["FaceExtra"].map(lambda v: v is not None and not isinstance(v, Mapping))
    if bad_extra.any():
        raise InvalidParameterException("column 'FaceExtra' must hold dicts or None")


LANDMARK_DECIMALS = 6
"""Decimals of a compact landmark written out (JSON, CSV): the pipeline's own rounding."""


def compact_landmarks(df: pd.DataFrame) -> pd.DataFrame:
    """The frame with each ``BodyLandmarks`` as one float32 array of shape (33, 4).

    A list of 33 lists of 4 Python floats costs about 6,400 bytes per row; the array
    about 660 (measured with ``sys.getsizeof`` on 5,000 rows: 6,392 vs 656 bytes, and
    1,184 for float64). MediaPipe computes landmarks in float32 and the pipeline keeps
    :data:`LANDMARK_DECIMALS` decimals, so float32 loses nothing: written out they are
    rounded back to those decimals (:func:`landmarks_as_list`). A new frame is returned.

    Examples
    --------
    >>> import pandas as pd, persontrack as pt
    >>> from persontrack.schema import compact_landmarks, landmarks_as_list
    >>> df = pt.validate_frame(pd.DataFrame({"Timestamp": [0], "Index": [0],
    ...     "BodyLandmarks": [[[0.123456, 0.5, -0.25, 0.9]] * 33]}), fill_missing=True)
    >>> small = compact_landmarks(df)
    >>> small["BodyLandmarks"][0].dtype, landmarks_as_list(small["BodyLandmarks"][0])[0]
    (dtype('float32'), [0.123456, 0.5, -0.25, 0.9])
    """
    values = [None if v is None else np.asarray(v, dtype=np.float32) for v in df["BodyLandmarks"]]
    return df.assign(BodyLandmarks=pd.Series(values, index=df.index, dtype=object))


def landmarks_as_list(value: object) -> object:
    """A ``BodyLandmarks`` value as lists of floats (JSON-ready); lists pass unchanged."""
    if isinstance(value, np.ndarray):
        if value.dtype == np.float32:
            return np.round(value.astype(np.float64), LANDMARK_DECIMALS).tolist()
        return value.tolist()
    return value


def body_landmarks_array(df: pd.DataFrame) -> np.ndarray:
    """Stack ``BodyLandmarks`` into an array of shape (rows, 33, 4), NaN where absent.

    Parameters
    ----------
    df : pandas.DataFrame
        A results DataFrame.

    Returns
    -------
    numpy.ndarray
        ``[x, y, z, visibility]`` per landmark, x and y as ratios of the frame size.

    Examples
    --------
    >>> import persontrack as pt
    >>> pt.body_landmarks_array(pt.empty_frame()).shape
    (0, 33, 4)
    """
    out = np.full((len(df), len(BODY_LANDMARK_NAMES), 4), np.nan)
    for i, value in enumerate(df["BodyLandmarks"]):
        if value is not None:
            out[i] = np.asarray(value, dtype=float)
    return out
