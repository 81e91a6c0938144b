"""A boto3-shaped Rekognition client that runs People Pathing jobs locally.

Code written for ``boto3.client("rekognition")`` keeps working: the same method names,
PascalCase parameters, response dicts and exceptions (``client.exceptions.X``, catchable
as botocore's ``ClientError`` with ``e.response["Error"]["Code"]``). Jobs live in a SQLite
store under ``data_dir`` and run on Dask: by default a ``LocalCluster`` of worker processes
(one per core) that a background job runner starts when a job is first queued, or an
existing cluster named by ``scheduler_address`` / ``$PERSONTRACK_DASK_SCHEDULER``. A long
video is tracked in time segments spread over the cluster's workers; videos come from local
folders under ``bucket_root`` (bucket = sub-folder) or, when configured, from S3.

Examples
--------
A migrating user's code, unchanged but for the client::

    rek = pt.client(data_dir="~/.persontrack", bucket_root="~/videos")
    job = rek.start_person_tracking(Video={"S3Object": {"Bucket": "shop", "Name": "door.mp4"}})
    rek.wait(job["JobId"])
    page = rek.get_person_tracking(JobId=job["JobId"], SortBy="INDEX")
    df = rek.get_dataframe(job["JobId"])

Errors are Rekognition's:

>>> import tempfile, persontrack as pt
>>> root = tempfile.mkdtemp()
>>> rek = pt.client(data_dir=root + "/jobs", bucket_root=root)
>>> try:
...     rek.get_person_tracking(JobId="no-such-job")
... except rek.exceptions.ResourceNotFoundException as e:
...     print(e.response["Error"]["Code"])
ResourceNotFoundException
>>> rek.close()
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import pandas as pd
from botocore.exceptions import ClientError

from .._checks import is_number
from ..errors import (
    ERRORS,
    IdempotentParameterMismatchException,
    InternalServerError,
    InvalidParameterException,
    ResourceNotFoundException,
    ThrottlingException,
)
from ..segments import DEFAULT_OVERLAP_SECONDS, DEFAULT_SEGMENT_SECONDS
from ._options import validate_options
from ._params import validate_request
from ._private import forget_in_logs, private_dir
from ._storage import LocalBuckets, S3Storage
from ._store import ACTIVE_STATES, DB_FILE, JobStore, disk_full
from ._supervise import Notifier, spawn_runner
from ._tokens import TOKEN_TTL_SECONDS, TokenSigner, load_or_create_key
from ._worker import CLUSTER_FILE, DEFAULT_TRACKER, HEARTBEAT_INTERVAL
from .results import (
    API_STATUS,
    loads,
    page,
    records_frame,
    results_dataframe,
    splice,
)

__all__ = ["PersonTrackingClient", "client", "get_person_tracking", "start_person_tracking"]

DEFAULT_DATA_DIR = "~/.persontrack"
"""Where the job store lives unless ``data_dir`` or ``$PERSONTRACK_DATA_DIR`` says otherwise."""
MAX_JOBS = 20
"""Jobs that may run or wait at once (Rekognition's default concurrent-job quota)."""
HEARTBEAT_TIMEOUT = 60.0
"""Seconds without a heartbeat after which a job runner counts as dead."""
RUNNERS = 1
"""Job runner processes per store: one runner drives every job of the store on Dask."""


def _response_metadata() -> dict[str, Any]:
    request_id = str(uuid.uuid4())
    return {
        "RequestId": request_id,
        "HTTPStatusCode": 200,
        "HTTPHeaders": {
            "x-amzn-requestid": request_id,
            "content-type": "application/x-amz-json-1.1",
        },
        "RetryAttempts": 0,
    }


class _RateLimiter:
    """A token bucket: at most ``rate`` requests per second on average, bursts of ``rate``."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.tokens = rate
        self.stamp = time.monotonic()
        self.lock = threading.Lock()

    def acquire(self, operation: str) -> None:
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.rate, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens < 1:
                raise ThrottlingException(
                    f"more than {self.rate:g} requests per second; slow down and retry",
                    operation,
                )
            self.tokens -= 1


class PersonTrackingClient:
    """Rekognition's StartPersonTracking/GetPersonTracking, run on this machine.

    Create it with :func:`client`. Parameters are described there.
    """

    exceptions = SimpleNamespace(ClientError=ClientError, **ERRORS)
    """The error classes, as ``boto3.client("rekognition").exceptions`` has them."""

    def __init__(
        self,
        data_dir: str | os.PathLike[str] | None = None,
        bucket_root: str | os.PathLike[str] | None = None,
        *,
        storage: str | None = None,
        s3_endpoint_url: str | None = None,
        sns_endpoint_url: str | None = None,
        region_name: str | None = None,
        settings: Mapping[str, Any] | Any | None = None,
        max_jobs: int = MAX_JOBS,
        max_workers: int | None = None,
        max_requests_per_second: float | None = None,
        heartbeat_timeout: float = HEARTBEAT_TIMEOUT,
        token_ttl: float = TOKEN_TTL_SECONDS,
        busy_timeout: float = 30.0,
        tracker: str | None = None,
        scheduler_address: str | None = None,
        segment_seconds: float = DEFAULT_SEGMENT_SECONDS,
        overlap_seconds: float = DEFAULT_OVERLAP_SECONDS,
    ) -> None:
        tracker = tracker or os.environ.get("PERSONTRACK_TRACKER") or DEFAULT_TRACKER
        validate_options({k: v for k, v in locals().items() if k != "self"})
        data = data_dir or os.environ.get("PERSONTRACK_DATA_DIR") or DEFAULT_DATA_DIR
        self.data_dir = Path(data).expanduser().resolve()
        private_dir(self.data_dir)
        if storage is None:
            storage = "s3" if bucket_root is None and s3_endpoint_url else "local"
        if storage == "local":
            root = bucket_root or os.environ.get("PERSONTRACK_BUCKET_ROOT")
            self.storage: LocalBuckets | S3Storage = LocalBuckets(
                Path(root) if root else self.data_dir / "buckets"
            )
        elif storage == "s3":
            self.storage = S3Storage(s3_endpoint_url, region_name)
        else:
            raise InvalidParameterException(f"storage must be 'local' or 's3', got {storage!r}")
        self.max_jobs = max_jobs
        self.max_workers = max_workers or max(1, os.cpu_count() or 1)
        self.scheduler_address = (
            scheduler_address or os.environ.get("PERSONTRACK_DASK_SCHEDULER") or None
        )
        self.segment_seconds = float(segment_seconds)
        self.overlap_seconds = float(overlap_seconds)
        self.sns_endpoint_url = sns_endpoint_url
        self.region_name = region_name
        self.heartbeat_timeout = heartbeat_timeout
        self.tracker = tracker
        self.settings = _settings_dict(settings)
        self.max_requests_per_second = max_requests_per_second
        self._limiter = _RateLimiter(max_requests_per_second) if max_requests_per_second else None
        self.store = JobStore(self.data_dir / DB_FILE, busy_timeout=busy_timeout)
        self.signer = TokenSigner(load_or_create_key(self.data_dir), ttl=token_ttl)
        self._children: list[subprocess.Popen[bytes]] = []
        self._notifier = Notifier(self.store, self.heartbeat_timeout)
        self.recover()

    # -- Rekognition API ----------------------------------------------------------------

    def start_person_tracking(self, **kwargs: Any) -> dict[str, Any]:
        """Queue a People Pathing job; returns ``{"JobId": ...}`` at once.

        Parameters are Rekognition's: ``Video`` (required), ``ClientRequestToken``,
        ``NotificationChannel``, ``JobTag``. For local use ``NotificationChannel`` may
        also be a callable (called with the completion message in this process) or an
        ``http(s)://`` webhook URL (POSTed the message as JSON by the worker).

        Raises
        ------
        InvalidParameterException, IdempotentParameterMismatchException,
        InvalidS3ObjectException, VideoTooLargeException, LimitExceededException,
        AccessDeniedException, ThrottlingException, ProvisionedThroughputExceededException,
        InternalServerError
        """
        op = "StartPersonTracking"
        self._throttle(op)
        params = dict(kwargs)
        channel = params.get("NotificationChannel")
        callback: Callable[[dict[str, Any]], Any] | None = None
        notification: dict[str, Any] | None = None
        if callable(channel):
            callback = channel
            params.pop("NotificationChannel")
            notification = {"kind": "callable", "name": _callable_name(channel)}
        elif isinstance(channel, str):
            if not _is_webhook_url(channel):
                raise InvalidParameterException(
                    "NotificationChannel must be {SNSTopicArn, RoleArn}, a callable, or an "
                    f"http(s):// webhook URL; got {channel[:80]!r}",
                    op,
                )
            params.pop("NotificationChannel")
            notification = {"kind": "webhook", "url": channel}
        request = validate_request(op, params)
        if "NotificationChannel" in request:
            notification = {
                "kind": "sns",
                **request["NotificationChannel"],
                "endpoint_url": self.sns_endpoint_url,
                "region_name": self.region_name,
            }
        identity = {
            "request": {k: v for k, v in request.items() if k != "ClientRequestToken"},
            "notification": notification,
            "settings": self.settings,
            "tracker": self.tracker,
            "storage": self.storage.kind,
            "segments": [self.segment_seconds, self.overlap_seconds],
        }
        request_hash = hashlib.sha256(
            json.dumps(identity, sort_keys=True, default=str).encode()
        ).hexdigest()
        token = request.get("ClientRequestToken")
        if token is not None:
            existing = self.store.get_job_by_token(token)
            if existing is not None and existing["request_hash"] == request_hash:
                return {"JobId": existing["job_id"], "ResponseMetadata": _response_metadata()}
            if existing is not None:
                raise IdempotentParameterMismatchException(
                    f"ClientRequestToken {token!r} was already used for job "
                    f"{existing['job_id']} with different parameters",
                    op,
                )
        source = self.storage.locate(request["Video"]["S3Object"])
        worker_id = uuid.uuid4().hex
        job_id, created, spawn = self.store.create_job(
            job_id=secrets.token_hex(32),
            client_token=token,
            request_hash=request_hash,
            request=request,
            source=source,
            notification=notification,
            config={
                "tracker": self.tracker,
                "settings": self.settings,
                "segment_seconds": self.segment_seconds,
                "overlap_seconds": self.overlap_seconds,
            },
            max_jobs=self.max_jobs,
            max_workers=RUNNERS,
            worker_id=worker_id,
            heartbeat_timeout=self.heartbeat_timeout,
        )
        if spawn:
            try:
                self._spawn(worker_id)
            except InternalServerError:
                with contextlib.suppress(ClientError):  # no half-started job is left
                    self.store.discard_job(job_id, worker_id)
                raise
        if callback is not None and created:
            self._notifier.watch(job_id, callback)
        return {"JobId": job_id, "ResponseMetadata": _response_metadata()}

    def get_person_tracking(self, **kwargs: Any) -> dict[str, Any]:
        """One page of a job's results, as Rekognition's GetPersonTracking returns it.

        Parameters are Rekognition's: ``JobId`` (required), ``MaxResults`` (default and
        cap 1000), ``NextToken``, ``SortBy`` (``TIMESTAMP`` default, or ``INDEX``).
        A job still running answers ``JobStatus="IN_PROGRESS"`` with no Persons, except
        a live stream's job (:mod:`persontrack.jobs.live`): with SortBy=TIMESTAMP it
        answers the rows stored so far and always a NextToken, which gives the rows
        appended after them (none skipped or repeated) until the stream has stopped.

        Raises
        ------
        InvalidParameterException, InvalidPaginationTokenException,
        ResourceNotFoundException, ThrottlingException,
        ProvisionedThroughputExceededException, InternalServerError
        """
        head, persons, tail = self._page(kwargs)
        return {
            **head,
            "Persons": loads("[" + persons + "]"),
            **tail,
            "ResponseMetadata": _response_metadata(),
        }

    def get_person_tracking_json(self, **kwargs: Any) -> str:
        """:meth:`get_person_tracking`'s response as the JSON text of its wire body.

        The same JSON object as ``json.dumps`` of the response without
        ``ResponseMetadata``, but the stored PersonDetection texts are spliced in unparsed
        (keeping their stored spacing), so a page of 1000 costs one indexed range query and
        a string join instead of parsing and re-encoding ~20,000 values: 1–2 ms instead of
        ~20 (``benchmarks/jobs_paging.py``). ``persontrack serve`` answers with it.
        Parameters and errors are :meth:`get_person_tracking`'s.

        Examples
        --------
        >>> import json, tempfile
        >>> rek = client(data_dir=tempfile.mkdtemp(), bucket_root=tempfile.mkdtemp())
        >>> try:
        ...     rek.get_person_tracking_json(JobId="no-such-job")
        ... except rek.exceptions.ResourceNotFoundException as e:
        ...     print(e.response["Error"]["Code"])
        ResourceNotFoundException
        >>> rek.close()
        """
        head, persons, tail = self._page(kwargs)
        return splice(head, "Persons", [persons] if persons else [], tail)

    def _page(self, kwargs: dict[str, Any]) -> tuple[dict[str, Any], str, dict[str, Any]]:
        """GetPersonTracking's members before ``Persons``, the page's stored
        PersonDetection JSON texts joined by commas, and the members after (Rekognition's
        order)."""
        op = "GetPersonTracking"
        self._throttle(op)
        request = validate_request(op, kwargs)
        job = self._job(request["JobId"], op)
        return page(self.store, self.signer, job, request)

    # -- notebook extras ----------------------------------------------------------------

    def describe_job(self, JobId: str) -> dict[str, Any]:
        """Status, progress (0–1), timing, video, settings and versions of one job."""
        return _describe(self._job(self._job_id(JobId), "DescribeJob"))

    def get_progress(self, JobId: str) -> float:
        """The fraction (0–1) of the job's video processed so far."""
        job = self._job(self._job_id(JobId), "DescribeJob")
        return 1.0 if job["state"] == "SUCCEEDED" else float(job["progress"])

    def list_jobs(self) -> pd.DataFrame:
        """Every job in the store, oldest first, one row each (see :meth:`describe_job`)."""
        self.recover()
        rows = [_describe(j) for j in self.store.list_jobs()]
        columns = [
            "JobId",
            "JobStatus",
            "StatusMessage",
            "Progress",
            "JobTag",
            "Bucket",
            "Name",
            "CreationTime",
            "StartTime",
            "CompletionTime",
            "ResultCount",
        ]
        frame = pd.DataFrame([{c: r.get(c) for c in columns} for r in rows], columns=columns)
        for c in ("CreationTime", "StartTime", "CompletionTime"):
            frame[c] = pd.to_datetime(frame[c], unit="s", utc=True)
        return frame

    def delete_job(self, JobId: str) -> None:
        """Remove a finished job and its results (its ClientRequestToken becomes free).

        Nothing of the job stays under ``data_dir``: the store file is rewritten without
        its rows (``VACUUM``, about 16 s per GB of store), its WAL emptied, and the log lines
        that name it are removed.
        """
        job_id = self._job_id(JobId)
        if not self.store.delete_job(job_id):
            raise ResourceNotFoundException(f"job {job_id} does not exist", "DeleteJob")
        forget_in_logs(self.data_dir / "logs", [job_id])

    def purge_jobs(self, OlderThanDays: float) -> list[str]:
        """Delete (as :meth:`delete_job`) every finished job that ended more than
        ``OlderThanDays`` days ago: a retention policy. Returns their JobIds.

        Examples
        --------
        >>> import tempfile, persontrack as pt
        >>> rek = pt.client(data_dir=tempfile.mkdtemp(), bucket_root=tempfile.mkdtemp())
        >>> rek.purge_jobs(OlderThanDays=30)
        []
        >>> rek.close()
        """
        days = OlderThanDays
        if not is_number(days) or not days >= 0:
            raise InvalidParameterException(
                f"OlderThanDays must be a number of days >= 0, got {days!r}", "PurgeJobs"
            )
        deleted = self.store.purge_jobs(float(days) * 86400.0)
        forget_in_logs(self.data_dir / "logs", deleted)
        return deleted

    def get_dataframe(self, JobId: str) -> pd.DataFrame:
        """The results of a SUCCEEDED job as a results DataFrame (TIMESTAMP order).

        Lossless: frame numbers, detection confidences and body landmarks are kept
        (landmarks as float32 arrays, see :func:`persontrack.schema.compact_landmarks`).
        For results larger than memory see :meth:`iter_dataframes`.
        """
        job = self._job(self._job_id(JobId), "GetDataFrame")
        if job["state"] != "SUCCEEDED":
            raise InvalidParameterException(
                f"job {job['job_id']} is {API_STATUS[job['state']]}"
                + (f" ({job['status_message']})" if job["status_message"] else "")
                + "; results exist once it has SUCCEEDED"
            )
        frame = records_frame(self.store.result_rows(job["job_key"]))
        frame.attrs["GetPersonTracking"] = {
            "JobStatus": "SUCCEEDED",
            "VideoMetadata": job["video_metadata"] or {},
            "JobId": job["job_id"],
            "Video": job["video"],
            **({"JobTag": job["job_tag"]} if job["job_tag"] is not None else {}),
        }
        return frame

    def _succeeded_job(self, JobId: str, chunk_rows: int) -> dict[str, Any]:
        """The stored row of a SUCCEEDED job whose results are read ``chunk_rows`` at a time."""
        if not is_number(chunk_rows, int) or chunk_rows < 1:
            raise InvalidParameterException(
                f"chunk_rows must be an integer >= 1, got {chunk_rows!r}"
            )
        job = self._job(self._job_id(JobId), "GetDataFrame")
        if job["state"] != "SUCCEEDED":
            raise InvalidParameterException(
                f"job {job['job_id']} is {API_STATUS[job['state']]}; "
                "results exist once it has SUCCEEDED"
            )
        return job

    def iter_dataframes(self, JobId: str, *, chunk_rows: int = 100_000) -> Iterator[pd.DataFrame]:
        """The results of a SUCCEEDED job as DataFrames of ``chunk_rows`` rows each.

        For results larger than memory: the chunks come in TIMESTAMP order and each is
        read from the store only when asked for, so memory holds one chunk at a time.

        Examples
        --------
        ::

            for part in rek.iter_dataframes(job_id, chunk_rows=50_000):
                part.to_parquet(f"part-{part['Timestamp'].iloc[0]}.parquet")
        """
        job = self._succeeded_job(JobId, chunk_rows)
        key, total = job["job_key"], job["result_count"] or 0
        for start in range(0, total, chunk_rows):
            yield records_frame(self.store.result_rows(key, start, start + chunk_rows))

    def results_dask(self, JobId: str, *, chunk_rows: int = 100_000) -> Any:
        """The results of a SUCCEEDED job as a ``dask.dataframe.DataFrame``.

        One partition per ``chunk_rows`` rows (TIMESTAMP order; index: the row's rank),
        each read from the store only when computed, by the Dask workers when a
        ``distributed.Client`` is active (they must see this data directory): for results
        larger than memory (:mod:`persontrack.jobs.results`). Computing after the
        job is deleted raises ResourceNotFoundException.

        Examples
        --------
        ::

            ddf = rek.results_dask(job_id, chunk_rows=50_000)
            ddf.groupby("Index")["Timestamp"].agg(["min", "max"]).compute()
        """
        job = self._succeeded_job(JobId, chunk_rows)
        return results_dataframe(self.store.path, job, chunk_rows)

    def cluster_info(self) -> dict[str, Any] | None:
        """The Dask cluster running this store's jobs, while the job runner uses one.

        Returns
        -------
        dict or None
            ``scheduler`` (address), ``dashboard`` (URL, None when the scheduler serves
            none: the dashboard needs ``bokeh``) and ``local`` (a LocalCluster of the
            runner); None while no job runs.
        """
        try:
            info = json.loads((self.data_dir / CLUSTER_FILE).read_text())
        except (OSError, ValueError):
            return None
        return info if isinstance(info, dict) else None

    @property
    def dashboard_link(self) -> str | None:
        """The Dask dashboard of the cluster running this store's jobs, while one runs."""
        info = self.cluster_info()
        link = info.get("dashboard") if info else None
        return str(link) if link else None

    def wait(
        self,
        JobId: str,
        *,
        timeout: float | None = None,
        poll: float = 0.2,
        progress: bool = False,
    ) -> dict[str, Any]:
        """Block until the job has SUCCEEDED or FAILED; return :meth:`describe_job`.

        Parameters
        ----------
        JobId : str
            The job.
        timeout : float, optional
            Seconds to wait at most (default: no limit).
        poll : float, default 0.2
            Seconds between two looks at the store.
        progress : bool, default False
            Show a progress bar (tqdm; a widget in notebooks).

        Raises
        ------
        TimeoutError
            When ``timeout`` seconds pass first.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        job_id = self._job_id(JobId)
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=100, desc=job_id[:12], unit="%")
        try:
            while True:
                job = self._job(job_id, "DescribeJob")
                if bar is not None:
                    done = 1.0 if job["state"] == "SUCCEEDED" else float(job["progress"])
                    bar.update(round(done * 100) - bar.n)
                if job["state"] in ("SUCCEEDED", "FAILED"):
                    return _describe(job)
                if deadline is not None and time.monotonic() > deadline:
                    raise TimeoutError(f"job {job_id} still {job['state']} after {timeout} s")
                time.sleep(poll)
        finally:
            if bar is not None:
                bar.close()

    def recover(self) -> list[str]:
        """Fail jobs whose worker died and start workers for jobs left waiting.

        Runs when the client is created and whenever it looks at unfinished jobs.

        Returns
        -------
        list of str
            JobIds just marked FAILED.
        """
        self.reap_runners()
        # one write transaction: clients waiting on a job call this at every poll
        failed, reserved = self.store.recover(self.heartbeat_timeout, RUNNERS)
        for worker_id in reserved:
            self._spawn(worker_id)
        return failed

    def reap_runners(self) -> int:
        """Collect the exit status of the job runners this client started that have ended
        (so none lingers as a zombie process); returns how many are still running."""
        for child in list(self._children):
            if child.poll() is not None:
                with contextlib.suppress(ValueError):  # another thread took it out first
                    self._children.remove(child)
        return len(self._children)

    def close(self) -> None:
        """Stop the notification watcher and close this thread's store connection.

        The job runner keeps running: jobs finish even after the client is gone.
        """
        self._notifier.close()
        self.store.close()

    def __enter__(self) -> PersonTrackingClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = getattr(self.storage, "root", None) or getattr(self.storage, "endpoint_url", "")
        return (
            f"<persontrack client data_dir={str(self.data_dir)!r} "
            f"storage={self.storage.kind}:{where}>"
        )

    # -- internals ----------------------------------------------------------------------

    def _throttle(self, operation: str) -> None:
        if self._limiter is not None:
            self._limiter.acquire(operation)

    def _job_id(self, job_id: Any) -> str:
        return str(validate_request("GetPersonTracking", {"JobId": job_id})["JobId"])

    def _job(self, job_id: str, operation: str) -> dict[str, Any]:
        """The job's row; an unfinished job is first checked for a dead worker."""
        job = self.store.get_job(job_id)
        if job is not None and job["state"] in ACTIVE_STATES:
            try:
                self.recover()
            except InternalServerError as exc:
                if not disk_full(exc):
                    raise
                # on a full disk a dead worker's job cannot be marked FAILED yet; the read
                # is still answered (IN_PROGRESS) and the next one tries again
            job = self.store.get_job(job_id)
        if job is None:
            raise ResourceNotFoundException(f"job {job_id} does not exist", operation)
        return job

    def _spawn(self, worker_id: str) -> None:
        self._children.append(
            spawn_runner(
                self.data_dir,
                self.store,
                worker_id,
                heartbeat=min(HEARTBEAT_INTERVAL, self.heartbeat_timeout / 4),
                max_workers=self.max_workers,
                scheduler_address=self.scheduler_address,
            )
        )


