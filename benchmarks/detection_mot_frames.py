"""Person detection quality on MOT17 frames, and people per frame on a few real videos.

Recall and precision at IoU 0.5 against the MOT17 ground truth in
``../shared/data/mot-frames/`` (pedestrians: ``consider == 1`` and ``class == 1``; a box
matching a person on a vehicle, a static person, a distractor or a reflection — classes 2, 7,
8, 12 — counts neither as a hit nor as a false positive). Recall is also split by box height
and for people at least half visible. Prints markdown tables.

Boxes only (``PersonDetector.find_boxes``: landmarks are timed by pipeline_speed.py). With
``--calibration`` it also prints, per model, the precision of its boxes by raw score (the
table behind ``calibrated`` confidences, see persontrack.vision.box_models.SHIPPED) and
recall / precision at several raw score thresholds.

Run::

    .venv/bin/python benchmarks/detection_mot_frames.py                 # all presets
    .venv/bin/python benchmarks/detection_mot_frames.py --presets balanced --no-videos
    .venv/bin/python benchmarks/detection_mot_frames.py --no-mot --video-frames 40
    .venv/bin/python benchmarks/detection_mot_frames.py --set input_size=1088 --set min_score=0.25
    .venv/bin/python benchmarks/detection_mot_frames.py --set model=yolox.onnx --set min_score=.45
    .venv/bin/python benchmarks/detection_mot_frames.py --presets balanced --calibration --no-videos
"""

from __future__ import annotations

import argparse
import ast
import time
from pathlib import Path

import cv2
import numpy as np
from _shared import shared_data
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
        dets = detector.find_boxes(image)
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


def score_outcomes(
    detector: PersonDetector, frames: list[tuple[Path, np.ndarray]]
) -> tuple[np.ndarray, np.ndarray, int]:
    """Raw scores of all boxes, whether each is a pedestrian (1), a false one (0) or on an
    ignored person (-1), and the number of pedestrians."""
    scores, outcome, n_gt = [], [], 0
    for path, gt in frames:
        image = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        dets = detector.find_boxes(image)
        positive = (gt[:, 6] == 1) & (gt[:, 7] == 1)
        ignored = ~positive & (np.isin(gt[:, 7], IGNORED_CLASSES) | (gt[:, 7] == 1))
        det_hit, _ = match(dets.xyxy, xywh_to_xyxy(gt[positive]))
        ignored_hit = np.zeros(len(dets), bool)
        ignored_hit[~det_hit] = match(dets.xyxy[~det_hit], xywh_to_xyxy(gt[ignored]))[0]
        scores.append(dets.confidence)
        outcome.append(np.where(det_hit, 1, np.where(ignored_hit, -1, 0)))
        n_gt += int(positive.sum())
    return np.concatenate(scores), np.concatenate(outcome), n_gt


def calibration_table(scores: np.ndarray, outcome: np.ndarray) -> list[tuple[float, float]]:
    """Precision by raw score: isotonic (pool adjacent violators) fit of hit-or-not on score,
    read at the median score of each of 8 equal-count bins."""
    keep = outcome >= 0
    s, y = scores[keep], outcome[keep].astype(float)
    order = np.argsort(s, kind="stable")
    s, y = s[order], y[order]
    blocks: list[list[float]] = []  # [sum, count]
    for v in y:
        blocks.append([v, 1.0])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            a, b = blocks.pop(), blocks.pop()
            blocks.append([a[0] + b[0], a[1] + b[1]])
    fit = np.concatenate([[b[0] / b[1]] * int(b[1]) for b in blocks])
    points = []
    for chunk in np.array_split(np.arange(len(s)), 8):
        mid = chunk[len(chunk) // 2]
        points.append((round(float(s[mid]), 3), round(float(fit[mid]), 3)))
    return points


def print_calibration(presets: list[str], overrides: dict[str, object], frames: list) -> None:
    for preset in presets:
        with PersonDetector(
            preset, **{**overrides, "calibrated": False, "min_score": 0.1, "landmarks": False}
        ) as detector:
            scores, outcome, n_gt = score_outcomes(detector, frames)
        print()
        print(f"{preset}: raw score -> precision (isotonic, 8 equal-count bins)")
        print(calibration_table(scores, outcome))
        print()
        print("| raw score >= | recall | precision | boxes |")
        print("|---|---|---|---|")
        for t in (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5):
            sel = scores >= t
            tp, fp = int((outcome[sel] == 1).sum()), int((outcome[sel] == 0).sum())
            print(f"| {t:.2f} | {tp / n_gt:.3f} | {tp / max(tp + fp, 1):.3f} | {tp + fp} |")


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
            counts.append(len(detector.find_boxes(image)))
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
            out[key] = value  # a plain string, e.g. model=/path/yolox_s.onnx
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", default="fast,balanced,thorough")
    parser.add_argument("--data", type=Path, default=shared_data())
    parser.add_argument("--set", action="append", default=[], help="override, e.g. min_support=3")
    parser.add_argument("--no-videos", action="store_true")
    parser.add_argument("--no-mot", action="store_true", help="only the videos table")
    parser.add_argument("--video-frames", type=int, default=12, help="frames sampled per video")
    parser.add_argument("--calibration", action="store_true", help="score -> precision tables")
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
            with PersonDetector(preset, **{"landmarks": False, **overrides}) as detector:
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

    if args.calibration:
        print_calibration(presets, overrides, frames)
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
        with PersonDetector(preset, **{"landmarks": False, **overrides}) as detector:
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
