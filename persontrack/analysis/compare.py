"""How two sets of results of one video differ: an archived Rekognition response and persontrack's.

:func:`compare_results` takes the reference (an archived ``GetPersonTracking`` response:
dict, list of pages, JSON file, or a results DataFrame) as ground truth and scores the
candidate (persontrack's result, or another response) against it:

- **Timestamps are aligned.** Each reference timestamp takes the candidate's nearest one
  within half a frame. Where the candidate did not sample that frame (its timestamps on
  both sides are further, and no more apart than its usual sampling step, the 75th
  percentile of its steps, times 1.5), each candidate person seen at both sides is placed
  by linear interpolation. Elsewhere the candidate has no boxes there (misses). So a
  reference sampled at other frames than the candidate (Rekognition kept about two frames
  in three) still compares, while a frame the candidate sampled and found empty counts
  as missed.
- **Who is who.** Each reference Index maps to the candidate Index that shares its boxes
  most: the Hungarian assignment over IoU summed over the aligned timestamps; a pair must
  also match (IoU >= ``threshold``) at one timestamp at least.
- **Scores**, the reference as ground truth: MOTA, IDF1 and HOTA as TrackEval computes them
  (:func:`persontrack.tracking.metrics.score_frames`), in percent.
- **Per person**, the drift of what users read off results: entries, first and last time,
  mean IoU, matched share, faces found in both, path offset and dwell; the people only in
  one of the two; and the drift of the people count, dwell and line-crossing counts.

Examples
--------
>>> import pandas as pd, persontrack as pt
>>> ref = pt.validate_frame(pd.DataFrame({"Timestamp": [0, 40, 80], "Index": [4, 4, 4],
...     "Left": [0.1, 0.2, 0.3], "Top": 0.2, "Width": 0.1, "Height": 0.5}), fill_missing=True)
>>> c = pt.compare_results(ref, ref.assign(Index=9))
>>> c.metrics["IDF1"], c.index_map
(100.0, {4: 9})
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from ..convert import RESPONSE_ATTR, response_to_dataframe
from ..errors import InvalidParameterException
from ..schema import BOX_COLUMNS, validate_frame
from ..tracking.metrics import iou_xywh, score_frames
from .analytics import (
    DEFAULT_MAX_GAP_MS,
    crossing_counts,
    people_present,
    trajectory_summary,
    zone_dwell,
)

__all__ = ["DEFAULT_LINES", "PEOPLE_COLUMNS", "Comparison", "compare_results", "load_results"]

DEFAULT_LINES: dict[str, list[tuple[float, float]]] = {
    "vertical_middle": [(0.5, 0.0), (0.5, 1.0)],
    "horizontal_middle": [(0.0, 0.5), (1.0, 0.5)],
}
"""Counting lines compared when none are given: the frame's two middle lines."""

PEOPLE_COLUMNS = (
    "ReferenceIndex", "CandidateIndex", "ReferenceEntries", "CandidateEntries",
    "ReferenceFirstMs", "ReferenceLastMs", "CandidateFirstMs", "CandidateLastMs", "MeanIoU",
    "MatchedShare", "ReferenceFaces", "CandidateFaces", "FacesBoth", "PathOffset",
    "ReferencePresentMs", "CandidatePresentMs",
)  # fmt: skip
"""Columns of :attr:`Comparison.people`."""

_INTERPOLATE_STEP_FACTOR = 1.5
"""A gap between the candidate's timestamps is a sampling gap (interpolated) when it is at
most this many times its usual step; longer gaps are frames it missed."""


def load_results(source: Any) -> pd.DataFrame:
    """Results from any stored form, as a validated DataFrame.

    Parameters
    ----------
    source : DataFrame, TrackingResult, dict, list of dict, or path
        A results DataFrame; a :class:`~persontrack.TrackingResult`; a GetPersonTracking
        response or its pages; or a JSON, CSV or Parquet file of results.

    Returns
    -------
    pandas.DataFrame
    """
    if isinstance(source, pd.DataFrame):
        return validate_frame(source, fill_missing=True)
    frame = getattr(source, "frame", None)
    if isinstance(frame, pd.DataFrame):  # a TrackingResult
        return validate_frame(frame, fill_missing=True)
    if isinstance(source, (str, os.PathLike)):
        from ..io.files import read_results

        if not Path(source).is_file():
            raise InvalidParameterException(f"no results file at {os.fspath(source)}")
        return read_results(source)
    if isinstance(source, (Mapping, Iterable)) and not isinstance(source, (bytes, str)):
        return response_to_dataframe(source)
    raise InvalidParameterException(
        "results must be a DataFrame, a TrackingResult, a GetPersonTracking response (or its "
        f"pages) or a results file, got {type(source).__name__}"
    )