def _is_webhook_url(text: str) -> bool:
    try:
        text.encode("utf-8")
        parts = urlsplit(text)
    except (UnicodeEncodeError, ValueError):
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and len(text) <= 2048


def _callable_name(fn: Callable[..., Any]) -> str:
    module = getattr(fn, "__module__", None) or ""
    name = getattr(fn, "__qualname__", None) or type(fn).__qualname__
    return f"{module}.{name}" if module else name


def _settings_dict(settings: Mapping[str, Any] | Any | None) -> dict[str, Any] | None:
    if settings is None:
        return None
    if hasattr(settings, "to_dict"):
        return dict(settings.to_dict())
    if isinstance(settings, Mapping):
        return dict(settings)
    raise InvalidParameterException(
        f"settings must be TrackingSettings or a dict, got {type(settings).__name__}"
    )


def _describe(job: dict[str, Any]) -> dict[str, Any]:
    # a live stream's job has Video {"Stream": {"Url": …}}: its URL shows as the Name
    s3 = job["video"].get("S3Object") or {"Bucket": None, "Name": job["video"]["Stream"]["Url"]}
    return {
        "JobId": job["job_id"],
        "JobStatus": API_STATUS[job["state"]],
        "StatusMessage": job["status_message"],
        "Progress": 1.0 if job["state"] == "SUCCEEDED" else float(job["progress"]),
        "JobTag": job["job_tag"],
        "Video": job["video"],
        "Bucket": s3["Bucket"],
        "Name": s3["Name"],
        "VideoMetadata": job["video_metadata"],
        "CreationTime": job["created_at"],
        "StartTime": job["started_at"],
        "CompletionTime": job["finished_at"],
        "ResultCount": job["result_count"],
        "Settings": job["settings"] if job["settings"] is not None else job["config"]["settings"],
        "Versions": job["versions"],
        "Attempts": job["attempts"],
        "NotificationError": job["notify_error"],
    }


