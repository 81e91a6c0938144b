"""Notebook widgets: launch a job, page through its results, explore paths.

Three classes hold the widget state — :class:`JobLauncher`, :class:`ResultPager` and
:class:`PathExplorer`; each shows itself when it is the last expression of a cell. What
they do is done by the plain functions of this module (listing videos, building the
request, reading a job's status, moving between pages, parsing zones, drawing), so every
behaviour can be called and tested without a browser.

Plots are shown as PNG ``Image`` widgets and tables as ``HTML`` widgets, so they update
the same way from a button, a background thread or a plain call.

Examples
--------
>>> import tempfile
>>> from persontrack.client import client
>>> from persontrack.widgets import JobLauncher, parse_shapes
>>> parse_shapes("door: 0.5,0 0.5,1", kind="line")
{'door': [(0.5, 0.0), (0.5, 1.0)]}
>>> rek = client(data_dir=tempfile.mkdtemp(), bucket_root=tempfile.mkdtemp())
>>> launcher = JobLauncher(rek)
>>> launcher.status.value
'<b>No job started</b>'
"""

from __future__ import annotations

import dataclasses
import html
import io
import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ipywidgets as W
import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from . import analytics
from .convert import response_to_dataframe, strip_extensions
from .errors import InvalidParameterException
from .plot import _select, frame_at, plot_heatmap, plot_paths, plot_timeline
from .schema import validate_frame

__all__ = [
    "VIDEO_EXTENSIONS",
    "JobLauncher",
    "PagerState",
    "PathExplorer",
    "ResultPager",
    "figure_png",
    "job_status_html",
    "list_videos",
    "page_json",
    "page_table",
    "parse_shapes",
    "tracking_settings",
    "video_object",
]

