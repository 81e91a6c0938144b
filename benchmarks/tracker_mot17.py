"""Compare persontrack's Tracker with peer trackers on five MOT17 sequences.

Every tracker gets the same public Faster R-CNN detections (``det/det.txt``) of the five
sequences in ``../shared/data/mot`` frame by frame; its output is scored with TrackEval
(HOTA, MOTA, IDF1, IDSW; MOT17 preprocessing) per sequence and combined, and the script
prints one markdown table. ``frames/s`` is frames divided by the CPU time
(``time.process_time``) spent inside the trackers' ``update`` calls only: reading files and
building inputs are not timed, and CPU time keeps the figure steady when other work shares
the machine.

``persontrack Tracker()`` is the online tracker alone; ``… + postprocess`` is what
``track_mot_detections`` returns by default: the same run, then each track keeps its
detections from before it was confirmed, fragments are linked, gaps interpolated and
boxes smoothed (``persontrack.tracking.postprocess``). Its ``frames/s`` is still that of the
online update; the CPU time of the post-processing is in its own column (``offline s``,
all five sequences).

Peers: roboflow ``trackers`` (SORT, ByteTrack, OC-SORT, BoT-SORT without camera motion
compensation, which needs images) and ``norfair`` (IoU distance), all with default settings.

The peers and TrackEval need numpy 2 and so live in their own venv (see
benchmarks/README.md)::

    python3 -m venv /tmp/pt-bench
    /tmp/pt-bench/bin/pip install -r benchmarks/requirements-trackers.txt
    /tmp/pt-bench/bin/pip install --no-deps norfair==2.1.1
    /tmp/pt-bench/bin/python benchmarks/tracker_mot17.py

persontrack itself runs in the product venv (``.venv``, numpy 1.26, as users run it) in a
subprocess started by this script (``--persontrack-python``).
"""

from __future__ import annotations

import argparse
import configparser
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "mot"
SEQUENCES = (
    "MOT17-02-FRCNN",
    "MOT17-04-FRCNN",
    "MOT17-09-FRCNN",
    "MOT17-10-FRCNN",
    "MOT17-13-FRCNN",
)
PEERS = ("sort", "bytetrack", "ocsort", "botsort", "norfair")
POST = "persontrack_post"
RAW = "raw"
NAMES = {
    "persontrack": "persontrack Tracker()",
    POST: "persontrack Tracker() + postprocess",
    "sort": "trackers SORT",
    "bytetrack": "trackers ByteTrack",
    "ocsort": "trackers OC-SORT",
    "botsort": "trackers BoT-SORT (no CMC)",
    "norfair": "norfair (IoU)",
    RAW: "raw boxes >= the tracker's birth_confidence, no tracking",
}


def load_sequence(seq_dir: Path) -> tuple[list[tuple[np.ndarray, np.ndarray]], float]:
    """Per-frame (xyxy, confidence) arrays for frames 1..seqLength, and the frame rate."""
    info = configparser.ConfigParser()
    info.read(seq_dir / "seqinfo.ini")
    n = int(info["Sequence"]["seqLength"])
    fps = float(info["Sequence"]["frameRate"])
    det = np.loadtxt(seq_dir / "det" / "det.txt", delimiter=",", ndmin=2)
    det = det[np.argsort(det[:, 0], kind="stable")]
    starts = np.searchsorted(det[:, 0], np.arange(1, n + 2))
    frames = []
    for f in range(n):
        d = det[starts[f] : starts[f + 1]]
        xyxy = np.column_stack([d[:, 2], d[:, 3], d[:, 2] + d[:, 4], d[:, 3] + d[:, 5]])
        frames.append((xyxy, np.clip(d[:, 6], 0.0, 1.0)))
    return frames, fps


