"""Tracking in time segments, stitched, against tracking whole, on five MOT17 sequences.

The jobs API tracks a long video as segments of ``--segment`` seconds, each starting
``--overlap`` seconds early, and stitches them (``persontrack.tracking.stitch``). This
script does the same with the public Faster R-CNN detections of the MOT17 training
sequences in ``../shared/data/mot`` (no video needed: the tracker runs on ``det/det.txt``
with ``track_mot_detections``, post-processing on, per segment as the pipeline does) and
prints IDF1, MOTA, ID switches and ID count for both ways, per sequence and combined::

    PYTHONPATH=. .venv/bin/python benchmarks/segments_mot17.py [--segment 10] [--overlap 2]

Stitching is invisible when the two rows agree (the issue asks for IDF1 within 1.0).
"""

from __future__ import annotations

import argparse
import configparser
from pathlib import Path

import numpy as np
import pandas as pd
from _shared import shared_data

from persontrack.io.mot import read_mot_detections, read_mot_ground_truth
from persontrack.segments import plan_segments
from persontrack.tracking._mot_metrics import score_mot
from persontrack.tracking.mot import track_mot_detections
from persontrack.tracking.stitch import MIN_OVERLAP_SCORE, Stitcher

SHARED = shared_data()


def segmented(
    det: pd.DataFrame, fps: float, seconds: float, overlap: float, min_score: float
) -> pd.DataFrame:
    """MOT tracks of ``det`` tracked segment by segment, then stitched."""
    last = int(det["frame"].max())
    stitcher = Stitcher(min_score=min_score)
    out = []
    for seg in plan_segments(last / fps, segment_seconds=seconds, overlap_seconds=overlap):
        ms = (det["frame"] - 1) * 1000.0 / fps
        part = det[(ms >= seg.warmup_ms) & ((ms < seg.end_ms) if seg.end_ms is not None else True)]
        tracks = track_mot_detections(part, frame_rate=fps)
        rows = pd.DataFrame(
            {
                "Timestamp": np.round((tracks["frame"] - 1) * 1000.0 / fps).astype("int64"),
                "Index": tracks["id"].to_numpy(),
                "Left": tracks["x"], "Top": tracks["y"],
                "Width": tracks["w"], "Height": tracks["h"],
                "frame": tracks["frame"],
            }
        )  # fmt: skip
        start = 0 if seg.number == 0 else int(np.ceil(seg.start_ms))
        end = None if seg.end_ms is None else int(np.ceil(seg.end_ms))
        out.append(stitcher.add(rows, start_ms=start, end_ms=end))
    both = pd.concat(out, ignore_index=True)
    return pd.DataFrame(
        {"frame": both["frame"], "id": both["Index"], "x": both["Left"], "y": both["Top"],
         "w": both["Width"], "h": both["Height"]}
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--segment", type=float, default=10.0, help="seconds per segment")
    parser.add_argument("--overlap", type=float, default=2.0, help="seconds of overlap")
    parser.add_argument("--min-score", type=float, default=MIN_OVERLAP_SCORE)
    parser.add_argument("--data", type=Path, default=SHARED / "mot")
    args = parser.parse_args()
    totals = {"whole": np.zeros(4), "segments": np.zeros(4)}
    print(f"segments of {args.segment:g} s, overlap {args.overlap:g} s\n")
    print("| sequence | s | segments | IDF1 whole | IDF1 segments | MOTA whole | MOTA segments "
          "| IDSW whole | IDSW segments | IDs whole | IDs segments |")  # fmt: skip
    print("|---" * 11 + "|")
    for seq in sorted(p for p in args.data.iterdir() if (p / "det" / "det.txt").is_file()):
        info = configparser.ConfigParser()
        info.read(seq / "seqinfo.ini")
        fps = float(info["Sequence"]["frameRate"])
        det = read_mot_detections(seq / "det" / "det.txt")
        gt = read_mot_ground_truth(seq / "gt" / "gt.txt")
        runs = {
            "whole": track_mot_detections(det, frame_rate=fps),
            "segments": segmented(det, fps, args.segment, args.overlap, args.min_score),
        }
        scores = {k: score_mot(gt, v) for k, v in runs.items()}
        for k, r in scores.items():
            totals[k] += [r["IDTP"], r["TP"], r["FN"], r["FP"]]
        n = len(plan_segments(det["frame"].max() / fps, segment_seconds=args.segment,
                              overlap_seconds=args.overlap))  # fmt: skip
        w, s = scores["whole"], scores["segments"]
        print(f"| {seq.name} | {det['frame'].max() / fps:.0f} | {n} | {w['IDF1']:.2f} | "
              f"{s['IDF1']:.2f} | {w['MOTA']:.2f} | {s['MOTA']:.2f} | {w['IDSW']} | "
              f"{s['IDSW']} | {w['IDs']} | {s['IDs']} |")  # fmt: skip
    idf1 = {k: 100 * 2 * t[0] / (2 * t[1] + t[2] + t[3]) for k, t in totals.items()}
    print(f"\ncombined IDF1: whole {idf1['whole']:.2f}, segments {idf1['segments']:.2f} "
          f"(difference {idf1['segments'] - idf1['whole']:+.2f})")  # fmt: skip


if __name__ == "__main__":
    main()