def client(
    data_dir: str | os.PathLike[str] | None = None,
    bucket_root: str | os.PathLike[str] | None = None,
    **options: Any,
) -> PersonTrackingClient:
    """A Rekognition-compatible People Pathing client backed by this machine.

    Parameters
    ----------
    data_dir : path, optional
        Folder of the job store (``jobs.sqlite3``), the pagination signing key, worker
        logs and temporary downloads. Default ``$PERSONTRACK_DATA_DIR`` or
        ``~/.persontrack``.
    bucket_root : path, optional
        Folder whose sub-folders are the buckets of ``Video.S3Object``. Default
        ``$PERSONTRACK_BUCKET_ROOT`` or ``data_dir/buckets``.
    storage : {"local", "s3"}, optional
        ``"s3"`` reads videos from S3 through boto3 (default when only
        ``s3_endpoint_url`` is given).
    s3_endpoint_url, sns_endpoint_url : str, optional
        S3-compatible server and SNS endpoint (credentials from boto3's usual chain).
    region_name : str, optional
        AWS region for S3 and SNS (SNS defaults to the topic ARN's region).
    settings : TrackingSettings or dict, optional
        Tracking settings for the jobs this client starts.
    max_jobs : int, default 20
        Jobs that may run or wait at once; one more is LimitExceededException.
    max_workers : int, optional
        Dask worker processes of the embedded LocalCluster (default: CPU count).
    scheduler_address : str, optional
        Run the jobs on this existing Dask cluster (``tcp://host:8786``) instead (default
        ``$PERSONTRACK_DASK_SCHEDULER``). Its workers need persontrack installed and must
        read the videos: the same local paths (a shared folder) or S3.
    segment_seconds : float, default 60
        Seconds of video per Dask task (see
        :data:`persontrack.segments.DEFAULT_SEGMENT_SECONDS`).
    overlap_seconds : float, default 2
        Seconds each segment starts early, to give its people the previous segment's
        Indexes (see :data:`persontrack.segments.DEFAULT_OVERLAP_SECONDS`).
    max_requests_per_second : float, optional
        Answer ThrottlingException above this request rate (default: no limit).
    heartbeat_timeout : float, default 60
        Seconds of job-runner silence after which its jobs are FAILED.
    token_ttl : float, default 86400
        Seconds a NextToken stays valid.
    busy_timeout : float, default 30
        Seconds a call retries (with backoff) while another process holds the store's
        write lock, before ProvisionedThroughputExceededException. Workers wait up to
        ``WORKER_BUSY_TIMEOUT`` (300 s).
    tracker : str, optional
        ``"module:function"`` (or ``"/path/file.py:function"``) with the signature of
        :func:`persontrack.track_video` to run instead of it (default
        ``$PERSONTRACK_TRACKER``, else ``track_video``).

    Returns
    -------
    PersonTrackingClient

    Examples
    --------
    >>> import tempfile
    >>> from persontrack.jobs.client import client
    >>> rek = client(data_dir=tempfile.mkdtemp(), bucket_root=tempfile.mkdtemp())
    >>> try:
    ...     rek.get_person_tracking(JobId="nope")
    ... except rek.exceptions.ResourceNotFoundException as e:
    ...     print(e.response["Error"]["Code"])
    ResourceNotFoundException
    """
    return PersonTrackingClient(data_dir, bucket_root, **options)


_default: PersonTrackingClient | None = None
_default_lock = threading.Lock()


def _default_client() -> PersonTrackingClient:
    global _default
    with _default_lock:
        if _default is None:
            _default = client()
        return _default


def start_person_tracking(**kwargs: Any) -> dict[str, Any]:
    """``StartPersonTracking`` on a default client (``$PERSONTRACK_DATA_DIR`` etc.)."""
    return _default_client().start_person_tracking(**kwargs)


def get_person_tracking(**kwargs: Any) -> dict[str, Any]:
    """``GetPersonTracking`` on a default client (``$PERSONTRACK_DATA_DIR`` etc.)."""
    return _default_client().get_person_tracking(**kwargs)