def write_rows(rows: list[tuple], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        for frame, tid, x1, y1, x2, y2, conf in rows:
            f.write(
                f"{frame},{tid},{x1:.2f},{y1:.2f},{x2 - x1:.2f},{y2 - y1:.2f},{conf:.3f},-1,-1,-1\n"
            )


def run_persontrack(
    frames, fps: float, settings: dict | None = None
) -> tuple[list[tuple], float, list[tuple], float]:
    """Online rows and CPU seconds, then post-processed rows and their CPU seconds."""
    import pandas as pd

    from persontrack.tracking.postprocess import interpolate_tracks, link_tracks, smooth_tracks
    from persontrack.tracking.tracker import Tracker
    from persontrack.vision.detections import Detections

    tracker = Tracker(**(settings or {}))
    inputs = [Detections(xyxy, conf) for xyxy, conf in frames]
    rows: list[tuple] = []
    keyed: list[tuple] = []  # (key, frame, x1, y1, x2, y2, conf) of every tracked detection
    key_id: dict[int, int] = {}
    spent = 0.0
    for i, d in enumerate(inputs):
        t0 = time.process_time()
        ids = tracker.update(d, i * 1000.0 / fps)
        spent += time.process_time() - t0
        keys = tracker.last_keys
        for j in np.flatnonzero(ids >= 0):
            rows.append((i + 1, int(ids[j]) + 1, *d.xyxy[j], d.confidence[j]))
            key_id[int(keys[j])] = int(ids[j]) + 1
        for j in np.flatnonzero(keys >= 0):
            keyed.append((int(keys[j]), i + 1, *d.xyxy[j], d.confidence[j]))

    # As track_mot_detections(postprocess=True): a confirmed track keeps its tentative
    # detections, then fragments are linked, gaps filled and boxes smoothed.
    t0 = time.process_time()
    df = pd.DataFrame(
        [
            (f, key_id[k], x1, y1, x2 - x1, y2 - y1, c)
            for k, f, x1, y1, x2, y2, c in keyed
            if k in key_id
        ],
        columns=["frame", "id", "x", "y", "w", "h", "conf"],
    )
    df = smooth_tracks(interpolate_tracks(link_tracks(df, fps), fps), fps)
    post_spent = time.process_time() - t0
    post = [(r.frame, r.id, r.x, r.y, r.x + r.w, r.y + r.h, r.conf) for r in df.itertuples()]
    return rows, spent, post, post_spent


def run_raw(frames, settings: dict | None) -> tuple[list[tuple], float]:
    """Every box at or above the birth threshold, each its own id: what the detector
    alone finds (its recall and precision; identity figures are meaningless)."""
    birth = float((settings or {}).get("birth_confidence", 0.8))
    rows: list[tuple] = []
    for i, (xyxy, conf) in enumerate(frames):
        for box, c in zip(xyxy, conf, strict=True):
            if c >= birth:
                rows.append((i + 1, len(rows) + 1, *box, float(c)))
    return rows, 1e-9


def run_roboflow(name: str, frames, fps: float) -> tuple[list[tuple], float]:
    import supervision as sv
    import trackers

    if name == "sort":
        tracker = trackers.SORTTracker(frame_rate=fps)
    elif name == "bytetrack":
        tracker = trackers.ByteTrackTracker(frame_rate=fps)
    elif name == "ocsort":
        tracker = trackers.OCSORTTracker(frame_rate=fps)
    elif name == "botsort":
        tracker = trackers.BoTSORTTracker(frame_rate=fps, enable_cmc=False)
    else:
        raise ValueError(name)
    inputs = [
        sv.Detections(xyxy=xyxy, confidence=conf, class_id=np.zeros(len(conf), dtype=int))
        for xyxy, conf in frames
    ]
    rows: list[tuple] = []
    spent = 0.0
    for i, d in enumerate(inputs):
        t0 = time.process_time()
        out = tracker.update(d)
        spent += time.process_time() - t0
        if out.tracker_id is None:
            continue
        for box, tid, conf in zip(out.xyxy, out.tracker_id, out.confidence, strict=True):
            if tid >= 0:
                rows.append((i + 1, int(tid) + 1, *box, float(conf)))
    return rows, spent


def run_norfair(frames, fps: float) -> tuple[list[tuple], float]:
    from norfair import Detection, Tracker

    tracker = Tracker(distance_function="iou", distance_threshold=0.7)
    inputs = [
        [
            Detection(points=b.reshape(2, 2), scores=np.array([c, c]))
            for b, c in zip(xyxy, conf, strict=True)
        ]
        for xyxy, conf in frames
    ]
    rows: list[tuple] = []
    spent = 0.0
    for i, d in enumerate(inputs):
        t0 = time.process_time()
        objs = tracker.update(detections=d)
        spent += time.process_time() - t0
        for o in objs:
            (x1, y1), (x2, y2) = o.estimate
            rows.append((i + 1, int(o.id), x1, y1, x2, y2, 1.0))
    return rows, spent


def emit(tracker: str, data: Path, out: Path, settings: dict | None = None) -> None:
    """Run one tracker on every sequence; write MOT files and timing to ``out``."""
    timing = {}
    post_timing = {}
    for seq in SEQUENCES:
        frames, fps = load_sequence(data / seq)
        if tracker == "persontrack":
            rows, spent, post, post_spent = run_persontrack(frames, fps, settings)
            write_rows(post, out / POST / "data" / f"{seq}.txt")
            post_timing[seq] = {"frames": len(frames), "seconds": spent, "offline": post_spent}
        elif tracker == RAW:
            rows, spent = run_raw(frames, settings)
            rows, spent = run_norfair(frames, fps)
        else:
            rows, spent = run_roboflow(tracker, frames, fps)
        write_rows(rows, out / tracker / "data" / f"{seq}.txt")
        timing[seq] = {"frames": len(frames), "seconds": spent}
        print(f"  {tracker:12s} {seq}  {len(frames) / spent:8.0f} frames/s", file=sys.stderr)
    (out / tracker / "timing.json").write_text(json.dumps(timing))
    if post_timing:
        (out / POST / "timing.json").write_text(json.dumps(post_timing))


def evaluate(trackers_run: list[str], data: Path, out: Path) -> dict:
    import trackeval

    eval_cfg = trackeval.Evaluator.get_default_eval_config()
    eval_cfg.update(
        {
            "PRINT_RESULTS": False,
            "PRINT_CONFIG": False,
            "OUTPUT_SUMMARY": False,
            "OUTPUT_DETAILED": False,
            "PLOT_CURVES": False,
            "TIME_PROGRESS": False,
            "USE_PARALLEL": False,
            "DISPLAY_LESS_PROGRESS": True,
        }
    )
    ds_cfg = trackeval.datasets.MotChallenge2DBox.get_default_dataset_config()
    ds_cfg.update(
        {
            "GT_FOLDER": str(data),
            "TRACKERS_FOLDER": str(out),
            "TRACKERS_TO_EVAL": trackers_run,
            "BENCHMARK": "MOT17",
            "SKIP_SPLIT_FOL": True,
            "SEQ_INFO": {s: None for s in SEQUENCES},
            "PRINT_CONFIG": False,
        }
    )
    evaluator = trackeval.Evaluator(eval_cfg)
    quiet = {"PRINT_CONFIG": False}
    metrics = [
        trackeval.metrics.HOTA(quiet),
        trackeval.metrics.CLEAR(quiet),
        trackeval.metrics.Identity(quiet),
    ]
    with contextlib.redirect_stdout(sys.stderr):  # TrackEval's progress, not the table
        res, _ = evaluator.evaluate([trackeval.datasets.MotChallenge2DBox(ds_cfg)], metrics)
    res = res["MotChallenge2DBox"]
    table: dict[str, dict] = {}
    for t in trackers_run:
        table[t] = {}
        for seq in (*SEQUENCES, "COMBINED_SEQ"):
            r = res[t][seq]["pedestrian"]
            table[t][seq] = {
                "HOTA": 100 * float(np.mean(r["HOTA"]["HOTA"])),
                "MOTA": 100 * float(r["CLEAR"]["MOTA"]),
                "IDF1": 100 * float(r["Identity"]["IDF1"]),
                "IDSW": int(r["CLEAR"]["IDSW"]),
                "DetA": 100 * float(np.mean(r["HOTA"]["DetA"])),
                "Re": 100 * float(r["CLEAR"]["CLR_Re"]),
                "Pr": 100 * float(r["CLEAR"]["CLR_Pr"]),
                "AssA": 100 * float(np.mean(r["HOTA"]["AssA"])),
            }
    return table


def markdown(table: dict, out: Path) -> str:
    short = [s[6:8] for s in SEQUENCES]
    head = (
        "| tracker | HOTA | IDF1 | MOTA | IDSW | recall | precision | frames/s | offline s | "
        + " | ".join(f"{s} HOTA/IDF1" for s in short)
        + " |"
    )
    lines = [head, "|" + "---|" * (9 + len(short))]
    for t, per in sorted(table.items(), key=lambda kv: -kv[1]["COMBINED_SEQ"]["HOTA"]):
        timing = json.loads((out / t / "timing.json").read_text())
        fps = sum(v["frames"] for v in timing.values()) / sum(v["seconds"] for v in timing.values())
        offline = sum(v.get("offline", 0.0) for v in timing.values())
        c = per["COMBINED_SEQ"]
        cells = [f"{per[s]['HOTA']:.1f} / {per[s]['IDF1']:.1f}" for s in SEQUENCES]
        lines.append(
            f"| {NAMES.get(t, t)} | {c['HOTA']:.1f} | {c['IDF1']:.1f} | {c['MOTA']:.1f} | "
            f"{c['IDSW']} | {c['Re']:.1f} | {c['Pr']:.1f} | {'–' if t == RAW else f'{fps:,.0f}'} | "
            f"{f'{offline:.2f}' if offline else '–'} | " + " | ".join(cells) + " |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of MOT17 sequences")
    ap.add_argument(
        "--trackers", default=",".join(("persontrack", *PEERS)), help="comma-separated subset"
    )
    ap.add_argument("--out", type=Path, default=None, help="keep MOT result files here")
    ap.add_argument(
        "--persontrack-python",
        default=str(REPO / ".venv" / "bin" / "python"),
        help="interpreter of the product venv that runs persontrack",
    )
    ap.add_argument(
        "--score-only", action="store_true", help="only score the result files already in --out"
    )
    ap.add_argument(
        "--tracker",
        default="{}",
        help="JSON settings for persontrack's Tracker over its defaults (an ablation)",
    )
    ap.add_argument("--emit", default=None, help=argparse.SUPPRESS)  # internal: one tracker
    args = ap.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="pt-mot17-"))
    if args.emit:
        sys.path.insert(0, str(REPO))
        emit(args.emit, args.data, out, json.loads(args.tracker))
        return
    names = [t.strip() for t in args.trackers.split(",") if t.strip()]
    for t in names:
        if args.score_only:
            continue
        if t == "persontrack":
            subprocess.run(
                [
                    args.persontrack_python,
                    __file__,
                    "--emit",
                    t,
                    "--data",
                    str(args.data),
                    "--out",
                    str(out),
                    "--tracker",
                    args.tracker,
                ],
                check=True,
                env={**os.environ, "PYTHONPATH": str(REPO)},
            )
        else:
            emit(t, args.data, out, json.loads(args.tracker))
    if "persontrack" in names:
        names.insert(names.index("persontrack") + 1, POST)
    table = evaluate(names, args.data, out)
    print(markdown(table, out))


if __name__ == "__main__":
    main()