VIDEO_EXTENSIONS = (".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".mpg", ".mpeg")
"""File name endings the launcher lists as videos."""

UPLOAD_BUCKET = "uploads"
"""Bucket the launcher copies a video into when it is given a path outside the buckets."""

PRESETS = ("fast", "balanced", "thorough")
_STATUS_COLORS = {"IN_PROGRESS": "#1f6f8b", "SUCCEEDED": "#2a7d2e", "FAILED": "#b3261e"}


# -- plain functions ------------------------------------------------------------------------


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
    >>> from persontrack.widgets import list_videos
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
    >>> from persontrack.widgets import tracking_settings
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


def job_status_html(description: Mapping[str, Any] | None) -> str:
    """A job's JobStatus, StatusMessage and progress as a line of HTML.

    Parameters
    ----------
    description : dict or None
        From ``client.describe_job(JobId)`` (None: no job yet).

    Examples
    --------
    >>> from persontrack.widgets import job_status_html
    >>> job_status_html({"JobStatus": "FAILED", "StatusMessage": "bad video", "Progress": 0.1})
    '<b style="color:#b3261e">FAILED</b> · 10% · bad video'
    """
    if description is None:
        return "<b>No job started</b>"
    status = str(description.get("JobStatus"))
    color = _STATUS_COLORS.get(status, "#333333")
    parts = [f'<b style="color:{color}">{html.escape(status)}</b>']
    progress = description.get("Progress")
    if progress is not None:
        parts.append(f"{100 * float(progress):.0f}%")
    message = description.get("StatusMessage")
    if message:
        parts.append(html.escape(str(message)))
    return " · ".join(parts)


def figure_png(fig: Figure | Any, dpi: int = 90) -> bytes:
    """A figure as PNG bytes (then closed, so notebooks do not show it twice)."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return buf.getvalue()


@dataclass(frozen=True)
class PagerState:
    """Where a pager is: the job, the page size and order, and the tokens that led here.

    ``tokens[-1]`` is the NextToken of the page shown (None for the first page);
    ``next_token`` is the NextToken that page returned.

    Examples
    --------
    >>> from persontrack.widgets import PagerState
    >>> s = PagerState("job", 10, "TIMESTAMP").shown({"NextToken": "t1"})
    >>> s = s.forward().shown({"NextToken": "t2"})
    >>> s.page, s.request()["NextToken"]
    (2, 't1')
    >>> s.back().request().get("NextToken") is None
    True
    """

    job_id: str
    max_results: int = 1000
    sort_by: str = "TIMESTAMP"
    tokens: tuple[str | None, ...] = (None,)
    next_token: str | None = None

    @property
    def page(self) -> int:
        """1-based number of the page shown."""
        return len(self.tokens)

    @property
    def has_next(self) -> bool:
        return self.next_token is not None

    @property
    def has_previous(self) -> bool:
        return len(self.tokens) > 1

    def request(self) -> dict[str, Any]:
        """The ``get_person_tracking`` keyword arguments for the page shown."""
        req: dict[str, Any] = {
            "JobId": self.job_id,
            "MaxResults": int(self.max_results),
            "SortBy": self.sort_by,
        }
        if self.tokens[-1] is not None:
            req["NextToken"] = self.tokens[-1]
        return req

    def shown(self, response: Mapping[str, Any]) -> PagerState:
        """The state once ``response`` (the answer to :meth:`request`) is shown."""
        return dataclasses.replace(self, next_token=response.get("NextToken"))

    def forward(self) -> PagerState:
        """The state that requests the next page."""
        if self.next_token is None:
            raise InvalidParameterException("this is the last page")
        return dataclasses.replace(self, tokens=(*self.tokens, self.next_token), next_token=None)

    def back(self) -> PagerState:
        """The state that requests the previous page."""
        if len(self.tokens) < 2:
            raise InvalidParameterException("this is the first page")
        return dataclasses.replace(self, tokens=self.tokens[:-1], next_token=None)


_TABLE_COLUMNS = [
    "Timestamp",
    "Index",
    "Left",
    "Top",
    "Width",
    "Height",
    "Confidence",
    "FaceConfidence",
    "FaceYaw",
]


def page_table(response: Mapping[str, Any]) -> pd.DataFrame:
    """The ``Persons`` of one GetPersonTracking page as a compact table.

    Columns: Timestamp, Index, the box, Confidence, FaceConfidence, FaceYaw (those no entry
    of the page has are left out) and Face (whether a face was seen).

    Examples
    --------
    >>> from persontrack.widgets import page_table
    >>> page = {"JobStatus": "SUCCEEDED", "Persons": [{"Timestamp": 40, "Person": {"Index": 1,
    ...     "BoundingBox": {"Left": 0.1, "Top": 0.2, "Width": 0.3, "Height": 0.4}}}]}
    >>> page_table(page)[["Timestamp", "Index", "Left"]].values.tolist()
    [[40.0, 1.0, 0.1]]
    """
    df = response_to_dataframe(dict(response))
    out = df[_TABLE_COLUMNS].copy()
    out["Face"] = df["FaceLeft"].notna()
    # plain Rekognition pages carry no person Confidence: leave out what no entry has
    return out[[c for c in out.columns if not (len(out) and out[c].isna().all())]]


def page_json(response: Mapping[str, Any], *, max_persons: int = 3) -> str:
    """One page as indented JSON, without persontrack's extensions and ResponseMetadata;
    only the first ``max_persons`` entries of ``Persons`` are written out in full.
    """
    shown = strip_extensions({k: v for k, v in response.items() if k != "ResponseMetadata"})
    persons = shown.get("Persons", [])
    if len(persons) > max_persons:
        shown["Persons"] = [*persons[:max_persons], f"... {len(persons) - max_persons} more"]
    return json.dumps(shown, indent=1)


def parse_shapes(text: str, *, kind: str = "zone") -> dict[str, list[tuple[float, float]]]:
    """Zones or counting lines typed as text, one per line: ``name: x,y x,y ...``.

    Blank lines and lines starting with ``#`` are skipped. Coordinates are frame units
    (0-1), like the analytics take.

    Parameters
    ----------
    text : str
        The text.
    kind : {"zone", "line"}
        Zones need 3 or more points, lines exactly 2.

    Raises
    ------
    InvalidParameterException
        Naming the line of text that is wrong.

    Examples
    --------
    >>> from persontrack.widgets import parse_shapes
    >>> parse_shapes("left: 0,0 0.5,0 0.5,1 0,1")["left"][2]
    (0.5, 1.0)
    """
    if kind not in ("zone", "line"):
        raise InvalidParameterException(f"kind must be 'zone' or 'line', got {kind!r}")
    shapes: dict[str, list[tuple[float, float]]] = {}
    for n, raw in enumerate(str(text).splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, coords = line.partition(":")
        if not sep or not name.strip():
            raise InvalidParameterException(f"{kind} line {n}: write it as 'name: x,y x,y ...'")
        try:
            points = [
                (float(a), float(b))
                for a, b in (p.split(",") for p in coords.replace(";", " ").split())
            ]
        except ValueError:
            raise InvalidParameterException(
                f"{kind} line {n} ({line!r}): each point is x,y with numbers"
            ) from None
        if kind == "zone" and len(points) < 3:
            raise InvalidParameterException(f"zone line {n}: a zone needs at least 3 points")
        if kind == "line" and len(points) != 2:
            raise InvalidParameterException(f"line {n}: a counting line is exactly 2 points")
        shapes[name.strip()] = points
    return shapes


def explorer_figure(
    df: pd.DataFrame,
    *,
    image: np.ndarray | None = None,
    indices: Sequence[int] | None = None,
    time_range_ms: tuple[float, float] | None = None,
    zones: Mapping[str, Sequence[tuple[float, float]]] | None = None,
    lines: Mapping[str, Sequence[tuple[float, float]]] | None = None,
    anchor: str = "center",
) -> Figure:
    """The path explorer's picture: paths with zones and lines, heatmap and timeline."""
    import matplotlib.pyplot as plt

    aspect = 9 / 16 if image is None else image.shape[0] / image.shape[1]
    people = len(indices) if indices is not None else df["Index"].nunique()
    timeline = 0.9 + 0.3 * max(people, 1)
    fig = plt.figure(figsize=(12, 6 * aspect + timeline + 0.3), layout="constrained")
    grid = fig.add_gridspec(2, 2, height_ratios=[6 * aspect, timeline])
    common: dict[str, Any] = {"indices": indices, "time_range_ms": time_range_ms, "anchor": anchor}
    try:
        paths = fig.add_subplot(grid[0, 0])
        plot_paths(df, image=image, zones=zones, lines=lines, ax=paths, **common)
        plot_heatmap(df, image=image, ax=fig.add_subplot(grid[0, 1]), bins=40, **common)
        bars = fig.add_subplot(grid[1, :])
        plot_timeline(df, indices=indices, time_range_ms=time_range_ms, ax=bars)
    except BaseException:
        plt.close(fig)  # pyplot would keep a figure nobody can show
        raise
    return fig


def explorer_tables(
    df: pd.DataFrame,
    *,
    indices: Sequence[int] | None = None,
    time_range_ms: tuple[float, float] | None = None,
    zones: Mapping[str, Sequence[tuple[float, float]]] | None = None,
    lines: Mapping[str, Sequence[tuple[float, float]]] | None = None,
    anchor: str = "center",
) -> dict[str, pd.DataFrame]:
    """The path explorer's tables: trajectory summary, zone dwell, line crossing counts."""
    df = _select(df, indices, time_range_ms)
    people = analytics.trajectory_summary(df, anchor=anchor)
    tables = {"People": people.drop(columns=["StartX", "StartY", "EndX", "EndY"])}
    if zones:
        tables["Zones"] = analytics.zone_dwell(df, zones, anchor=anchor)
    if lines:
        tables["Lines"] = analytics.crossing_counts(df, lines, anchor=anchor)
    return tables


def _table_html(table: pd.DataFrame, digits: int = 3) -> str:
    table = table.copy()
    for col in table.columns:
        if str(col).endswith("Ms") or col == "Timestamp":  # milliseconds: whole numbers
            table[col] = table[col].round().astype("Int64")
    text = table.to_html(index=False, float_format=lambda v: f"{v:.{digits}f}", border=0, na_rep="")
    cell = "padding:2px 7px;text-align:right"
    return text.replace("<td>", f'<td style="{cell}">').replace("<th>", f'<th style="{cell}">')


def _tables_html(tables: Mapping[str, pd.DataFrame]) -> str:
    parts = []
    for name, table in tables.items():
        parts.append(f"<h4 style='margin:6px 0 2px'>{html.escape(name)}</h4>")
        parts.append(f"<div style='overflow-x:auto'>{_table_html(table)}</div>")
    return "".join(parts)


def _error_html(exc: BaseException) -> str:
    text = getattr(exc, "message", None) or str(exc)
    return f'<span style="color:#b3261e"><b>{type(exc).__name__}</b>: {html.escape(text)}</span>'


# -- widgets --------------------------------------------------------------------------------


class JobLauncher(W.VBox):
    """Choose a video and settings, press Start, watch the job run.

    Parameters
    ----------
    client : PersonTrackingClient
        From ``persontrack.client(data_dir=..., bucket_root=...)`` (local buckets).
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
        from .client import client as make_client

        key = json.dumps(settings, sort_keys=True)
        if key not in self._clients:
            self._clients[key] = make_client(
                self.client.data_dir,
                self.bucket_root,
                settings=dict(settings),
                tracker=self.client.tracker,
                max_workers=self.client.max_workers,
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
        self.job_id = job["JobId"]
        self.job_label.value = f"JobId: <code>{html.escape(self.job_id)}</code>"
        self.result.value = ""
        self.plot.value = b""
        self.progress.value = 0.0
        self.progress.bar_style = "info"
        self.update()
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
            self.result.value = (
                f"{len(df)} entries, {people} people · "
                f"faces seen in {int(df['FaceLeft'].notna().sum())} entries"
            )
            path = self.client.storage.resolve(self.description["Video"]["S3Object"])
            with matplotlib.rc_context({"figure.dpi": 90}):
                ax = plot_paths(df, image=frame_at(path, 0), anchor="center")
            self.plot.value = figure_png(ax.figure)
        except Exception as exc:
            self.result.value = _error_html(exc)

    def wait(self, timeout: float | None = None) -> dict[str, Any] | None:
        """Block until the job started last has finished and its result is shown."""
        if self._watcher is not None:
            self._watcher.join(timeout)
            if self._watcher.is_alive():
                raise TimeoutError(f"job {self.job_id} still running after {timeout} s")
        return self.description


class ResultPager(W.VBox):
    """Page through a job's GetPersonTracking results.

    Parameters
    ----------
    client : PersonTrackingClient
        The client that ran the job.
    job_id : str, optional
        Shown and fetched at once when given.
    max_results : int, default 10
        Entries per page.
    """

    def __init__(self, client: Any, job_id: str | None = None, *, max_results: int = 10) -> None:
        self.client = client
        self.state: PagerState | None = None
        self.response: dict[str, Any] | None = None
        self.job_id = W.Text(
            value=job_id or "", description="JobId", layout=W.Layout(width="600px")
        )
        self.max_results = W.BoundedIntText(
            value=max_results, min=1, max=1000, description="MaxResults"
        )
        self.sort_by = W.Dropdown(options=["TIMESTAMP", "INDEX"], description="SortBy")
        self.get_button = W.Button(description="Get results", button_style="primary")
        self.prev_button = W.Button(description="Previous", icon="arrow-left", disabled=True)
        self.next_button = W.Button(description="Next", icon="arrow-right", disabled=True)
        self.info = W.HTML("")
        self.table = W.HTML("")
        self.json = W.HTML("")
        tabs = W.Tab([self.table, self.json])
        tabs.set_title(0, "Table")
        tabs.set_title(1, "JSON")
        self.get_button.on_click(lambda _: self.first())
        self.prev_button.on_click(lambda _: self.previous())
        self.next_button.on_click(lambda _: self.next())
        super().__init__(
            [
                W.HTML("<h3 style='margin:4px 0'>GetPersonTracking pages</h3>"),
                self.job_id,
                W.HBox([self.max_results, self.sort_by]),
                W.HBox([self.get_button, self.prev_button, self.next_button]),
                self.info,
                tabs,
            ]
        )
        self.add_class("persontrack-pager")
        if job_id:
            self.first()

    def _show(self, state: PagerState) -> dict[str, Any] | None:
        try:
            response = self.client.get_person_tracking(**state.request())
        except Exception as exc:
            self.info.value = _error_html(exc)
            return None
        self.state, self.response = state.shown(response), response
        n = len(response.get("Persons", []))
        first = (state.page - 1) * state.max_results
        token = response.get("NextToken")
        self.info.value = (
            f"{job_status_html(response)} · page {state.page} · "
            + (f"entries {first + 1}–{first + n}" if n else "no entries")
            + (f" · NextToken <code>{html.escape(token[:16])}…</code>" if token else " · last page")
        )
        self.table.value = _table_html(page_table(response))
        self.json.value = (
            f"<pre style='max-height:320px;overflow:auto'>{html.escape(page_json(response))}</pre>"
        )
        self.prev_button.disabled = not self.state.has_previous
        self.next_button.disabled = not self.state.has_next
        return response

    def first(self) -> dict[str, Any] | None:
        """Fetch the first page for the JobId, MaxResults and SortBy shown."""
        state = PagerState(
            self.job_id.value.strip(), int(self.max_results.value), self.sort_by.value
        )
        return self._show(state)

    def next(self) -> dict[str, Any] | None:
        """Fetch the page after the one shown (with its NextToken)."""
        if self.state is None or not self.state.has_next:
            return None
        return self._show(self.state.forward())

    def previous(self) -> dict[str, Any] | None:
        """Fetch the page before the one shown."""
        if self.state is None or not self.state.has_previous:
            return None
        return self._show(self.state.back())


class PathExplorer(W.VBox):
    """Choose people and a time range, draw zones and lines, see paths and numbers.

    Parameters
    ----------
    df : pandas.DataFrame
        Results.
    image : numpy.ndarray, optional
        A video frame to draw under the paths (see :func:`persontrack.plot.frame_at`).
    zones, lines : str, optional
        Initial zones and lines, as text for :func:`parse_shapes`.
    anchor : {"center", "feet"}, default "center"
        Point of the box that is the person's position.
    """

    def __init__(
        self,
        df: pd.DataFrame,
        *,
        image: np.ndarray | None = None,
        zones: str = "",
        lines: str = "",
        anchor: str = "center",
    ) -> None:
        self.df = validate_frame(df, fill_missing=True)
        self.image = image
        people = sorted(int(i) for i in self.df["Index"].unique())
        t_max = int(self.df["Timestamp"].max()) if len(self.df) else 0
        self.indices = W.SelectMultiple(
            options=[(f"Index {i}", i) for i in people],
            value=people,
            description="People",
            rows=min(6, max(len(people), 2)),
        )
        self.time_range = W.IntRangeSlider(
            value=(0, t_max),
            min=0,
            max=max(t_max, 1),
            step=max(t_max // 100, 1),
            description="Time (ms)",
            layout=W.Layout(width="520px"),
        )
        self.anchor = W.Dropdown(options=["center", "feet"], value=anchor, description="Anchor")
        self.zones = W.Textarea(
            value=zones,
            description="Zones",
            placeholder="name: x,y x,y x,y",
            layout=W.Layout(width="420px", height="70px"),
        )
        self.lines = W.Textarea(
            value=lines,
            description="Lines",
            placeholder="name: x,y x,y",
            layout=W.Layout(width="420px", height="50px"),
        )
        self.draw_button = W.Button(description="Redraw", button_style="primary", icon="refresh")
        self.message = W.HTML("")
        self.plot = W.Image(format="png", layout=W.Layout(max_width="980px"))
        self.tables = W.HTML("")
        self.draw_button.on_click(lambda _: self.redraw())
        super().__init__(
            [
                W.HBox([self.indices, W.VBox([self.time_range, self.anchor])]),
                W.HBox([W.VBox([self.zones, self.lines]), self.draw_button]),
                self.message,
                self.plot,
                self.tables,
            ]
        )
        self.add_class("persontrack-explorer")
        self.redraw()

    def selection(self) -> dict[str, Any]:
        """The explorer's choices as keyword arguments for the plots and analytics."""
        return {
            "indices": list(self.indices.value),
            "time_range_ms": tuple(self.time_range.value),
            "zones": parse_shapes(self.zones.value, kind="zone") or None,
            "lines": parse_shapes(self.lines.value, kind="line") or None,
            "anchor": self.anchor.value,
        }

    def redraw(self) -> bool:
        """Draw the plots and tables for the current choices (what Redraw does)."""
        try:
            chosen = self.selection()
            fig = explorer_figure(self.df, image=self.image, **chosen)
            tables = explorer_tables(self.df, **chosen)
        except Exception as exc:
            self.message.value = _error_html(exc)
            return False
        self.message.value = ""
        self.plot.value = figure_png(fig)
        self.tables.value = _tables_html(tables)
        return True
