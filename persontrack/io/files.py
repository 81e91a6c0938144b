"""Reading and writing results files: GetPersonTracking JSON, CSV, Parquet and MOT text.

CSV and Parquet hold the results DataFrame's columns; the nested columns
(``FaceLandmarks``, ``FaceExtra``, ``BodyLandmarks``) are stored as JSON text so every
reader can load them, and :func:`read_results` decodes them back.

Examples
--------
>>> import io, pandas as pd, persontrack as pt
>>> df = pt.validate_frame(pd.DataFrame({"Timestamp": [0], "Index": [3]}), fill_missing=True)
>>> buf = io.StringIO()
>>> pt.write_results(df, buf, format="csv")
>>> _ = buf.seek(0)
>>> pt.read_results(buf, format="csv")["Index"].tolist()
[3]
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO, Any

import pandas as pd

from ..convert import dataframe_to_response, response_to_dataframe
from ..errors import InvalidParameterException
from ..schema import COLUMNS, OBJECT_COLUMNS, landmarks_as_list, validate_frame

FORMATS = ("json", "mot", "csv", "parquet")


def infer_format(path: str | os.PathLike[str] | None, default: str = "json") -> str:
    """The results format named by a file's extension (``default`` when unknown)."""
    if path is None:
        return default
    suffix = Path(path).suffix.lower().lstrip(".")
    aliases = {"txt": "mot", "pq": "parquet"}
    suffix = aliases.get(suffix, suffix)
    return suffix if suffix in FORMATS else default


