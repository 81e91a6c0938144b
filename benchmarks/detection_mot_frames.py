"""Person detection quality on MOT17 frames, and people per frame on a few real videos.

Recall and precision at IoU 0.5 against the MOT17 ground truth in
``../shared/data/mot-frames/`` (pedestrians: ``consider == 1`` and ``class == 1``; a box
matching a person on a vehicle, a static person, a distractor or a reflection — classes 2, 7,
8, 12 — counts neither as a hit nor as a false positive). Recall is also split by box height
and for people at least half visible. Prints markdown tables.

Run::

    .venv/bin/python benchmarks/detection_mot_frames.py                 # all presets
    .venv/bin/python benchmarks/detection_mot_frames.py --presets balanced --no-videos
    .venv/bin/python benchmarks/detection_mot_frames.py --no-mot --video-frames 40
    .venv/bin/python benchmarks/detection_mot_frames.py --set tile_overlap=0.33 --set min_support=3
    .venv/bin/python benchmarks/detection_mot_frames.py --set box_detector=efficientdet_lite0.tflite
"""

from __future__ import annotations

import argparse
import ast
import os
import time
from pathlib import Path

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment

from persontrack.geometry import box_iou
from persontrack.vision.detection import PersonDetector

IGNORED_CLASSES = (2, 7, 8, 12)
HEIGHT_BINS = (0, 50, 100, 200, 400, np.inf)
VIDEOS = (
    "face-demographics-walking.mp4",
    "flipping_a_pancake.mkv",
    "classroom.mp4",
    "pedestrian_survaillance.mp4",
)