@dataclass(frozen=True, eq=False)
class Comparison:
    """What :func:`compare_results` found.

    Attributes
    ----------
    metrics : dict
        ``IDF1, HOTA, MOTA, DetA, AssA, LocA, IDP, IDR`` (percent) and ``IDSW, TP, FN, FP``.
    index_map : dict of int -> int
        Reference Index -> candidate Index.
    people : pandas.DataFrame
        One row per reference person (see :func:`compare_results`).
    only_reference, only_candidate : list of int
        People (Index) with no counterpart in the other result.
    drift : dict
        People count, dwell and line-crossing counts of both.
    frames : dict
        Reference timestamps aligned to a candidate one (``near``), interpolated, or with no
        candidate boxes (``missing``); ``frame_ms``, the frame duration used.
    reference, candidate : pandas.DataFrame
        The two results (the candidate within the reference's time span).
    """

    metrics: dict[str, float]
    index_map: dict[int, int]
    people: pd.DataFrame
    only_reference: list[int]
    only_candidate: list[int]
    drift: dict[str, Any]
    frames: dict[str, float]
    reference: pd.DataFrame = field(repr=False)
    candidate: pd.DataFrame = field(repr=False)

    def summary(self) -> dict[str, Any]:
        """Everything as plain JSON values (what ``persontrack compare`` prints)."""
        people = json.loads(self.people.to_json(orient="records"))
        return {
            **{k: _plain(v) for k, v in self.metrics.items()},
            "index_map": {str(k): v for k, v in self.index_map.items()},
            "only_reference": self.only_reference,
            "only_candidate": self.only_candidate,
            "frames": self.frames,
            "drift": self.drift,
            "people": people,
        }

    def plot(self, image: np.ndarray | None = None, **kwargs: Any) -> Any:
        """Both sets of paths side by side, matched people in one colour (a Figure).

        Keyword arguments go to :func:`persontrack.analysis.plot.plot_comparison`.
        """
        from .plot import plot_comparison

        return plot_comparison(
            self.reference, self.candidate, self.index_map, image=image, **kwargs
        )


def _plain(v: Any) -> Any:
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return round(float(v), 4)
    return v


def _frame_ms(ref: pd.DataFrame, cand: pd.DataFrame, frame_rate: float | None) -> float:
    if frame_rate is not None:
        if isinstance(frame_rate, bool) or not isinstance(frame_rate, (int, float)):
            raise InvalidParameterException(f"frame_rate must be a number, got {frame_rate!r}")
        if not 0 < frame_rate < 1000:
            raise InvalidParameterException(f"frame_rate must be in (0, 1000), got {frame_rate}")
        return 1000.0 / float(frame_rate)
    for df in (ref, cand):
        fps = df.attrs.get(RESPONSE_ATTR, {}).get("VideoMetadata", {}).get("FrameRate")
        if isinstance(fps, (int, float)) and 0 < fps < 1000:
            return 1000.0 / float(fps)
    steps = np.concatenate([np.diff(np.unique(d["Timestamp"].to_numpy())) for d in (ref, cand)])
    steps = steps[steps > 0]
    return float(steps.min()) if len(steps) else 1000.0 / 30


def _with_boxes(df: pd.DataFrame) -> pd.DataFrame:
    ok = df[list(BOX_COLUMNS)].notna().all(axis=1)
    cols = ["Timestamp", "Index", *BOX_COLUMNS, "FaceLeft"]
    out = df.loc[ok, cols].drop_duplicates(["Timestamp", "Index"])
    return out.sort_values(["Timestamp", "Index"], kind="mergesort", ignore_index=True)


@dataclass
class _Aligned:
    """Per reference timestamp: reference and candidate ids, boxes and faces."""

    times: list[float] = field(default_factory=list)
    ref: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)
    cand: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)
    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(("near", "interpolated", "missing"), 0)
    )


