"""A finished job's results as a ``dask.dataframe``: one partition per block of rows.

Each partition is read from the job store (SQLite) only when computed, on whichever Dask
worker computes it, so results larger than memory can be filtered, grouped or written
out partition by partition (``ddf.to_parquet(folder)``). The workers must see the store
at the same path: a LocalCluster or the job runner's own machines. Partitions are in
TIMESTAMP order, ``chunk_rows`` rows each (the last one fewer); the index is each row's
rank in that order (known divisions: ``ddf.loc[a:b]`` reads only the partitions it needs).

Used through :meth:`PersonTrackingClient.results_dask
<persontrack.jobs.client.PersonTrackingClient.results_dask>`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import ResourceNotFoundException

__all__ = ["results_dataframe"]


def results_dataframe(store_path: Path, job: dict[str, Any], chunk_rows: int) -> Any:
    """A ``dask.dataframe.DataFrame`` of the SUCCEEDED ``job``'s rows in ``store_path``."""
    import dask
    import dask.dataframe as dd

    from .client import _records_frame

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
            meta=_records_frame([]),
            divisions=divisions,
            label="persontrack-results",
            enforce_metadata=False,
        )


def _read_block(block: tuple[str, int, str, int, int]) -> Any:
    """Rows ``start..stop`` of a job, checked to be all there (the job may have been
    deleted since the dataframe was made)."""
    from ._store import JobStore
    from .client import _records_frame

    path, job_key, job_id, start, stop = block
    rows = JobStore(Path(path)).result_rows(job_key, start, stop)
    if len(rows) != stop - start:
        raise ResourceNotFoundException(
            f"job {job_id}'s results are gone (deleted since results_dask was called)",
            "GetDataFrame",
        )
    return _records_frame(rows).set_axis(range(start, stop))
