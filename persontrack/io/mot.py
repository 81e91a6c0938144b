"""Read and write MOT Challenge text files.

The MOT Challenge (motchallenge.net) text format has one box per line::

    frame, id, x, y, w, h, conf, -1, -1, -1

``frame`` is 1-based, ``x, y`` is the top-left corner and ``w, h`` the size, in pixels.
Detection files (``det/det.txt``) have ``id = -1`` and 7 or 10 columns; ground truth
(``gt/gt.txt``) has 9: ``frame, id, x, y, w, h, consider, class, visibility``. Tracker
output has 10 and 1-based ids.

Examples
--------
>>> import io, persontrack as pt
>>> det = io.StringIO("2,-1,100,50,40,100,0.9\\n1,-1,100,50,40,100,0.9\\n3,-1,102,50,40,100,0.8\\n")
>>> df = pt.read_mot_detections(det)
>>> df["frame"].tolist()
[1, 2, 3]
>>> out = io.StringIO()
>>> pt.write_mot_tracks(df.assign(id=1), out)
>>> out.getvalue().splitlines()[0]
'1,1,100,50,40,100,0.9,-1,-1,-1'
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import IO, Union

import numpy as np
import pandas as pd

from .._checks import numeric_column
from ..errors import InvalidParameterException, InvalidS3ObjectException

__all__ = [
    "DETECTION_COLUMNS",
    "GROUND_TRUTH_COLUMNS",
    "read_mot_detections",
    "read_mot_ground_truth",
    "write_mot_tracks",
]

PathOrBuffer = Union[str, "os.PathLike[str]", IO[str]]

DETECTION_COLUMNS: tuple[str, ...] = ("frame", "id", "x", "y", "w", "h", "conf")
"""Columns of :func:`read_mot_detections` and of :func:`track_mot_detections` output."""

GROUND_TRUTH_COLUMNS: tuple[str, ...] = (
    "frame",
    "id",
    "x",
    "y",
    "w",
    "h",
    "consider",
    "class",
    "visibility",
)
"""Columns of :func:`read_mot_ground_truth`."""

PEDESTRIAN_CLASS = 1
"""MOT17 ground-truth class of a pedestrian (the class the benchmark scores)."""


def read_mot_detections(path_or_buffer: PathOrBuffer) -> pd.DataFrame:
    """Read a MOT Challenge detection file (``det.txt``).

    Parameters
    ----------
    path_or_buffer : str, os.PathLike or text buffer
        A file with 7 (``frame,id,x,y,w,h,conf``) or 10 (``…,conf,x,y,z``) comma-separated
        columns, lines in any order.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`DETECTION_COLUMNS` (``frame`` and ``id`` int64, the rest float64),
        sorted by frame (stable, so the file's order is kept within a frame), index 0..n-1.

    Raises
    ------
    InvalidS3ObjectException
        The file does not exist or cannot be read.
    InvalidParameterException
        Wrong number of columns, non-numeric values, or boxes with negative size.
    """
    table = _read_table(path_or_buffer, (7, 10), "detection")
    df = pd.DataFrame(table[:, :7], columns=list(DETECTION_COLUMNS))
    return _finish(df, "detection")


def read_mot_ground_truth(
    path_or_buffer: PathOrBuffer, *, pedestrians_only: bool = False
) -> pd.DataFrame:
    """Read a MOT Challenge ground-truth file (``gt.txt``).

    Parameters
    ----------
    path_or_buffer : str, os.PathLike or text buffer
        A file with 9 columns ``frame,id,x,y,w,h,consider,class,visibility`` (MOT16/17/20).
    pedestrians_only : bool, default False
        Keep only the rows the MOT17 benchmark scores (``consider == 1`` and
        ``class == 1``). Keep the default to score like TrackEval, which also uses the
        other rows (distractors) to ignore tracker boxes on them.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`GROUND_TRUTH_COLUMNS`, sorted by frame then id.

    Raises
    ------
    InvalidS3ObjectException
        The file does not exist or cannot be read.
    InvalidParameterException
        Wrong number of columns or non-numeric values.
    """
    table = _read_table(path_or_buffer, (9,), "ground-truth")
    df = pd.DataFrame(table, columns=list(GROUND_TRUTH_COLUMNS))
    df = _finish(df, "ground-truth", extra_int=("consider", "class"))
    if pedestrians_only:
        keep = (df["consider"] == 1) & (df["class"] == PEDESTRIAN_CLASS)
        df = df[keep].reset_index(drop=True)
    return df.sort_values(["frame", "id"], kind="stable").reset_index(drop=True)


def write_mot_tracks(df: pd.DataFrame, path_or_buffer: PathOrBuffer) -> None:
    """Write tracks as a MOT Challenge result file (``frame,id,x,y,w,h,conf,-1,-1,-1``).

    Parameters
    ----------
    df : pandas.DataFrame
        Columns ``frame`` (1-based), ``id`` (1-based), ``x, y, w, h`` (pixels) and
        optionally ``conf`` (written as -1 when absent), e.g. from
        :func:`track_mot_detections`. Not modified.
    path_or_buffer : str, os.PathLike or text buffer
        Where to write; parent folders of a path are created.

    Raises
    ------
    InvalidParameterException
        Missing columns, non-numeric values, or frame/id below 1.
    """
    if not isinstance(df, pd.DataFrame):
        raise InvalidParameterException(
            f"write_mot_tracks: df must be a pandas DataFrame, got {type(df).__name__}"
        )
    missing = [c for c in ("frame", "id", "x", "y", "w", "h") if c not in df.columns]
    if missing:
        raise InvalidParameterException(f"write_mot_tracks: df lacks columns {missing}")
    out = pd.DataFrame(
        {
            c: numeric_column(df[c], c, "write_mot_tracks")
            for c in ("frame", "id", "x", "y", "w", "h")
        }
    )
    out["conf"] = numeric_column(df["conf"], "conf", "write_mot_tracks") if "conf" in df else -1.0
    for c in ("frame", "id"):
        if len(out) and (out[c] < 1).any():
            raise InvalidParameterException(f"write_mot_tracks: {c} must be >= 1 (1-based)")
        if (out[c] != np.round(out[c])).any():
            raise InvalidParameterException(f"write_mot_tracks: {c} must be whole numbers")
        out[c] = out[c].astype(np.int64)
    out = out.sort_values(["frame", "id"], kind="stable")
    for c in ("a", "b", "c"):
        out[c] = -1
    text = out.to_csv(header=False, index=False, float_format="%.10g", lineterminator="\n")
    if isinstance(path_or_buffer, (str, os.PathLike)):
        path = Path(path_or_buffer)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    else:
        path_or_buffer.write(text)


# ----------------------------------------------------------------------------- helpers


def _read_table(path_or_buffer: PathOrBuffer, ncols: tuple[int, ...], what: str) -> np.ndarray:
    """Parse a comma-separated numeric table, checking its width."""
    name = getattr(path_or_buffer, "name", None) or "<buffer>"
    if isinstance(path_or_buffer, (str, os.PathLike)):
        path = Path(path_or_buffer)
        name = str(path)
        if not path.is_file():
            raise InvalidS3ObjectException(f"MOT {what} file not found: {path}")
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as e:
            raise InvalidS3ObjectException(f"cannot read MOT {what} file {path}: {e}") from e
    elif hasattr(path_or_buffer, "read"):
        text = path_or_buffer.read()
        if isinstance(text, bytes):
            text = text.decode()
    else:
        raise InvalidParameterException(
            f"MOT {what} input must be a path or a text buffer, got {type(path_or_buffer)}"
        )
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        return np.zeros((0, max(ncols)))
    widths = {len(ln.split(",")) for ln in lines}
    if len(widths) != 1 or next(iter(widths)) not in ncols:
        raise InvalidParameterException(
            f"MOT {what} file {name}: expected {' or '.join(map(str, ncols))} comma-separated "
            f"columns per line, found {sorted(widths)}"
        )
    try:
        table = np.loadtxt(io.StringIO("\n".join(lines)), delimiter=",", ndmin=2)
    except ValueError as e:
        raise InvalidParameterException(f"MOT {what} file {name}: non-numeric value ({e})") from e
    if not np.all(np.isfinite(table)):
        raise InvalidParameterException(f"MOT {what} file {name}: values must be finite")
    return table


def _finish(df: pd.DataFrame, what: str, extra_int: tuple[str, ...] = ()) -> pd.DataFrame:
    for c in ("frame", "id", *extra_int):
        if (df[c] != np.round(df[c])).any():
            raise InvalidParameterException(f"MOT {what} file: {c} must be whole numbers")
        df[c] = df[c].astype(np.int64)
    if ((df["w"] < 0) | (df["h"] < 0)).any():
        raise InvalidParameterException(f"MOT {what} file: box width/height must be >= 0")
    return df.sort_values("frame", kind="stable").reset_index(drop=True)
