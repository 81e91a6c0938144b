"""The path explorer: paths, heat map and timeline of a result, with zones and lines; with
the video, it shows the frame where a chosen person is first seen."""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from typing import Any

import ipywidgets as W
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ...errors import InvalidParameterException
from ...schema import validate_frame
from .. import analytics
from ..annotate import annotate_frame
from ..plot import _select, plot_heatmap, plot_paths, plot_timeline
from ._common import _error_html, _tables_html, figure_png


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
    >>> from persontrack.analysis.widgets import parse_shapes
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


def first_sighting(
    df: pd.DataFrame, video: str | os.PathLike[str], index: int
) -> tuple[np.ndarray, dict[str, Any]]:
    """The frame where person ``index`` is first seen, with the people of that moment drawn.

    Parameters
    ----------
    df : pandas.DataFrame
        Results.
    video : path
        The video the results are of.
    index : int
        The person.

    Returns
    -------
    image : numpy.ndarray
        (H, W, 3) uint8 RGB frame with boxes and Index tags (:func:`annotate_frame`).
    info : dict
        ``Index``, ``Timestamp`` (ms) and ``FrameNumber`` (None when unknown).

    Raises
    ------
    InvalidParameterException
        When the results have no such person.

    Examples
    --------
    >>> import pandas as pd, persontrack as pt
    >>> from persontrack.analysis.widgets import first_sighting
    >>> df = pt.validate_frame(pd.DataFrame({"Timestamp": [0, 500, 1000], "Index": [0, 0, 1],
    ...     "Left": 0.2, "Top": 0.2, "Width": 0.3, "Height": 0.6}), fill_missing=True)
    >>> image, info = first_sighting(df, "data/sample.mp4", 1)
    >>> image.shape, info["Timestamp"]
    ((360, 640, 3), 1000)
    """
    from ..plot import frame_at

    df = validate_frame(df, fill_missing=True)
    own = df[df["Index"] == int(index)]
    if own.empty:
        raise InvalidParameterException(f"the results have no person with Index {index}")
    first = own.loc[own["Timestamp"].idxmin()]
    timestamp = int(first["Timestamp"])
    number = first["FrameNumber"]
    image = frame_at(video, timestamp)
    drawn = annotate_frame(image, df[df["Timestamp"] == timestamp])
    info = {
        "Index": int(index),
        "Timestamp": timestamp,
        "FrameNumber": None if pd.isna(number) else int(number),
    }
    return drawn, info


def _png(image: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="png")
    return buf.getvalue()


class PathExplorer(W.VBox):
    """Choose people and a time range, draw zones and lines, see paths and numbers.

    Parameters
    ----------
    df : pandas.DataFrame
        Results.
    image : numpy.ndarray, optional
        A video frame to draw under the paths (see :func:`persontrack.analysis.plot.frame_at`).
    zones, lines : str, optional
        Initial zones and lines, as text for :func:`parse_shapes`.
    anchor : {"center", "feet"}, default "center"
        Point of the box that is the person's position.
    video : path, optional
        The video the results are of: adds a person chooser and a *First frame* button
        that shows the frame where that person is first seen (:func:`first_sighting`).
    """

    def __init__(
        self,
        df: pd.DataFrame,
        *,
        image: np.ndarray | None = None,
        zones: str = "",
        lines: str = "",
        anchor: str = "center",
        video: str | os.PathLike[str] | None = None,
    ) -> None:
        self.df = validate_frame(df, fill_missing=True)
        self.image = image
        self.video = video
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
        self.person = W.Dropdown(options=[(f"Index {i}", i) for i in people], description="Person")
        self.jump_button = W.Button(description="First frame", icon="step-forward")
        self.frame_label = W.HTML("")
        self.frame_view = W.Image(format="png", layout=W.Layout(max_width="980px"))
        self.jump_button.on_click(lambda _: self.jump_to(self.person.value))
        children: list[W.Widget] = [
            W.HBox([self.indices, W.VBox([self.time_range, self.anchor])]),
            W.HBox([W.VBox([self.zones, self.lines]), self.draw_button]),
            self.message,
            self.plot,
            self.tables,
        ]
        if video is not None:
            children += [W.HBox([self.person, self.jump_button, self.frame_label]), self.frame_view]
        super().__init__(children)
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

    def jump_to(self, index: int | None) -> bool:
        """Show the frame where person ``index`` is first seen (what *First frame* does)."""
        try:
            if self.video is None:
                raise InvalidParameterException("the explorer was made without video=")
            if index is None:
                raise InvalidParameterException("choose a person first")
            image, info = first_sighting(self.df, self.video, index)
        except Exception as exc:
            self.frame_label.value = _error_html(exc)
            return False
        frame = "" if info["FrameNumber"] is None else f", frame {info['FrameNumber']}"
        self.frame_label.value = (
            f"Index {info['Index']} first seen at {info['Timestamp'] / 1000:.2f} s{frame}"
        )
        self.frame_view.value = _png(image)
        return True

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
