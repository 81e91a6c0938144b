"""Plots of results (matplotlib), as pure functions taking the results DataFrame.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import pandas as pd, persontrack as pt
>>> df = pt.validate_frame(pd.DataFrame({
...     "Timestamp": [0, 100, 200], "Index": [0, 0, 0],
...     "Left": [0.1, 0.3, 0.5], "Top": [0.2, 0.25, 0.3],
...     "Width": [0.1, 0.1, 0.1], "Height": [0.4, 0.4, 0.4]}), fill_missing=True)
>>> ax = pt.plot_paths(df)
>>> len(ax.lines) >= 1
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from .schema import validate_frame


def path_points(df: pd.DataFrame, anchor: str = "feet") -> pd.DataFrame:
    """Where each person stands at each timestamp, as ratios of the frame.

    Parameters
    ----------
    df : pandas.DataFrame
        Results.
    anchor : {"feet", "center"}, default "feet"
        ``feet``: bottom centre of the box (where a person is on the floor);
        ``center``: box centre.

    Returns
    -------
    pandas.DataFrame
        Columns Timestamp, Index, X, Y, sorted by Index then Timestamp.
    """
    if anchor not in ("feet", "center"):
        raise ValueError(f"anchor must be 'feet' or 'center', got {anchor!r}")
    df = validate_frame(df, fill_missing=True)
    y = df["Top"] + (df["Height"] if anchor == "feet" else df["Height"] / 2)
    out = pd.DataFrame(
        {
            "Timestamp": df["Timestamp"],
            "Index": df["Index"],
            "X": df["Left"] + df["Width"] / 2,
            "Y": y,
        }
    ).dropna()
    return out.sort_values(["Index", "Timestamp"], kind="mergesort", ignore_index=True)


def _colors(indices: Sequence[int]) -> dict[int, Any]:
    cmap = plt.get_cmap("tab10" if len(indices) <= 10 else "tab20")
    return {int(i): cmap(k % cmap.N) for k, i in enumerate(sorted(indices))}


def plot_paths(
    df: pd.DataFrame,
    *,
    image: np.ndarray | None = None,
    indices: Sequence[int] | None = None,
    time_range_ms: tuple[float, float] | None = None,
    anchor: str = "feet",
    arrows: bool = True,
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """Draw each person's path, optionally over a video frame.

    Parameters
    ----------
    df : pandas.DataFrame
        Results.
    image : numpy.ndarray, optional
        A frame (H, W, 3) to draw under the paths; coordinates are then pixels.
    indices : sequence of int, optional
        Only these people.
    time_range_ms : (start, end), optional
        Only entries with start <= Timestamp <= end.
    anchor : {"feet", "center"}
        Which point of the box traces the path.
    arrows : bool, default True
        Mark the direction of travel with arrows.
    ax : matplotlib Axes, optional
        Where to draw (a new figure otherwise).
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
        Start of each path marked with a circle, end with a square, colour per Index.
    """
    pts = path_points(df, anchor)
    if indices is not None:
        pts = pts[pts["Index"].isin([int(i) for i in indices])]
    if time_range_ms is not None:
        lo, hi = time_range_ms
        pts = pts[(pts["Timestamp"] >= lo) & (pts["Timestamp"] <= hi)]
    if ax is None:
        aspect = 9 / 16 if image is None else image.shape[0] / image.shape[1]
        _, ax = plt.subplots(figsize=(8, 8 * aspect), layout="constrained")
    if image is not None:
        h, w = image.shape[:2]
        ax.imshow(image, alpha=0.75)
        sx, sy = float(w), float(h)
    else:
        sx = sy = 1.0
        ax.set_xlim(0, 1)
        ax.set_ylim(1, 0)
        ax.set_aspect("auto")
        ax.set_facecolor("#f4f4f4")
        ax.grid(True, color="white", linewidth=1)
    colors = _colors(pts["Index"].unique().tolist())
    for index, track in pts.groupby("Index", sort=True):
        x, y = track["X"].to_numpy() * sx, track["Y"].to_numpy() * sy
        c = colors[int(index)]
        ax.plot(x, y, "-", color=c, linewidth=2.2, alpha=0.9, label=f"Index {index}")
        ax.plot(x[0], y[0], "o", color=c, markersize=8, markeredgecolor="white")
        ax.plot(x[-1], y[-1], "s", color=c, markersize=8, markeredgecolor="white")
        if arrows and len(x) > 2:
            step = max(len(x) // 4, 1)
            for k in range(step, len(x), step):
                if np.hypot(x[k] - x[k - 1], y[k] - y[k - 1]) > 0:
                    ax.annotate(
                        "",
                        xy=(x[k], y[k]),
                        xytext=(x[k - 1], y[k - 1]),
                        arrowprops={"arrowstyle": "-|>", "color": c, "lw": 1.5},
                    )
    if len(colors):
        ax.legend(loc="upper right", fontsize=8, framealpha=0.85, ncols=1 + len(colors) // 12)
    ax.set_title(title or f"Paths of {len(colors)} people (● start, ■ end)")
    ax.set_xlabel("x (pixels)" if image is not None else "x (ratio of frame width)")
    ax.set_ylabel("y (pixels)" if image is not None else "y (ratio of frame height)")
    return ax