def _encode(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for col in OBJECT_COLUMNS:
        out[col] = [None if v is None else json.dumps(landmarks_as_list(v)) for v in df[col]]
    return out


def _decode(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for col in OBJECT_COLUMNS:
        if col in out.columns:
            out[col] = pd.Series(
                [json.loads(v) if isinstance(v, str) else None for v in out[col]],
                index=out.index,
                dtype=object,
            )
    return out


def write_results(
    df: pd.DataFrame,
    dest: str | os.PathLike[str] | IO[Any],
    *,
    format: str | None = None,
    video_metadata: Any = None,
    **response_kwargs: Any,
) -> None:
    """Write results in one of :data:`FORMATS`.

    Parameters
    ----------
    df : pandas.DataFrame
        Results (validated).
    dest : path or file object
        Where to write (text mode for json/csv/mot, binary for parquet).
    format : {"json", "mot", "csv", "parquet"}, optional
        Defaults to the file extension, else json.
    video_metadata : dict or VideoMetadata, optional
        For json (the VideoMetadata) and mot (frame size, to turn ratios into pixels).
    **response_kwargs
        Passed to :func:`dataframe_to_response` for json.
    """
    fmt = format or infer_format(dest if isinstance(dest, (str, os.PathLike)) else None)
    if fmt not in FORMATS:
        raise InvalidParameterException(f"format must be one of {list(FORMATS)}, got {fmt!r}")
    df = validate_frame(df, fill_missing=True)
    if fmt == "json":
        response = dataframe_to_response(df, video_metadata, **response_kwargs)
        _write_text(dest, json.dumps(response, indent=1) + "\n")
    elif fmt == "csv":
        if isinstance(dest, (str, os.PathLike)):
            _encode(df).to_csv(dest, index=False)
        else:
            _encode(df).to_csv(dest, index=False)
    elif fmt == "parquet":
        _encode(df).to_parquet(dest, index=False)
    else:
        from .mot import write_mot_tracks

        write_mot_tracks(results_to_mot(df, video_metadata), dest)


def _write_text(dest: str | os.PathLike[str] | IO[Any], text: str) -> None:
    if isinstance(dest, (str, os.PathLike)):
        Path(dest).write_text(text)
    else:
        dest.write(text)


def results_to_mot(df: pd.DataFrame, video_metadata: Any) -> pd.DataFrame:
    """Results → MOT track rows (1-based ``frame`` and ``id`` = Index + 1, pixel boxes).

    Parameters
    ----------
    df : pandas.DataFrame
        Results with ``FrameNumber`` known.
    video_metadata : dict or VideoMetadata
        Needs FrameWidth and FrameHeight.
    """
    meta = video_metadata.to_dict() if hasattr(video_metadata, "to_dict") else video_metadata
    if not meta or "FrameWidth" not in meta or "FrameHeight" not in meta:
        meta = df.attrs.get("GetPersonTracking", {}).get("VideoMetadata", meta)
    if not meta or "FrameWidth" not in meta or "FrameHeight" not in meta:
        raise InvalidParameterException("MOT output needs VideoMetadata FrameWidth/FrameHeight")
    if df["FrameNumber"].isna().any():
        raise InvalidParameterException("MOT output needs the FrameNumber of every row")
    w, h = float(meta["FrameWidth"]), float(meta["FrameHeight"])
    conf = df["Confidence"].fillna(100.0) / 100.0
    return pd.DataFrame(
        {
            "frame": df["FrameNumber"].astype("int64") + 1,
            "id": df["Index"].astype("int64") + 1,
            "x": df["Left"] * w,
            "y": df["Top"] * h,
            "w": df["Width"] * w,
            "h": df["Height"] * h,
            "conf": conf,
        }
    ).sort_values(["frame", "id"], kind="mergesort", ignore_index=True)


def read_results(
    source: str | os.PathLike[str] | IO[Any], *, format: str | None = None
) -> pd.DataFrame:
    """Read results written by :func:`write_results` (json, csv or parquet).

    JSON may be one GetPersonTracking response or a list of pages (stored Rekognition
    output works too).
    """
    fmt = format or infer_format(source if isinstance(source, (str, os.PathLike)) else None)
    if isinstance(source, (str, os.PathLike)) and not Path(source).is_file():
        raise InvalidParameterException(f"no results file at {source}")
    if fmt == "json":
        text = Path(source).read_text() if isinstance(source, (str, os.PathLike)) else source.read()
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidParameterException(f"results file is not JSON: {exc}") from None
        return response_to_dataframe(data)
    if fmt == "csv":
        df = pd.read_csv(source)
    elif fmt == "parquet":
        df = pd.read_parquet(source)
    else:
        raise InvalidParameterException(f"cannot read results of format {fmt!r}")
    unknown = [c for c in df.columns if c not in COLUMNS]
    if unknown:
        raise InvalidParameterException(f"not a persontrack results file: columns {unknown}")
    return validate_frame(_decode(df), fill_missing=True)


class ResultsWriter:
    """Write results chunk by chunk, so results larger than memory reach a file.

    The chunks (results DataFrames) must come in TIMESTAMP order, as the segments of a
    long video do; each is written and can be dropped at once. The file is what
    :func:`write_results` writes for the whole frame: JSON (one GetPersonTracking
    response, ``Persons`` in TIMESTAMP order), CSV, Parquet (one row group per chunk) or
    MOT text.

    Parameters
    ----------
    dest : path or file object
        Where to write (text mode for json/csv/mot, binary for parquet).
    format : {"json", "mot", "csv", "parquet"}, optional
        Defaults to the file extension, else json.
    video_metadata : dict or VideoMetadata, optional
        As for :func:`write_results`; may also be given later, by :meth:`write` or
        :meth:`close` (JSON writes it last; MOT needs it before the first chunk).
    extensions : bool, default False
        JSON: include persontrack's extra fields (see :func:`dataframe_to_response`).
    extra : dict, optional
        JSON: more top-level keys, written last.

    Examples
    --------
    >>> import io, pandas as pd, persontrack as pt
    >>> from persontrack.io.files import ResultsWriter
    >>> buf = io.StringIO()
    >>> with ResultsWriter(buf, format="csv") as out:
    ...     for ts in (0, 40):
    ...         out.write(pt.validate_frame(pd.DataFrame({"Timestamp": [ts], "Index": [0]}),
    ...                                     fill_missing=True))
    >>> _ = buf.seek(0)
    >>> pt.read_results(buf, format="csv")["Timestamp"].tolist()
    [0, 40]
    """

    def __init__(
        self,
        dest: str | os.PathLike[str] | IO[Any],
        *,
        format: str | None = None,
        video_metadata: Any = None,
        extensions: bool = False,
        extra: dict[str, Any] | None = None,
    ) -> None:
        fmt = format or infer_format(dest if isinstance(dest, (str, os.PathLike)) else None)
        if fmt not in FORMATS:
            raise InvalidParameterException(f"format must be one of {list(FORMATS)}, got {fmt!r}")
        self.format = fmt
        self.video_metadata = video_metadata
        self.extensions = extensions
        self.extra = dict(extra or {})
        self.rows = 0
        self._own = isinstance(dest, (str, os.PathLike))
        mode = "wb" if fmt == "parquet" else "w"
        self._file: IO[Any] = open(dest, mode) if isinstance(dest, (str, os.PathLike)) else dest
        self._parquet: Any = None
        self._closed = False
        if fmt == "json":
            self._file.write('{"JobStatus": "SUCCEEDED", "Persons": [')

    def write(self, chunk: pd.DataFrame, *, video_metadata: Any = None) -> None:
        """Append the rows of one chunk."""
        from ..convert import dataframe_to_persons, sort_results

        if video_metadata is not None:
            self.video_metadata = video_metadata
        df = sort_results(validate_frame(chunk, fill_missing=True), "TIMESTAMP")
        if self.format == "json":
            for person in dataframe_to_persons(df, extensions=self.extensions):
                self._file.write(("\n" if self.rows == 0 else ",\n") + json.dumps(person))
                self.rows += 1
            return
        if self.format == "csv":
            _encode(df).to_csv(self._file, index=False, header=self.rows == 0)
        elif self.format == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            schema = _parquet_schema()
            table = pa.Table.from_pandas(_encode(df), schema=schema, preserve_index=False)
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self._file, schema)
            self._parquet.write_table(table)
        else:
            from .mot import write_mot_tracks

            write_mot_tracks(results_to_mot(df, self.video_metadata), self._file)
        self.rows += len(df)

    def close(self, *, video_metadata: Any = None) -> None:
        """Finish the file (JSON: VideoMetadata and the extra keys)."""
        if self._closed:
            return
        self._closed = True
        if video_metadata is not None:
            self.video_metadata = video_metadata
        meta = self.video_metadata
        if self.format == "json":
            meta = meta.to_dict() if hasattr(meta, "to_dict") else dict(meta or {})
            tail = {"VideoMetadata": meta, **self.extra}
            self._file.write("\n]" + "".join(f", {json.dumps(k)}: {json.dumps(v)}"
                                             for k, v in tail.items()) + "}\n")  # fmt: skip
        elif self.format == "parquet":
            if self._parquet is None:  # no rows: still a readable, empty file
                self.write(validate_frame(pd.DataFrame(columns=list(COLUMNS)), fill_missing=True))
            self._parquet.close()
        elif self.format == "csv" and self.rows == 0:
            _encode(validate_frame(pd.DataFrame(columns=list(COLUMNS)), fill_missing=True)).to_csv(
                self._file, index=False
            )
        if self._own:
            self._file.close()

    def __enter__(self) -> ResultsWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _parquet_schema() -> Any:
    """The Parquet columns of a results file (nested columns as JSON text)."""
    import pyarrow as pa

    kinds = {"int64": pa.int64(), "Int64": pa.int64(), "float64": pa.float64()}
    return pa.schema([(c, kinds.get(t, pa.string())) for c, t in COLUMNS.items()])
