"""A job's stored results read back: GetPersonTracking pages, DataFrames, and a
``dask.dataframe`` with one partition per block of rows.

The store keeps each row's PersonDetection as JSON text; a page splices those texts into
its response unparsed (:func:`splice`), a DataFrame parses them (:func:`records_frame`).

For :func:`results_dataframe`, each partition is read from the job store (SQLite) only
when computed, on whichever Dask worker computes it, so results larger than memory can
be filtered, grouped or written out partition by partition (``ddf.to_parquet(folder)``).
The workers must see the store at the same path: a LocalCluster or the job runner's own
machines. Partitions are in TIMESTAMP order, ``chunk_rows`` rows each (the last one
fewer); the index is each row's rank in that order (known divisions: ``ddf.loc[a:b]``
reads only the partitions it needs).

Used through :class:`~persontrack.jobs.client.PersonTrackingClient`
(``get_person_tracking``, ``get_dataframe``, ``iter_dataframes``, ``results_dask``).
"""

from __future__ import annotations

import gc
import json
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import ResourceNotFoundException
from ..schema import COLUMNS, compact_landmarks, validate_frame
from ._store import JobStore

__all__ = ["loads", "records_frame", "results_dataframe", "splice"]


def loads(text: str) -> Any:
    """``json.loads`` without cyclic garbage collection pauses.

    A page is ~20,000 new dicts and lists; with the collector on, parsing one triggers
    full collections over the notebook's whole heap (100+ ms). JSON cannot hold cycles,
    so nothing is lost by pausing the collector while parsing.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        return json.loads(text)
    finally:
        if enabled:
            gc.enable()


def splice(head: dict[str, Any], name: str, items: list[str], tail: dict[str, Any]) -> str:
    """Compact JSON of ``{**head, name: [items...], **tail}``, ``items`` being JSON texts.

    Examples
    --------
    >>> splice({"A": 1}, "L", ['{"x": 1}', "[2]"], {"B": "}"})
    '{"A":1,"L":[{"x": 1},[2]],"B":"}"}'
    >>> json.loads(splice({}, "L", [], {}))
    {'L': []}
    """
    dumps = json.JSONEncoder(separators=(",", ":")).encode
    parts = ["{", dumps(head)[1:-1], "," if head else "", json.dumps(name), ":["]
    parts += [",".join(items), "]", "," if tail else "", dumps(tail)[1:-1], "}"]
    return "".join(parts)


def records_frame(rows: list[str]) -> pd.DataFrame:
    """A results DataFrame from stored row JSON strings (landmarks compact)."""
    records = loads("[" + ",".join(rows) + "]")
    frame = pd.DataFrame.from_records(records, columns=list(COLUMNS))
    return compact_landmarks(validate_frame(frame, fill_missing=True))


def results_dataframe(store_path: Path, job: dict[str, Any], chunk_rows: int) -> Any:
    """A ``dask.dataframe.DataFrame`` of the SUCCEEDED ``job``'s rows in ``store_path``."""
    import dask
    import dask.dataframe as dd

    total = int(job["result_count"] or 0)
    blocks = [
        (str(store_path), int(job["job_key"]), job["job_id"], start, min(start + chunk_rows, total))
        for start in range(0, total, chunk_rows)
    ] or [(str(store_path), int(job["job_key"]), job["job_id"], 0, 0)]
    # the index is each row's rank: partition k starts at row k * chunk_rows
    divisions = [b[3] for b in blocks] + [total - 1] if total else None
    # the columns keep get_dataframe's dtypes (dask would turn object columns, e.g. the
    # landmark lists, into Arrow strings)
    with dask.config.set({"dataframe.convert-string": False}):
        return dd.from_map(
            _read_block,
            blocks,
            meta=records_frame([]),
            divisions=divisions,
            label="persontrack-results",
            enforce_metadata=False,
        )


def _read_block(block: tuple[str, int, str, int, int]) -> Any:
    """Rows ``start..stop`` of a job, checked to be all there (the job may have been
    deleted since the dataframe was made)."""

    path, job_key, job_id, start, stop = block
    rows = JobStore(Path(path)).result_rows(job_key, start, stop)
    if len(rows) != stop - start:
        raise ResourceNotFoundException(
            f"job {job_id}'s results are gone (deleted since results_dask was called)",
            "GetDataFrame",
        )
    return records_frame(rows).set_axis(range(start, stop))
