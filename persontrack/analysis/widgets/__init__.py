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
>>> from persontrack.jobs.client import client
>>> from persontrack.analysis.widgets import JobLauncher, parse_shapes
>>> parse_shapes("door: 0.5,0 0.5,1", kind="line")
{'door': [(0.5, 0.0), (0.5, 1.0)]}
>>> rek = client(data_dir=tempfile.mkdtemp(), bucket_root=tempfile.mkdtemp())
>>> launcher = JobLauncher(rek)
>>> launcher.status.value
'<b>No job started</b>'
"""

from ._common import UPLOAD_BUCKET, VIDEO_EXTENSIONS, figure_png, job_status_html
from .explorer import (
    PathExplorer,
    explorer_figure,
    explorer_tables,
    first_sighting,
    parse_shapes,
)
from .launcher import JobLauncher, list_videos, tracking_settings, video_object
from .pager import PagerState, ResultPager, page_json, page_table

__all__ = [
    "UPLOAD_BUCKET",
    "VIDEO_EXTENSIONS",
    "explorer_figure",
    "explorer_tables",
    "first_sighting",
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
