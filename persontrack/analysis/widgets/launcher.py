"""The job launcher: pick a video and settings, start a job, watch its status.

The widget only wires the plain functions of this module (listing videos, building the
request, describing a job), so each can be called and tested without a browser.
"""

from __future__ import annotations

import html
import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import ipywidgets as W
import matplotlib
import numpy as np

from ...errors import InvalidParameterException
from ..plot import frame_at, plot_paths
from ._common import (
    PRESETS,
    UPLOAD_BUCKET,
    VIDEO_EXTENSIONS,
    _error_html,
    figure_png,
    job_status_html,
)


def list_videos(bucket_root: str | os.PathLike[str]) -> list[dict[str, str]]:
    """The videos in a folder of local buckets (one sub-folder per bucket).

    Parameters
    ----------
    bucket_root : path
        The client's ``bucket_root``.

    Returns
    -------
    list of dict
        ``{"Bucket": ..., "Name": ...}`` S3Object dicts, sorted; names use ``/``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from persontrack.analysis.widgets import list_videos
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> (root / "shop" / "day1").mkdir(parents=True)
    >>> (root / "shop" / "day1" / "door.mp4").write_bytes(b"")
    0
    >>> list_videos(root)
    [{'Bucket': 'shop', 'Name': 'day1/door.mp4'}]
    """
    root = Path(bucket_root).expanduser()
    if not root.is_dir():
        return []
    found = []
    for bucket in sorted(p for p in root.iterdir() if p.is_dir()):
        for path in sorted(bucket.rglob("*")):
            if path.is_file() and path.suffix.lower() in VIDEO_EXTENSIONS:
                found.append({"Bucket": bucket.name, "Name": path.relative_to(bucket).as_posix()})
    return found


def video_object(
    bucket_root: str | os.PathLike[str],
    choice: Mapping[str, str] | None = None,
    path: str | os.PathLike[str] | None = None,
) -> dict[str, str]:
    """The ``S3Object`` to track: a listed video, or a file path.

    A path inside ``bucket_root`` names its bucket and key directly. A path elsewhere is
    copied into the :data:`UPLOAD_BUCKET` bucket first, as a video is uploaded to S3
    before Rekognition can read it.

    Parameters
    ----------
    bucket_root : path
        The client's ``bucket_root``.
    choice : dict, optional
        ``{"Bucket", "Name"}`` from :func:`list_videos`.
    path : path, optional
        A video file; wins over ``choice`` when given (and not blank).

    Returns
    -------
    dict
        ``{"Bucket": ..., "Name": ...}``.

    Raises
    ------
    InvalidParameterException
        Neither is given, or the path is not a file.
    """
    root = Path(bucket_root).expanduser().resolve()
    if path is not None and str(path).strip():
        src = Path(str(path).strip()).expanduser().resolve()
        if not src.is_file():
            raise InvalidParameterException(f"video path {str(path)!r} is not a file")
        try:
            rel = src.relative_to(root)
        except ValueError:
            dest = root / UPLOAD_BUCKET / src.name
            dest.parent.mkdir(parents=True, exist_ok=True)
            # copy2 keeps the modification time: another file of the same name and size
            # (e.g. from another folder) is copied again, not taken for this one
            st = src.stat()
            same = dest.exists() and (dest.stat().st_size, dest.stat().st_mtime_ns) == (
                st.st_size,
                st.st_mtime_ns,
            )
            if not same:
                shutil.copy2(src, dest)
            return {"Bucket": UPLOAD_BUCKET, "Name": src.name}
        if len(rel.parts) < 2:
            raise InvalidParameterException(
                f"{src} is directly in the bucket root; put it in a bucket folder"
            )
        return {"Bucket": rel.parts[0], "Name": "/".join(rel.parts[1:])}
    if choice:
        return {"Bucket": str(choice["Bucket"]), "Name": str(choice["Name"])}
    raise InvalidParameterException("choose a video or type the path of one")


def tracking_settings(
    *,
    every_n_frames: int = 1,
    detector_preset: str = "balanced",
    faces: bool = True,
) -> dict[str, Any]:
    """Tracking settings from the launcher's controls (see ``TrackingSettings``).

    Examples
    --------
    >>> from persontrack.analysis.widgets import tracking_settings
    >>> tracking_settings(every_n_frames=2, faces=False)["every_n_frames"]
    2
    """
    if isinstance(every_n_frames, bool) or not isinstance(every_n_frames, (int, np.integer)):
        raise InvalidParameterException(
            f"every_n_frames must be an integer, got {every_n_frames!r}"
        )
    if every_n_frames < 1:
        raise InvalidParameterException(f"every_n_frames must be >= 1, got {every_n_frames}")
    if detector_preset not in PRESETS:
        raise InvalidParameterException(
            f"detector_preset must be one of {list(PRESETS)}, got {detector_preset!r}"
        )
    return {
        "every_n_frames": None if every_n_frames == 1 else int(every_n_frames),
        "detector_preset": detector_preset,
        "faces": bool(faces),
    }


