"""What the three widgets share: file endings, presets, status lines, PNG figures, HTML tables."""

from __future__ import annotations

import html
import io
from collections.abc import Mapping
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

VIDEO_EXTENSIONS = (".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".mpg", ".mpeg")
"""File name endings the launcher lists as videos."""

UPLOAD_BUCKET = "uploads"
"""Bucket the launcher copies a video into when it is given a path outside the buckets."""

PRESETS = ("fast", "balanced", "thorough")
_STATUS_COLORS = {"IN_PROGRESS": "#1f6f8b", "SUCCEEDED": "#2a7d2e", "FAILED": "#b3261e"}


def figure_png(fig: Figure | Any, dpi: int = 90) -> bytes:
    """A figure as PNG bytes (then closed, so notebooks do not show it twice)."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return buf.getvalue()


def job_status_html(description: Mapping[str, Any] | None) -> str:
    """A job's JobStatus, StatusMessage and progress as a line of HTML.

    Parameters
    ----------
    description : dict or None
        From ``client.describe_job(JobId)`` (None: no job yet).

    Examples
    --------
    >>> from persontrack.analysis.widgets import job_status_html
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