def shared_dir() -> Path:
    env = os.environ.get("PERSONTRACK_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


def match(dets: np.ndarray, gts: np.ndarray, threshold: float = 0.5) -> tuple[np.ndarray, ...]:
    """One-to-one matching maximising IoU; pairs below ``threshold`` do not match."""
    det_hit = np.zeros(len(dets), bool)
    gt_hit = np.zeros(len(gts), bool)
    if len(dets) and len(gts):
        iou = box_iou(dets, gts)
        rows, cols = linear_sum_assignment(-iou)
        ok = iou[rows, cols] >= threshold
        det_hit[rows[ok]] = True
        gt_hit[cols[ok]] = True
    return det_hit, gt_hit


def load_frames(root: Path) -> list[tuple[Path, np.ndarray]]:
    """(image path, its gt rows) for every frame in ``mot-frames``."""
    frames = []
    for seq in sorted(p for p in root.iterdir() if p.is_dir()):
        gt = np.loadtxt(seq / "gt" / "gt.txt", delimiter=",").reshape(-1, 9)
        for img in sorted((seq / "img1").glob("*.jpg")):
            frames.append((img, gt[gt[:, 0] == int(img.stem)]))
    return frames


def xywh_to_xyxy(rows: np.ndarray) -> np.ndarray:
    return np.column_stack(
        [rows[:, 2], rows[:, 3], rows[:, 2] + rows[:, 4], rows[:, 3] + rows[:, 5]]
    )


def score_frame(dets: np.ndarray, gt: np.ndarray) -> dict[str, np.ndarray | int]:
    positive = (gt[:, 6] == 1) & (gt[:, 7] == 1)
    ignored = ~positive & (np.isin(gt[:, 7], IGNORED_CLASSES) | (gt[:, 7] == 1))
    det_hit, gt_hit = match(dets, xywh_to_xyxy(gt[positive]))
    rest = dets[~det_hit]
    ignored_hit, _ = match(rest, xywh_to_xyxy(gt[ignored]))
    return {
        "tp": int(det_hit.sum()),
        "fp": int((~ignored_hit).sum()),
        "gt_hit": gt_hit,
        "height": gt[positive, 5],
        "visibility": gt[positive, 8],
    }


def evaluate(detector: PersonDetector, frames: list[tuple[Path, np.ndarray]]) -> dict[str, float]:
    tp = fp = 0
    hits, heights, vis, times = [], [], [], []
    for path, gt in frames:
        image = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        t0 = time.perf_counter()
        dets = detector.detect(image)
        times.append(time.perf_counter() - t0)
        s = score_frame(dets.xyxy, gt)
        tp += s["tp"]  # type: ignore[assignment]
        fp += s["fp"]  # type: ignore[assignment]
        hits.append(s["gt_hit"])
        heights.append(s["height"])
        vis.append(s["visibility"])
    hit, height, visible = np.concatenate(hits), np.concatenate(heights), np.concatenate(vis)
    out = {
        "recall": tp / max(len(hit), 1),
        "precision": tp / max(tp + fp, 1),
        "tp": tp,
        "fp": fp,
        "gt": len(hit),
        "recall_vis50": float(hit[visible >= 0.5].mean()),
        "ms": 1000 * float(np.mean(times)),
    }
    for lo, hi in zip(HEIGHT_BINS[:-1], HEIGHT_BINS[1:], strict=True):
        sel = (height >= lo) & (height < hi)
        out[f"h{lo}"] = float(hit[sel].mean()) if sel.any() else float("nan")
        out[f"n{lo}"] = int(sel.sum())
    return out


def people_per_frame(
    detector: PersonDetector, video: Path, max_frames: int
) -> tuple[int, np.ndarray, float]:
    cap = cv2.VideoCapture(str(video))
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or max_frames
    step = max(1, total // max_frames)
    counts, times, i = [], [], 0
    while len(counts) < max_frames:
        ok, frame = cap.read()
        if not ok:
            break
        if i % step == 0:
            image = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            t0 = time.perf_counter()
            counts.append(len(detector.detect(image)))
            times.append(time.perf_counter() - t0)
        i += 1
    cap.release()
    return total, np.array(counts), 1000 * float(np.mean(times)) if times else float("nan")


def parse_overrides(items: list[str]) -> dict[str, object]:
    out = {}
    for item in items:
        key, _, value = item.partition("=")
        try:
            out[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key] = value  # a plain string, e.g. box_detector=/path/efficientdet.tflite
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", default="fast,balanced,thorough")
    parser.add_argument("--data", type=Path, default=shared_dir())
    parser.add_argument("--set", action="append", default=[], help="override, e.g. min_support=3")
    parser.add_argument("--no-videos", action="store_true")
    parser.add_argument("--no-mot", action="store_true", help="only the videos table")
    parser.add_argument("--video-frames", type=int, default=12, help="frames sampled per video")
    args = parser.parse_args()
    overrides = parse_overrides(args.set)
    frames = load_frames(args.data / "mot-frames")
    presets = args.presets.split(",")

    if not args.no_mot:
        bins = [f"{lo:g}-{hi:g}" for lo, hi in zip(HEIGHT_BINS[:-1], HEIGHT_BINS[1:], strict=True)]
        print(
            f"MOT17 mot-frames: {len(frames)} frames, IoU 0.5"
            + (f", {overrides}" if overrides else "")
        )
        print()
        head = ["preset", "recall", "precision", "TP", "FP", "GT", *[f"R h{b}" for b in bins]]
        print("| " + " | ".join([*head, "R vis>=0.5", "ms/frame"]) + " |")
        print("|" + "---|" * (len(head) + 2))
        results = {}
        for preset in presets:
            with PersonDetector(preset, **overrides) as detector:
                r = evaluate(detector, frames)
            results[preset] = r
            cells = [
                preset,
                f"{r['recall']:.3f}",
                f"{r['precision']:.3f}",
                str(r["tp"]),
                str(r["fp"]),
                str(r["gt"]),
                *[f"{r[f'h{lo}']:.2f} (n={r[f'n{lo}']})" for lo in HEIGHT_BINS[:-1]],
                f"{r['recall_vis50']:.3f}",
                f"{r['ms']:.0f}",
            ]
            print("| " + " | ".join(cells) + " |", flush=True)

    if args.no_videos:
        return
    print()
    print(f"People per frame ({args.video_frames} frames sampled evenly per video)")
    print()
    print(
        "| preset | video | size | people per frame (min / mean / max) | frames with 0 | ms/frame |"
    )
    print("|---|---|---|---|---|---|")
    for preset in presets:
        with PersonDetector(preset, **overrides) as detector:
            for name in VIDEOS:
                path = args.data / "videos" / name
                if not path.is_file():
                    continue
                cap = cv2.VideoCapture(str(path))
                w, h = cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT)
                size = f"{int(w)}x{int(h)}"
                cap.release()
                _, counts, ms = people_per_frame(detector, path, args.video_frames)
                print(
                    f"| {preset} | {name} | {size} | {counts.min()} / {counts.mean():.1f} / "
                    f"{counts.max()} | {int((counts == 0).sum())} of {len(counts)} | {ms:.0f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