def cluster_html(info: Mapping[str, Any]) -> str:
    """The Dask cluster running the jobs: its dashboard link, or its scheduler address.

    Examples
    --------
    >>> cluster_html({"scheduler": "tcp://127.0.0.1:8786", "dashboard": "http://127.0.0.1:8787/status"})
    'Dask: <a href="http://127.0.0.1:8787/status" target="_blank">dashboard</a> (scheduler <code>tcp://127.0.0.1:8786</code>)'
    """
    scheduler = html.escape(str(info.get("scheduler", "")))
    link = info.get("dashboard")
    if link:
        return (
            f'Dask: <a href="{html.escape(str(link))}" target="_blank">dashboard</a> '
            f"(scheduler <code>{scheduler}</code>)"
        )
    return f"Dask: scheduler <code>{scheduler}</code> (no dashboard: it needs bokeh)"


class JobLauncher(W.VBox):
    """Choose a video and settings, press Start, watch the job run.

    Parameters
    ----------
    client : PersonTrackingClient
        From ``persontrack.jobs.client(data_dir=..., bucket_root=...)`` (local buckets).
    poll_seconds : float, default 0.5
        How often the progress bar is refreshed while a job runs.
    max_errors : int, default 20
        Stop watching a job after this many failed status reads in a row (a single
        failure, e.g. a busy job store, is shown and the next read tried).
    on_done : callable, optional
        Called with the job description when a job SUCCEEDED or FAILED.

    Attributes
    ----------
    job_id : str or None
        The JobId of the last job started.
    """

    def __init__(
        self,
        client: Any,
        *,
        poll_seconds: float = 0.5,
        max_errors: int = 20,
        on_done: Callable[[dict[str, Any]], Any] | None = None,
    ) -> None:
        self.client = client
        self.poll_seconds = poll_seconds
        self.max_errors = max_errors
        self.on_done = on_done
        self.job_id: str | None = None
        self.description: dict[str, Any] | None = None
        self._clients: dict[str, Any] = {}
        self._watcher: threading.Thread | None = None
        wide = W.Layout(width="420px")
        self.video = W.Dropdown(description="Video", layout=wide)
        self.path = W.Text(description="or path", placeholder="/path/to/video.mp4", layout=wide)
        self.every_n = W.BoundedIntText(value=1, min=1, max=1000, description="Every n frames")
        self.preset = W.Dropdown(options=PRESETS, value="balanced", description="Detector")
        self.faces = W.Checkbox(value=True, description="Faces", indent=False)
        self.job_tag = W.Text(description="JobTag", placeholder="optional")
        self.start_button = W.Button(description="Start", button_style="primary", icon="play")
        self.refresh_button = W.Button(description="Refresh list", icon="refresh")
        self.progress = W.FloatProgress(value=0.0, min=0.0, max=1.0, description="Progress")
        self.status = W.HTML(job_status_html(None))
        self.job_label = W.HTML("JobId: –")
        self.result = W.HTML("")
        self.cluster = W.HTML("")
        self.plot = W.Image(format="png", layout=W.Layout(max_width="720px"))
        for widget in (self.every_n, self.preset, self.job_tag):
            widget.style.description_width = "110px"
        self.video.style.description_width = self.path.style.description_width = "110px"
        self.start_button.on_click(lambda _: self.start())
        self.refresh_button.on_click(lambda _: self.refresh_videos())
        self.refresh_videos()
        super().__init__(
            [
                W.HTML("<h3 style='margin:4px 0'>Start a People Pathing job</h3>"),
                W.HBox([self.video, self.refresh_button]),
                self.path,
                W.HBox([self.every_n, self.preset, self.faces]),
                self.job_tag,
                W.HBox([self.start_button, self.progress]),
                self.status,
                self.job_label,
                self.cluster,
                self.result,
                self.plot,
            ]
        )
        self.add_class("persontrack-launcher")

    @property
    def bucket_root(self) -> Path:
        root = getattr(self.client.storage, "root", None)
        if root is None:
            raise InvalidParameterException("the launcher needs a client with local buckets")
        return Path(root)

    def refresh_videos(self) -> None:
        """List the videos in the client's buckets again."""
        videos = list_videos(self.bucket_root)
        self.video.options = [(f"{v['Bucket']}/{v['Name']}", v) for v in videos]
        if videos:
            self.video.value = videos[0]

    def settings(self) -> dict[str, Any]:
        """The tracking settings the controls describe."""
        return tracking_settings(
            every_n_frames=int(self.every_n.value),
            detector_preset=self.preset.value,
            faces=bool(self.faces.value),
        )

    def _client_for(self, settings: Mapping[str, Any]) -> Any:
        from ...jobs.client import client as make_client

        key = json.dumps(settings, sort_keys=True)
        if key not in self._clients:
            self._clients[key] = make_client(
                self.client.data_dir,
                self.bucket_root,
                settings=dict(settings),
                tracker=self.client.tracker,
                max_workers=self.client.max_workers,
                scheduler_address=self.client.scheduler_address,
                segment_seconds=self.client.segment_seconds,
                overlap_seconds=self.client.overlap_seconds,
            )
        return self._clients[key]

    def start(self) -> str | None:
        """Start a job with the chosen video and settings (what the Start button does).

        Returns
        -------
        str or None
            The JobId, or None when the request was refused (the reason is shown).
        """
        try:
            s3 = video_object(self.bucket_root, self.video.value, self.path.value)
            request: dict[str, Any] = {"Video": {"S3Object": s3}}
            if self.job_tag.value.strip():
                request["JobTag"] = self.job_tag.value.strip()
            job_client = self._client_for(self.settings())
            job = job_client.start_person_tracking(**request)
        except Exception as exc:  # shown to the user, not raised into the event loop
            self.status.value = _error_html(exc)
            return None
        # the last job's result, plot and status go before the new JobId is shown, so the
        # new id never appears beside the old job's SUCCEEDED
        self.result.value = ""
        self.plot.value = b""
        self.progress.value = 0.0
        self.progress.bar_style = "info"
        self.job_id = job["JobId"]
        self.update()
        self.job_label.value = f"JobId: <code>{html.escape(self.job_id)}</code>"
        self._watcher = threading.Thread(target=self._watch, name="persontrack-launcher")
        self._watcher.daemon = True
        self._watcher.start()
        return self.job_id

    def update(self) -> dict[str, Any] | None:
        """Read the job's status once and show it."""
        if self.job_id is None:
            return None
        try:
            desc = self.client.describe_job(self.job_id)
        except Exception as exc:
            self.status.value = _error_html(exc)
            return None
        self.description = desc
        info = self.client.cluster_info()
        if info is not None:  # kept once the job is done: the last cluster that ran it
            self.cluster.value = cluster_html(info)
        self.progress.value = float(desc.get("Progress") or 0.0)
        self.status.value = job_status_html(desc)
        if desc["JobStatus"] == "SUCCEEDED":
            self.progress.bar_style = "success"
        elif desc["JobStatus"] == "FAILED":
            self.progress.bar_style = "danger"
        return desc

    def _watch(self) -> None:
        job_id = self.job_id
        desc: dict[str, Any] | None = None
        errors = 0
        while job_id == self.job_id:
            # describe_job (in update) also fails jobs whose worker died and starts
            # workers for queued ones while the job is unfinished
            latest = self.update()
            if latest is None:
                # a transient error (busy store, throttling) is shown, and we keep looking
                errors += 1
                if errors >= self.max_errors:
                    break
            else:
                errors, desc = 0, latest
                if latest["JobStatus"] != "IN_PROGRESS":
                    break
            time.sleep(self.poll_seconds)
        if desc is not None and desc["JobStatus"] == "SUCCEEDED" and job_id is not None:
            self._show_result(job_id)
        if desc is not None and self.on_done is not None:
            self.on_done(desc)

    def _show_result(self, job_id: str) -> None:
        assert self.description is not None
        try:
            df = self.client.get_dataframe(job_id)
            people = df["Index"].nunique()
            result = (
                f"{len(df)} entries, {people} people · "
                f"faces seen in {int(df['FaceLeft'].notna().sum())} entries"
            )
            path = self.client.storage.resolve(self.description["Video"]["S3Object"])
            with matplotlib.rc_context({"figure.dpi": 90}):
                ax = plot_paths(df, image=frame_at(path, 0), anchor="center")
            plot = figure_png(ax.figure)
        except Exception as exc:
            result, plot = _error_html(exc), b""
        if job_id == self.job_id:  # not replaced by a newer job meanwhile
            self.result.value = result
            self.plot.value = plot

    def wait(self, timeout: float | None = None) -> dict[str, Any] | None:
        """Block until the job started last has finished and its result is shown."""
        if self._watcher is not None:
            self._watcher.join(timeout)
            if self._watcher.is_alive():
                raise TimeoutError(f"job {self.job_id} still running after {timeout} s")
        return self.description
