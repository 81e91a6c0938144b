"""Plots of results (matplotlib), as pure functions taking the results DataFrame.

Each function draws on the ``ax`` it is given (or a new figure) and returns the Axes. A
person keeps one colour in every plot: the colour is chosen by the Index value
(:func:`index_color`), not by the order of the people shown.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import pandas as pd, persontrack as pt
>>> from persontrack.analysis.plot import plot_paths, plot_timeline
>>> df = pt.validate_frame(pd.DataFrame({
...     "Timestamp": [0, 100, 200], "Index": [0, 0, 0],
...     "Left": [0.1, 0.3, 0.5], "Top": [0.2, 0.25, 0.3],
...     "Width": [0.1, 0.1, 0.1], "Height": [0.4, 0.4, 0.4]}), fill_missing=True)
>>> ax = plot_paths(df)
>>> len(ax.lines) >= 1
True
>>> ax = plot_timeline(df)
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.patheffects as pe
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import Colormap, ListedColormap
from matplotlib.patches import Patch, Polygon, Rectangle

from ..errors import InvalidParameterException
from ..schema import validate_frame
from .analytics import DEFAULT_MAX_GAP_MS, _lines, _tracks, _zones, path_points

__all__ = [
    "POSE_CONNECTIONS",
    "frame_at",
    "index_color",
    "path_points",
    "plot_comparison",
    "plot_frame",
    "plot_heatmap",
    "plot_paths",
    "plot_timeline",
    "plot_zones",
]

POSE_CONNECTIONS: tuple[tuple[int, int], ...] = (
    (0, 1), (1, 2), (2, 3), (3, 7), (0, 4), (4, 5), (5, 6), (6, 8), (9, 10),
    (11, 12), (11, 13), (13, 15), (15, 17), (15, 19), (15, 21), (17, 19),
    (12, 14), (14, 16), (16, 18), (16, 20), (16, 22), (18, 20),
    (11, 23), (12, 24), (23, 24), (23, 25), (24, 26), (25, 27), (26, 28),
    (27, 29), (28, 30), (29, 31), (30, 32), (27, 31), (28, 32),
)  # fmt: skip
"""Bones of the 33-point MediaPipe pose skeleton (pairs of ``BodyLandmarks`` rows)."""

_ZONE_COLOR = "#1f6f8b"
_LINE_COLOR = "#d1495b"
_OUTLINE = [pe.withStroke(linewidth=4.5, foreground="white", alpha=0.9)]
_TEXT_OUTLINE = [pe.withStroke(linewidth=3, foreground="white")]


def index_color(index: int) -> tuple[float, float, float, float]:
    """The colour of person ``index`` in every plot (matplotlib's tab10 cycle).

    Examples
    --------
    >>> from persontrack.analysis.plot import index_color
    >>> index_color(0) == index_color(10)
    True
    """
    return plt.get_cmap("tab10")(int(index) % 10)


def frame_at(source: str | os.PathLike[str], timestamp_ms: float = 0) -> np.ndarray:
    """The video frame shown at ``timestamp_ms`` (the last frame at or before it).

    Parameters
    ----------
    source : path
        The video.
    timestamp_ms : float, default 0
        Time from the start of the video.

    Returns
    -------
    numpy.ndarray
        (H, W, 3) uint8 RGB.

    Examples
    --------
    >>> from persontrack.analysis.plot import frame_at
    >>> frame_at("data/sample.mp4", 1000).shape
    (360, 640, 3)
    """
    from ..io.video import open_video

    chosen = None
    with open_video(source) as video:
        for frame in video.frames():
            if chosen is not None and frame.timestamp_ms > timestamp_ms:
                break
            chosen = frame.image
    if chosen is None:
        raise InvalidParameterException(f"no frame in {os.fspath(source)!r}")
    return np.array(chosen)


def _people(n: int) -> str:
    return "1 person" if n == 1 else f"{n} people"


def _new_axes(image: np.ndarray | None, width: float = 8.0) -> Axes:
    aspect = 9 / 16 if image is None else image.shape[0] / image.shape[1]
    _, ax = plt.subplots(figsize=(width, width * aspect + 0.6), layout="constrained")
    return ax


def _check_image(image: Any) -> np.ndarray:
    arr = np.asarray(image)
    if arr.ndim not in (2, 3) or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise InvalidParameterException(f"image must be (H, W) or (H, W, 3), got {arr.shape}")
    return arr


def _backdrop(ax: Axes, image: np.ndarray | None, fade: float) -> tuple[float, float]:
    """Draw the (faded) frame or a plain floor; return the scale from frame units."""
    if image is None:
        ax.set_xlim(0, 1)
        ax.set_ylim(1, 0)
        ax.set_facecolor("#f3f3f0")
        ax.grid(True, color="white", linewidth=1.2)
        ax.set_axisbelow(True)
        ax.set_xlabel("x (fraction of frame width)")
        ax.set_ylabel("y (fraction of frame height)")
        return 1.0, 1.0
    img = _check_image(image)
    h, w = img.shape[:2]
    shown = img
    if fade:
        shown = img.astype(float) / (255.0 if img.dtype == np.uint8 else 1.0)
        shown = np.clip(shown * (1 - fade) + fade, 0, 1)  # towards white: marks stand out
    ax.imshow(shown, cmap="gray" if shown.ndim == 2 else None)
    ax.set_xlim(-0.5, w - 0.5)
    ax.set_ylim(h - 0.5, -0.5)
    ax.set_xticks([])
    ax.set_yticks([])
    return float(w), float(h)


def _select(
    df: pd.DataFrame,
    indices: Sequence[int] | None,
    time_range_ms: tuple[float, float] | None,
) -> pd.DataFrame:
    df = validate_frame(df, fill_missing=True)
    if indices is not None:
        df = df[df["Index"].isin([int(i) for i in indices])]
    if time_range_ms is not None:
        lo, hi = time_range_ms
        df = df[(df["Timestamp"] >= lo) & (df["Timestamp"] <= hi)]
    return df


def plot_zones(
    ax: Axes,
    zones: Mapping[str, Sequence[tuple[float, float]]] | None = None,
    lines: Mapping[str, Sequence[tuple[float, float]]] | None = None,
    *,
    scale: tuple[float, float] = (1.0, 1.0),
) -> Axes:
    """Draw polygon zones and counting lines (in frame units) on ``ax``.

    Each line is drawn from A to B with a small arrow showing its +1 crossing direction
    (see :func:`persontrack.analysis.analytics.line_crossings`).

    Parameters
    ----------
    ax : matplotlib Axes
        Where to draw.
    zones, lines : dict, optional
        As in :func:`persontrack.analysis.analytics.zone_dwell` and
        :func:`persontrack.analysis.analytics.line_crossings`.
    scale : (sx, sy), default (1, 1)
        Multiply coordinates by this (the frame size when drawing over an image).

    Returns
    -------
    matplotlib.axes.Axes
    """
    sx, sy = scale
    for name, poly in (_zones(zones) if zones else {}).items():
        xy = poly * (sx, sy)
        ax.add_patch(Polygon(xy, closed=True, facecolor=_ZONE_COLOR, alpha=0.16, edgecolor="none"))
        ax.add_patch(
            Polygon(xy, closed=True, fill=False, edgecolor=_ZONE_COLOR, lw=1.8, ls=(0, (5, 3)))
        )
        top = xy[np.argmin(xy[:, 1])]
        ax.annotate(
            name,
            (xy[:, 0].mean(), top[1]),
            xytext=(0, -4),
            textcoords="offset points",
            ha="center",
            va="top",
            color=_ZONE_COLOR,
            fontsize=9,
            fontweight="bold",
            path_effects=_TEXT_OUTLINE,
        )
    for name, seg in (_lines(lines) if lines else {}).items():
        (xa, ya), (xb, yb) = seg * (sx, sy)
        ax.plot([xa, xb], [ya, yb], color=_LINE_COLOR, lw=2.5, solid_capstyle="round")
        ax.plot([xa], [ya], "o", color=_LINE_COLOR, ms=5)
        mx, my = (xa + xb) / 2, (ya + yb) / 2
        # +1 side: A->B turned clockwise on screen (y down): (dx, dy) -> (-dy, dx)
        dx, dy = xb - xa, yb - ya
        n = np.hypot(dx, dy)
        span = 0.06 * max(sx, sy)
        ax.annotate(
            "",
            xy=(mx - dy / n * span, my + dx / n * span),
            xytext=(mx, my),
            arrowprops={"arrowstyle": "-|>", "color": _LINE_COLOR, "lw": 1.8},
        )
        ax.annotate(
            name,
            (xa, ya),
            xytext=(5, 5 if ya > yb else -12),
            textcoords="offset points",
            color=_LINE_COLOR,
            fontsize=9,
            fontweight="bold",
            path_effects=_TEXT_OUTLINE,
        )
    return ax


def plot_paths(
    df: pd.DataFrame,
    *,
    image: np.ndarray | None = None,
    indices: Sequence[int] | None = None,
    time_range_ms: tuple[float, float] | None = None,
    anchor: str = "feet",
    arrows: bool = True,
    zones: Mapping[str, Sequence[tuple[float, float]]] | None = None,
    lines: Mapping[str, Sequence[tuple[float, float]]] | None = None,
    max_gap_ms: float = DEFAULT_MAX_GAP_MS,
    ax: Axes | None = None,
    title: str | None = None,
    fade: float = 0.45,
) -> Axes:
    """Draw each person's path, optionally over a video frame.

    Parameters
    ----------
    df : pandas.DataFrame
        Results.
    image : numpy.ndarray, optional
        A frame (H, W, 3) to draw under the paths (see :func:`frame_at`).
    indices : sequence of int, optional
        Only these people.
    time_range_ms : (start, end), optional
        Only entries with start <= Timestamp <= end.
    anchor : {"feet", "center"}, default "feet"
        Which point of the box traces the path.
    arrows : bool, default True
        Mark the direction of travel with arrows along each path.
    zones, lines : dict, optional
        Zones and counting lines to draw too (frame units, see :func:`plot_zones`).
    max_gap_ms : float, default :data:`persontrack.analysis.analytics.DEFAULT_MAX_GAP_MS`
        Where a person was not seen for longer than this, the path is broken and the two
        ends joined by a dotted line (where they went meanwhile is unknown).
    ax : matplotlib Axes, optional
        Where to draw (a new figure otherwise).
    title : str, optional
        Axes title.
    fade : float, default 0.45
        How far the image is faded towards white (0 = as is).

    Returns
    -------
    matplotlib.axes.Axes
        Start of each path marked with a circle, end with a square, colour per Index.
    """
    pts = _tracks(_select(df, indices, time_range_ms), anchor, None, max_gap_ms)
    ax = ax if ax is not None else _new_axes(image)
    sx, sy = _backdrop(ax, image, fade)
    plot_zones(ax, zones, lines, scale=(sx, sy))
    count = 0
    for _, track in pts.groupby("Index", sort=True):
        count += 1
        index = int(track["Index"].iloc[0])
        c = index_color(index)
        secs = (track["Timestamp"].iloc[-1] - track["Timestamp"].iloc[0]) / 1000
        label = f"Index {index} · {secs:.1f} s"
        previous_end: tuple[float, float] | None = None
        n_arrows = 2 if track["Segment"].nunique() > 1 else 3
        for _, seg in track.groupby("Segment", sort=True):
            x, y = seg["X"].to_numpy() * sx, seg["Y"].to_numpy() * sy
            if previous_end is not None:
                # unseen for longer than max_gap_ms: a faint dotted link, not a path
                ax.plot(
                    [previous_end[0], x[0]], [previous_end[1], y[0]], ":", color=c, lw=1.6,
                    alpha=0.8, gid="gap",
                )  # fmt: skip
            ax.plot(
                x,
                y,
                "-",
                color=c,
                lw=2.6,
                solid_joinstyle="round",
                solid_capstyle="round",
                path_effects=_OUTLINE,
                label=label,
            )
            label = "_nolegend_"
            if arrows:
                _arrows(ax, x, y, c, n=n_arrows)
            previous_end = (x[-1], y[-1])
        x, y = track["X"].to_numpy() * sx, track["Y"].to_numpy() * sy
        ax.plot(x[0], y[0], "o", color=c, ms=10, mec="white", mew=1.8, zorder=4)
        ax.plot(x[-1], y[-1], "s", color=c, ms=9, mec="white", mew=1.8, zorder=4)
        ax.annotate(
            str(index),
            (x[-1], y[-1]),
            xytext=(7, -7),
            textcoords="offset points",
            color=c,
            fontsize=10,
            fontweight="bold",
            path_effects=_TEXT_OUTLINE,
            zorder=5,
        )
    if image is not None and len(pts):
        _include(ax, pts["X"].to_numpy() * sx, pts["Y"].to_numpy() * sy, (sx, sy))
    if count:
        ax.legend(loc="upper right", fontsize=8, framealpha=0.9, ncols=1 + count // 12)
    shown = title if title is not None else f"Paths of {_people(count)}  (● start, ■ end)"
    ax.set_title(shown, loc="left", fontsize=11)
    return ax


def _include(ax: Axes, x: np.ndarray, y: np.ndarray, size: tuple[float, float]) -> None:
    """Widen the view past the image edges so points on or beyond them stay visible."""
    pad_x, pad_y = 0.02 * size[0], 0.02 * size[1]
    (x0, x1), (y1, y0) = ax.get_xlim(), ax.get_ylim()
    lo_x, hi_x = min(x0, np.nanmin(x) - pad_x), max(x1, np.nanmax(x) + pad_x)
    lo_y, hi_y = min(y0, np.nanmin(y) - pad_y), max(y1, np.nanmax(y) + pad_y)
    if (lo_x, hi_x, lo_y, hi_y) != (x0, x1, y0, y1):
        ax.set_xlim(lo_x, hi_x)
        ax.set_ylim(hi_y, lo_y)
        ax.set_facecolor("#e9e9e6")


def _arrows(ax: Axes, x: np.ndarray, y: np.ndarray, color: Any, n: int = 3) -> None:
    """Arrowheads at evenly spaced distances along a path."""
    steps = np.hypot(np.diff(x), np.diff(y))
    total = steps.sum()
    if len(x) < 2 or total <= 0:
        return
    along = np.r_[0.0, np.cumsum(steps)]
    for frac in np.arange(1, n + 1) / (n + 1):
        d = frac * total
        k = int(np.clip(np.searchsorted(along, d), 1, len(x) - 1))
        u = (d - along[k - 1]) / max(steps[k - 1], 1e-12)
        px, py = x[k - 1] + u * (x[k] - x[k - 1]), y[k - 1] + u * (y[k] - y[k - 1])
        ux, uy = (x[k] - x[k - 1]) / steps[k - 1], (y[k] - y[k - 1]) / steps[k - 1]
        ax.annotate(
            "",
            xy=(px + ux * 1e-3 * total, py + uy * 1e-3 * total),
            xytext=(px, py),
            arrowprops={
                "arrowstyle": "-|>,head_length=0.8,head_width=0.45",
                "color": color,
                "lw": 0,
                "shrinkA": 0,
                "shrinkB": 0,
            },
            zorder=5,
        )


def plot_timeline(
    df: pd.DataFrame,
    *,
    indices: Sequence[int] | None = None,
    time_range_ms: tuple[float, float] | None = None,
    max_gap_ms: float = DEFAULT_MAX_GAP_MS,
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """When each person is present (bars) and when their face is seen (dark inner bars).

    Parameters
    ----------
    df : pandas.DataFrame
        Results.
    indices, time_range_ms
        Only these people / this time span.
    max_gap_ms : float, default :data:`persontrack.analysis.analytics.DEFAULT_MAX_GAP_MS`
        A longer gap between detections breaks the bar.
    ax : matplotlib Axes, optional
        Where to draw (a new figure otherwise).
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
        One row per Index, time in seconds on the x axis.
    """
    sel = _select(df, indices, time_range_ms)
    people = sorted(int(i) for i in sel["Index"].unique())
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 1.0 + 0.42 * max(len(people), 2)), layout="constrained")
    if len(sel):
        t = np.sort(sel["Timestamp"].unique())
        tick = float(np.median(np.diff(t))) if len(t) > 1 else 100.0
    else:
        tick = 100.0
    tracks = _tracks(sel, "center", None, max_gap_ms)
    has_face = sel.set_index(["Index", "Timestamp"])["FaceLeft"].notna()
    tracks["Face"] = has_face.reindex(
        pd.MultiIndex.from_frame(tracks[["Index", "Timestamp"]])
    ).to_numpy(dtype=bool)
    # a face run: consecutive detections with a face, within one segment
    face_start = tracks["Face"] & ~(
        tracks["Face"].shift(fill_value=False) & ~tracks["SegmentStart"]
    )
    tracks["FaceRun"] = face_start.cumsum()
    for row, index in enumerate(people):
        mine = tracks[tracks["Index"] == index]
        for key, subset, height, color in (
            ("Segment", mine, 0.62, index_color(index)),
            ("FaceRun", mine[mine["Face"]], 0.22, "#222222"),
        ):
            spans = subset.groupby(key)["Timestamp"].agg(["min", "max"])
            bars = [(a / 1000, max(b - a, tick) / 1000) for a, b in spans.to_numpy()]
            ax.broken_barh(bars, (row - height / 2, height), facecolors=color, alpha=0.95)
    ax.set_yticks(range(len(people)), [f"Index {i}" for i in people])
    ax.set_ylim(len(people) - 0.3 if people else 0.5, -0.7)
    ax.set_xlabel("time (s)")
    ax.grid(True, axis="x", color="#dddddd")
    ax.set_axisbelow(True)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="y", length=0)
    handles = [
        Patch(facecolor="#888888", label="person detected"),
        Patch(facecolor="#222222", label="face seen"),
    ]
    ax.legend(
        handles=handles,
        loc="lower right",
        bbox_to_anchor=(1.0, 1.0),
        ncols=2,
        fontsize=8,
        frameon=False,
    )
    ax.set_title(title if title is not None else "Who is present when", loc="left", fontsize=11)
    return ax


def plot_heatmap(
    df: pd.DataFrame,
    *,
    image: np.ndarray | None = None,
    indices: Sequence[int] | None = None,
    time_range_ms: tuple[float, float] | None = None,
    anchor: str = "feet",
    bins: int = 48,
    sigma: float = 1.2,
    max_gap_ms: float = DEFAULT_MAX_GAP_MS,
    cmap: str | Colormap = "inferno",
    ax: Axes | None = None,
    title: str | None = None,
    fade: float = 0.35,
) -> Axes:
    """Occupancy heatmap: where people spent time (person-seconds per cell).

    Each detection adds the time it stands for (see :mod:`persontrack.analysis.analytics`) to the
    cell under the person's ``anchor`` point; the grid is then smoothed with a Gaussian.

    Parameters
    ----------
    df : pandas.DataFrame
        Results.
    image : numpy.ndarray, optional
        A frame to draw under the heatmap.
    indices, time_range_ms
        Only these people / this time span.
    anchor : {"feet", "center"}, default "feet"
        Which point of the box is the person's position.
    bins : int, default 48
        Cells across the frame width (rows follow the frame's aspect ratio).
    sigma : float, default 1.2
        Smoothing, in cells (0 for none).
    max_gap_ms : float
        As in :func:`persontrack.analysis.analytics.trajectory_summary`.
    cmap : str, default "inferno"
        Matplotlib colour map.
    ax : matplotlib Axes, optional
        Where to draw.
    title : str, optional
        Axes title.
    fade : float, default 0.35
        How far the image is faded towards white.

    Returns
    -------
    matplotlib.axes.Axes
    """
    from scipy.ndimage import gaussian_filter

    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 2:
        raise InvalidParameterException(f"bins must be an integer >= 2, got {bins!r}")
    pts = _tracks(_select(df, indices, time_range_ms), anchor, None, max_gap_ms)
    ax = ax if ax is not None else _new_axes(image)
    sx, sy = _backdrop(ax, image, fade)
    aspect = sy / sx if image is not None else 9 / 16
    ny = max(2, int(round(bins * aspect)))
    weights = pts["Weight"].to_numpy() / 1000.0
    label = "person-seconds per cell (smoothed)"
    if len(pts) and weights.sum() == 0:
        weights, label = np.ones(len(pts)), "detections per cell (smoothed)"
    grid, _, _ = np.histogram2d(
        pts["Y"].to_numpy(), pts["X"].to_numpy(), bins=(ny, bins), range=[[0, 1], [0, 1]],
        weights=weights,
    )  # fmt: skip
    if sigma > 0:
        grid = gaussian_filter(grid, sigma)
    peak = grid.max() if grid.size else 0.0
    if image is not None:
        # fade the low end of the colour map to transparent so the frame shows through
        colors = plt.get_cmap(cmap)(np.linspace(0, 1, 256))
        colors[:, 3] = np.clip(np.linspace(0, 1, 256) / 0.35, 0, 1) * 0.85
        cmap = ListedColormap(colors)
    extent = (-0.5, sx - 0.5, sy - 0.5, -0.5) if image is not None else (0, 1, 1, 0)
    mappable = ax.imshow(
        grid,
        cmap=cmap,
        extent=extent,
        interpolation="bilinear",
        vmin=0,
        vmax=peak if peak > 0 else 1,
    )
    if image is None:
        ax.set_aspect("auto")
    cax = ax.inset_axes((1.015, 0.0, 0.025, 1.0))
    ax.figure.colorbar(mappable, cax=cax, label=label)
    n = pts["Index"].nunique()
    ax.set_title(
        title if title is not None else f"Where {_people(n)} spent time", loc="left", fontsize=11
    )
    return ax


def plot_frame(
    df: pd.DataFrame,
    image: np.ndarray,
    timestamp_ms: float | None = None,
    *,
    boxes: bool = True,
    body: bool = True,
    faces: bool = True,
    min_visibility: float = 0.5,
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """One frame with each person's box, body skeleton, face box and face landmarks.

    Parameters
    ----------
    df : pandas.DataFrame
        Results.
    image : numpy.ndarray
        The frame (H, W, 3), e.g. ``frame_at(video, timestamp_ms)``.
    timestamp_ms : float, optional
        Which results to draw: the rows at the Timestamp nearest to this (default: the
        first Timestamp).
    boxes, body, faces : bool, default True
        Draw person boxes, body landmarks and skeleton, face boxes and face landmarks.
    min_visibility : float, default 0.5
        Body landmarks less visible than this (MediaPipe visibility, 0-1) are not drawn.
    ax : matplotlib Axes, optional
        Where to draw.
    title : str, optional
        Axes title (default: the timestamp and the number of people).

    Returns
    -------
    matplotlib.axes.Axes
    """
    df = validate_frame(df, fill_missing=True)
    img = _check_image(image)
    ax = ax if ax is not None else _new_axes(img)
    w, h = _backdrop(ax, img, fade=0.0)
    if len(df) == 0:
        ax.set_title(title or "No people", loc="left", fontsize=11)
        return ax
    stamps = df["Timestamp"].unique()
    want = stamps.min() if timestamp_ms is None else timestamp_ms
    at = int(stamps[np.argmin(np.abs(stamps - want))])
    rows = df[df["Timestamp"] == at].sort_values("Index")
    for r in rows.itertuples(index=False):
        c = index_color(int(r.Index))
        if boxes and not np.isnan(r.Left):
            ax.add_patch(
                Rectangle(
                    (r.Left * w, r.Top * h),
                    r.Width * w,
                    r.Height * h,
                    fill=False,
                    ec=c,
                    lw=2.2,
                    gid="person-box",
                )
            )
            conf = "" if np.isnan(r.Confidence) else f" · {r.Confidence:.0f}%"
            ax.text(
                r.Left * w,
                r.Top * h,
                f" {r.Index}{conf} ",
                color="white",
                fontsize=9,
                fontweight="bold",
                va="bottom",
                ha="left",
                bbox={"boxstyle": "square,pad=0.15", "fc": c, "ec": c},
                clip_on=True,
            )
        if body and r.BodyLandmarks is not None:
            lm = np.asarray(r.BodyLandmarks, dtype=float)
            ok = lm[:, 3] >= min_visibility
            for a, b in POSE_CONNECTIONS:
                if ok[a] and ok[b]:
                    ax.plot(
                        [lm[a, 0] * w, lm[b, 0] * w],
                        [lm[a, 1] * h, lm[b, 1] * h],
                        color=c,
                        lw=2,
                        alpha=0.9,
                        solid_capstyle="round",
                        path_effects=[pe.withStroke(linewidth=3.5, foreground="black", alpha=0.35)],
                    )
            ax.scatter(
                lm[ok, 0] * w, lm[ok, 1] * h, s=14, c="white", edgecolors=[c], lw=1.2, zorder=4
            )
        if faces and not np.isnan(r.FaceLeft):
            ax.add_patch(
                Rectangle(
                    (r.FaceLeft * w, r.FaceTop * h),
                    r.FaceWidth * w,
                    r.FaceHeight * h,
                    fill=False,
                    ec="white",
                    lw=1.3,
                    ls=(0, (3, 2)),
                    gid="face-box",
                )
            )
        if faces and r.FaceLandmarks:
            fx = [p["X"] * w for p in r.FaceLandmarks]
            fy = [p["Y"] * h for p in r.FaceLandmarks]
            ax.scatter(fx, fy, s=9, c="#ffe14d", edgecolors="black", lw=0.4, zorder=5)
    ax.set_title(
        title if title is not None else f"t = {at / 1000:.2f} s · {_people(len(rows))}",
        loc="left",
        fontsize=11,
    )
    return ax


def plot_comparison(
    reference: pd.DataFrame,
    candidate: pd.DataFrame,
    index_map: Mapping[int, int],
    *,
    image: np.ndarray | None = None,
    anchor: str | None = None,
    max_gap_ms: float = DEFAULT_MAX_GAP_MS,
    titles: tuple[str, str] = ("Reference", "Candidate"),
    fade: float = 0.45,
) -> Any:
    """Two results' paths side by side; a matched pair of people in one colour.

    Parameters
    ----------
    reference, candidate : pandas.DataFrame
        Results of the same video.
    index_map : dict of int -> int
        Reference Index -> candidate Index (e.g. ``Comparison.index_map``).
    image : numpy.ndarray, optional
        A frame to draw under both.
    anchor : {"feet", "center"}, optional
        As in :func:`plot_paths`; by default ``feet``, or ``center`` when most of the
        reference's boxes reach the bottom of the frame (people cut by it show no feet).
    max_gap_ms, fade
        As in :func:`plot_paths`.
    titles : (str, str)
        Panel titles.

    Returns
    -------
    matplotlib.figure.Figure
        People without a match are grey and dashed; each path is labelled with its own
        Index at its end, and the legend pairs reference and candidate Index values.
    """
    aspect = 9 / 16 if image is None else image.shape[0] / image.shape[1]
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.9 * aspect + 0.7), layout="constrained")
    if anchor is None:
        ref = validate_frame(reference, fill_missing=True)
        cut = ((ref["Top"] + ref["Height"]) >= 0.98).mean() > 0.5 if len(ref) else False
        anchor = "center" if cut else "feet"
    # tab20's strong colours first, then its light ones: neighbours differ in hue
    order = np.r_[np.arange(0, 20, 2), np.arange(1, 20, 2)]
    palette = [tuple(c) for c in plt.get_cmap("tab20")(order)]
    ref_colour = {int(r): palette[k % len(palette)] for k, r in enumerate(sorted(index_map))}
    cand_of = {int(c): int(r) for r, c in index_map.items()}
    for ax, df, own, title in (
        (axes[0], reference, lambda i: i if i in ref_colour else None, titles[0]),
        (axes[1], candidate, lambda i: cand_of.get(i), titles[1]),
    ):
        sx, sy = _backdrop(ax, image, fade)
        pts = _tracks(validate_frame(df, fill_missing=True), anchor, None, max_gap_ms)
        matched = 0
        for index, track in pts.groupby("Index", sort=True):
            ref = own(int(index))
            colour = ref_colour[ref] if ref is not None else "#8a8a8a"
            matched += ref is not None
            label = "_nolegend_"
            if ref is not None:
                label = f"{ref} \u2194 {index_map[ref]}"
            for _, seg in track.groupby("Segment", sort=True):
                x, y = seg["X"].to_numpy() * sx, seg["Y"].to_numpy() * sy
                ax.plot(
                    x, y, "-" if ref is not None else "--", color=colour,
                    lw=2.4 if ref is not None else 1.4, path_effects=_OUTLINE, label=label,
                )  # fmt: skip
                label = "_nolegend_"
            x, y = track["X"].to_numpy() * sx, track["Y"].to_numpy() * sy
            ax.plot(x[0], y[0], "o", color=colour, ms=7, mec="white", mew=1.2, zorder=4)
            ax.annotate(
                str(int(index)), (x[-1], y[-1]), xytext=(5, -5), textcoords="offset points",
                color=colour, fontsize=8, fontweight="bold", path_effects=_TEXT_OUTLINE,
            )  # fmt: skip
        people = int(pts["Index"].nunique())
        ax.set_title(f"{title}: {_people(people)}, {matched} matched", loc="left", fontsize=11)
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:
        fig.legend(
            handles, labels, title="reference \u2194\ncandidate", fontsize=8,
            loc="outside right upper", ncols=1 + len(handles) // 24, framealpha=0.9,
        )  # fmt: skip
    return fig