def _groups(df: pd.DataFrame) -> dict[float, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    ids = df["Index"].to_numpy(dtype=np.int64)
    boxes = df[list(BOX_COLUMNS)].to_numpy(dtype=float)
    faces = df["FaceLeft"].notna().to_numpy()
    t = df["Timestamp"].to_numpy()
    if not len(t):
        return {}
    cuts = np.flatnonzero(np.r_[True, t[1:] != t[:-1], True])
    return {
        float(t[a]): (ids[a:b], boxes[a:b], faces[a:b])
        for a, b in zip(cuts[:-1], cuts[1:], strict=True)
    }


def _align(ref: pd.DataFrame, cand: pd.DataFrame, frame_ms: float) -> _Aligned:
    ref_g, cand_g = _groups(ref), _groups(cand)
    cand_t = np.array(sorted(cand_g))
    steps = np.diff(cand_t)
    usual = float(np.percentile(steps, 75)) if len(steps) else 0.0
    empty = (np.zeros(0, np.int64), np.zeros((0, 4)), np.zeros(0, bool))
    out = _Aligned()
    for t in sorted(ref_g):
        out.times.append(t)
        out.ref.append(ref_g[t])
        j = int(np.searchsorted(cand_t, t))
        near = [k for k in (j - 1, j) if 0 <= k < len(cand_t)]
        best = min(near, key=lambda k: abs(cand_t[k] - t)) if near else None
        if best is not None and abs(cand_t[best] - t) <= frame_ms / 2 + 1e-6:
            out.cand.append(cand_g[float(cand_t[best])])
            out.counts["near"] += 1
            continue
        if 0 < j < len(cand_t) and cand_t[j] - cand_t[j - 1] <= usual * _INTERPOLATE_STEP_FACTOR:
            a, b = cand_g[float(cand_t[j - 1])], cand_g[float(cand_t[j])]
            u = (t - cand_t[j - 1]) / (cand_t[j] - cand_t[j - 1])
            both, ia, ib = np.intersect1d(a[0], b[0], return_indices=True)
            boxes = (1 - u) * a[1][ia] + u * b[1][ib]
            out.cand.append((both, boxes, a[2][ia] & b[2][ib]))
            out.counts["interpolated" if len(both) else "missing"] += 1
            continue
        out.cand.append(empty)
        out.counts["missing"] += 1
    return out


def _index_map(aligned: _Aligned, threshold: float) -> tuple[dict[int, int], list]:
    ref_ids = np.unique(np.concatenate([r[0] for r in aligned.ref] or [np.zeros(0, np.int64)]))
    cand_ids = np.unique(np.concatenate([c[0] for c in aligned.cand] or [np.zeros(0, np.int64)]))
    r_of = {int(v): i for i, v in enumerate(ref_ids)}
    c_of = {int(v): i for i, v in enumerate(cand_ids)}
    shared = np.zeros((len(ref_ids), len(cand_ids)))
    hits = np.zeros_like(shared)
    frames = []
    for (rid, rbox, _), (cid, cbox, _) in zip(aligned.ref, aligned.cand, strict=True):
        iou = iou_xywh(rbox, cbox)
        frames.append((rid, cid, iou))
        if len(rid) and len(cid):
            ri = [r_of[int(v)] for v in rid]
            ci = [c_of[int(v)] for v in cid]
            shared[np.ix_(ri, ci)] += iou
            hits[np.ix_(ri, ci)] += iou >= threshold
    mapping: dict[int, int] = {}
    if shared.size:
        rows, cols = linear_sum_assignment(-shared)
        for r, c in zip(rows, cols, strict=True):
            if hits[r, c] > 0:
                mapping[int(ref_ids[r])] = int(cand_ids[c])
    return dict(sorted(mapping.items())), frames


def _per_person(
    aligned: _Aligned,
    mapping: dict[int, int],
    ref: pd.DataFrame,
    cand: pd.DataFrame,
    threshold: float,
    anchor: str,
    max_gap_ms: float,
) -> pd.DataFrame:
    stats: dict[int, dict[str, float]] = {}
    for (rid, rbox, rface), (cid, cbox, cface) in zip(aligned.ref, aligned.cand, strict=True):
        where = {int(v): k for k, v in enumerate(cid)}
        for k, r in enumerate(rid.tolist()):
            s = stats.setdefault(
                r, {"n": 0, "both": 0, "iou": 0.0, "hit": 0, "faces": 0, "off": 0.0}
            )
            s["n"] += 1
            c = mapping.get(r)
            if c is None or c not in where:
                continue
            m = where[c]
            iou = float(iou_xywh(rbox[k], cbox[m])[0, 0])
            s["both"] += 1
            s["iou"] += iou
            s["hit"] += iou >= threshold
            s["faces"] += bool(rface[k] and cface[m])
            s["off"] += float(np.hypot(*(_anchor(rbox[k], anchor) - _anchor(cbox[m], anchor))))
    summ_r = trajectory_summary(ref, anchor=anchor, max_gap_ms=max_gap_ms).set_index("Index")
    summ_c = trajectory_summary(cand, anchor=anchor, max_gap_ms=max_gap_ms).set_index("Index")
    rows = []
    for r in sorted(summ_r.index.astype(int)):
        s = stats.get(r, {"n": 0, "both": 0, "iou": 0.0, "hit": 0, "faces": 0, "off": 0.0})
        c = mapping.get(r)
        has_c = c is not None and c in summ_c.index
        sr = summ_r.loc[r]
        sc = summ_c.loc[c] if has_c else None
        both = s["both"]
        rows.append(
            {
                "ReferenceIndex": r,
                "CandidateIndex": c if has_c else None,
                "ReferenceEntries": int(sr["Detections"]),
                "CandidateEntries": int(sc["Detections"]) if sc is not None else 0,
                "ReferenceFirstMs": int(sr["FirstSeenMs"]),
                "ReferenceLastMs": int(sr["LastSeenMs"]),
                "CandidateFirstMs": int(sc["FirstSeenMs"]) if sc is not None else None,
                "CandidateLastMs": int(sc["LastSeenMs"]) if sc is not None else None,
                "MeanIoU": s["iou"] / both if both else 0.0,
                "MatchedShare": s["hit"] / s["n"] if s["n"] else 0.0,
                "ReferenceFaces": int(sr["FacesSeen"]),
                "CandidateFaces": int(sc["FacesSeen"]) if sc is not None else 0,
                "FacesBoth": int(s["faces"]),
                "PathOffset": s["off"] / both if both else float("nan"),
                "ReferencePresentMs": int(sr["PresentMs"]),
                "CandidatePresentMs": int(sc["PresentMs"]) if sc is not None else 0,
            }
        )
    out = pd.DataFrame(rows, columns=PEOPLE_COLUMNS)
    nullable = {c: "Int64" for c in ("CandidateIndex", "CandidateFirstMs", "CandidateLastMs")}
    return out.astype(nullable)


def _anchor(box: np.ndarray, anchor: str) -> np.ndarray:
    x, y, w, h = box
    return np.array([x + w / 2, y + (h if anchor == "feet" else h / 2)])


def _drift(
    ref: pd.DataFrame,
    cand: pd.DataFrame,
    people: pd.DataFrame,
    lines: Mapping[str, Sequence[tuple[float, float]]],
    zones: Mapping[str, Sequence[tuple[float, float]]] | None,
    anchor: str,
    max_gap_ms: float,
) -> dict[str, Any]:
    pr = people_present(ref, zones=zones, anchor=anchor)
    pc = people_present(cand, zones=zones, anchor=anchor)
    bins = pr.merge(pc, on="Timestamp", how="left", suffixes=("_r", "_c")).fillna(0)
    matched = people[people["CandidateIndex"].notna()] if len(people) else people
    dwell = (matched["CandidatePresentMs"] - matched["ReferencePresentMs"]).abs()
    out: dict[str, Any] = {
        "people": {
            "reference": int(ref["Index"].nunique()),
            "candidate": int(cand["Index"].nunique()),
        },
        "people_per_second_mean_abs_difference": round(
            float((bins["People_r"] - bins["People_c"]).abs().mean()) if len(bins) else 0.0, 4
        ),
        "dwell_ms": {
            "reference_total": int(people["ReferencePresentMs"].sum()) if len(people) else 0,
            "candidate_total": int(
                trajectory_summary(cand, max_gap_ms=max_gap_ms)["PresentMs"].sum()
            ),
            "matched_mean_abs_difference": round(float(dwell.mean()), 1) if len(dwell) else 0.0,
            "matched_max_abs_difference": int(dwell.max()) if len(dwell) else 0,
        },
    }
    kw: dict[str, Any] = {"anchor": anchor, "max_gap_ms": max_gap_ms}
    cr = crossing_counts(ref, lines, **kw).set_index("Line")
    cc = crossing_counts(cand, lines, **kw).set_index("Line")
    out["lines"] = {
        name: {
            side: {k: int(tab.loc[name, k]) for k in ("Forward", "Backward", "Total")}
            for side, tab in (("reference", cr), ("candidate", cc))
        }
        for name in cr.index
    }
    if zones:
        zr = zone_dwell(ref, zones, **kw).groupby("Zone")["DwellMs"].sum()
        zc = zone_dwell(cand, zones, **kw).groupby("Zone")["DwellMs"].sum()
        out["zones_dwell_ms"] = {
            str(z): {"reference": int(zr.get(z, 0)), "candidate": int(zc.get(z, 0))} for z in zones
        }
    return out


def compare_results(
    reference: Any,
    candidate: Any,
    *,
    threshold: float = 0.5,
    lines: Mapping[str, Sequence[tuple[float, float]]] | None = None,
    zones: Mapping[str, Sequence[tuple[float, float]]] | None = None,
    anchor: str = "feet",
    frame_rate: float | None = None,
    max_gap_ms: float = DEFAULT_MAX_GAP_MS,
) -> Comparison:
    """Compare a candidate result with a reference (ground truth) of the same video.

    Parameters
    ----------
    reference : dict, list of dict, path, DataFrame or TrackingResult
        The archived GetPersonTracking response (one response, its pages, or a JSON file of
        either), or any results (see :func:`load_results`).
    candidate : same kinds
        persontrack's result (or another response).
    threshold : float, default 0.5
        IoU that makes two boxes a match (MOTA, IDF1, matched share).
    lines : dict of name -> ((x, y), (x, y)), optional
        Counting lines (frame units) whose crossing counts are compared; default
        :data:`DEFAULT_LINES`.
    zones : dict of name -> polygon, optional
        Zones whose dwell totals and people counts are compared too.
    anchor : {"feet", "center"}, default "feet"
        Point of the box for paths, dwell and crossings.
    frame_rate : float, optional
        Frames per second; default the reference's VideoMetadata.FrameRate, else the
        candidate's, else the shortest step between timestamps.
    max_gap_ms : float
        As in :func:`persontrack.analysis.analytics.trajectory_summary`.

    Returns
    -------
    Comparison
        ``people`` has one row per reference Index: ReferenceIndex, CandidateIndex (<NA>
        without a match), ReferenceEntries, CandidateEntries, Reference/CandidateFirstMs and
        LastMs, MeanIoU (over the timestamps where both are seen), MatchedShare (share of the
        reference person's timestamps where the match's box has IoU >= threshold),
        ReferenceFaces, CandidateFaces, FacesBoth (timestamps with a face in both),
        PathOffset (mean distance between the two anchor points, frame units),
        Reference/CandidatePresentMs (dwell in the video).
    """
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
        raise InvalidParameterException(f"threshold must be a number, got {threshold!r}")
    if not 0 < threshold <= 1:
        raise InvalidParameterException(f"threshold must be in (0, 1], got {threshold}")
    ref_all, cand_all = load_results(reference), load_results(candidate)
    frame_ms = _frame_ms(ref_all, cand_all, frame_rate)
    ref = _with_boxes(ref_all)
    # the candidate within the reference's time span (an archive may hold part of a video)
    cand_v = cand_all[cand_all["Timestamp"].between(*_span(ref, frame_ms))]
    cand_v = validate_frame(cand_v.reset_index(drop=True), fill_missing=True)
    ref_v = ref_all
    aligned = _align(ref, _with_boxes(cand_all), frame_ms)  # its frames just outside too
    mapping, frames = _index_map(aligned, threshold)
    scores = score_frames(frames, threshold)
    keys = ("IDF1", "HOTA", "MOTA", "DetA", "AssA", "LocA", "IDP", "IDR", "IDSW", "TP", "FN", "FP")
    metrics = {k: scores[k] for k in keys}
    people = _per_person(aligned, mapping, ref_v, cand_v, threshold, anchor, max_gap_ms)
    drift = _drift(
        ref_v, cand_v, people, DEFAULT_LINES if lines is None else lines, zones, anchor, max_gap_ms
    )
    all_cand = sorted(int(v) for v in cand_v["Index"].unique())
    return Comparison(
        metrics=metrics,
        index_map=mapping,
        people=people,
        only_reference=sorted(int(v) for v in ref_v["Index"].unique() if int(v) not in mapping),
        only_candidate=[c for c in all_cand if c not in set(mapping.values())],
        drift=drift,
        frames={**aligned.counts, "frame_ms": round(frame_ms, 3)},
        reference=ref_v,
        candidate=cand_v,
    )


def _span(ref: pd.DataFrame, frame_ms: float) -> tuple[float, float]:
    if not len(ref):
        return (-np.inf, np.inf)
    return ref["Timestamp"].min() - frame_ms / 2, ref["Timestamp"].max() + frame_ms / 2
