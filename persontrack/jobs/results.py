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
from ._store import STREAM_KIND, JobStore
from ._tokens import TokenSigner

__all__ = [
    "API_STATUS",
    "DEFAULT_MAX_RESULTS",
    "loads",
    "page",
    "records_frame",
    "results_dataframe",
    "splice",
]

DEFAULT_MAX_RESULTS = 1000
"""GetPersonTracking's MaxResults when none is given (and its cap)."""

API_STATUS = {
    "QUEUED": "IN_PROGRESS",
    "RUNNING": "IN_PROGRESS",
    "SUCCEEDED": "SUCCEEDED",
    "FAILED": "FAILED",
}
"""Rekognition's JobStatus of each state of the store."""


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


def page(
    store: JobStore, signer: TokenSigner, job: dict[str, Any], request: dict[str, Any]
) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """One GetPersonTracking page of ``job`` for a checked ``request``: the members before
    ``Persons``, the page's stored PersonDetection JSON texts joined by commas, and the
    members after (Rekognition's order). A NextToken is signed by ``signer``."""
    sort_by = request.get("SortBy", "TIMESTAMP")
    limit = request.get("MaxResults", DEFAULT_MAX_RESULTS)
    status = API_STATUS[job["state"]]
    offset = 0
    if "NextToken" in request:
        offset = signer.verify(
            request["NextToken"],
            job_id=job["job_id"],
            job_key=job["job_key"],
            generation=job["generation"],
            sort_by=sort_by,
        )
    head: dict[str, Any] = {"JobStatus": status}
    if job["status_message"] is not None:
        head["StatusMessage"] = job["status_message"]
    if job["video_metadata"] is not None:
        head["VideoMetadata"] = job["video_metadata"]
    persons = ""
    if (
        status == "IN_PROGRESS"
        and sort_by == "TIMESTAMP"
        and job["source"].get("kind") == STREAM_KIND
    ):
        persons, count = store.page_text(job["job_key"], sort_by, offset, limit)
        head["NextToken"] = signer.sign(
            job_id=job["job_id"],
            job_key=job["job_key"],
            generation=job["generation"],
            sort_by=sort_by,
            offset=offset + count,
        )
    elif status == "SUCCEEDED":
        persons, _ = store.page_text(job["job_key"], sort_by, offset, limit)
        if offset + limit < (job["result_count"] or 0):
            head["NextToken"] = signer.sign(
                job_id=job["job_id"],
                job_key=job["job_key"],
                generation=job["generation"],
                sort_by=sort_by,
                offset=offset + limit,
            )
    tail: dict[str, Any] = {"JobId": job["job_id"], "Video": job["video"]}
    if job["job_tag"] is not None:
        tail["JobTag"] = job["job_tag"]
    return head, persons, tail
