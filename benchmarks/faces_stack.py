"""Faces of the current stack against the recorded output of the mediapipe 0.10.21 stack.

Run from the repository root (reads ../shared/data/videos, or $PERSONTRACK_SHARED_DATA)::

    .venv/bin/python benchmarks/faces_stack.py                 # compare with the fixture
    .venv/bin/python benchmarks/faces_stack.py --record PATH   # write a new fixture

Frames: every 10th of the shared face videos (at most 30 each). Person boxes come from the
shipped person detector and are stored in the fixture, so the comparison sees the same boxes.
Each frame is analysed with :class:`persontrack.FaceAnalyzer` (full frame plus the person
boxes' head regions). Faces are paired by box IoU (Hungarian, IoU >= 0.3). Prints, per video
and in all: Face entries today and now, pairs, median / 90th percentile box IoU, landmark
error (the 30 types, % of the face box side), |Yaw|, |Pitch|, |Roll| differences (degrees),
Confidence difference (points), and ms per frame of the analyzer.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from _shared import shared_videos
from scipy.optimize import linear_sum_assignment

import persontrack as pt
from persontrack.vision.detection import PersonDetector

VIDEOS = (
    "face-demographics-walking.mp4",
    "face-demographics-walking-and-pause.mp4",
    "head-pose-face-detection-female-and-male.mp4",
)
STEP = 10
MAX_FRAMES = 30
FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "data" / "faces_mediapipe_0_10_21.json"


def frames(path: Path, step: int = STEP, limit: int = MAX_FRAMES) -> list[tuple[int, np.ndarray]]:
    cap = cv2.VideoCapture(str(path))
    out, k = [], 0
    while len(out) < limit:
        ok, bgr = cap.read()
        if not ok:
            break
        if k % step == 0:
            out.append((k, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)))
        k += 1
    cap.release()
    return out


def _compact(face: dict) -> dict:
    bb = face["BoundingBox"]
    return {
        "box": [round(bb[k], 6) for k in ("Left", "Top", "Width", "Height")],
        "confidence": round(face["Confidence"], 3),
        "landmarks": [[round(m["X"], 6), round(m["Y"], 6)] for m in face.get("Landmarks", [])],
        "pose": [round(face["Pose"][k], 3) for k in ("Roll", "Yaw", "Pitch")]
        if "Pose" in face
        else None,
    }


def record(videos_dir: Path, names: tuple[str, ...]) -> dict:
    """Person boxes and faces of every sampled frame, numbers only."""
    out: dict = {"step": STEP, "max_frames": MAX_FRAMES, "videos": {}}
    with PersonDetector(landmarks=False) as det, pt.FaceAnalyzer() as analyzer:
        for name in names:
            rows = []
            for k, rgb in frames(videos_dir / name):
                boxes = det.find_boxes(rgb).xyxy
                faces = analyzer.analyze(rgb, boxes)
                rows.append(
                    {
                        "frame": k,
                        "person_boxes": np.round(boxes, 3).tolist(),
                        "faces": [_compact(f) for f in faces],
                    }
                )
            out["videos"][name] = rows
    return out


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of (N, 4) and (M, 4) [left, top, width, height] boxes."""
    a2, b2 = a[:, None], b[None]
    iw = np.clip(
        np.minimum(a2[..., 0] + a2[..., 2], b2[..., 0] + b2[..., 2])
        - np.maximum(a2[..., 0], b2[..., 0]),
        0,
        None,
    )
    ih = np.clip(
        np.minimum(a2[..., 1] + a2[..., 3], b2[..., 1] + b2[..., 3])
        - np.maximum(a2[..., 1], b2[..., 1]),
        0,
        None,
    )
    inter = iw * ih
    return inter / (a2[..., 2] * a2[..., 3] + b2[..., 2] * b2[..., 3] - inter)


def compare(today: dict, now: dict, image_sizes: dict[str, tuple[int, int]]) -> dict:
    """Per video (and ``"all"``): counts, pairs and the differences of paired faces."""
    stats: dict = {}
    for name, rows in today["videos"].items():
        w, h = image_sizes[name]
        s = stats[name] = {"today": 0, "now": 0, "iou": [], "lm": [], "pose": [], "conf": []}
        for r0, r1 in zip(rows, now["videos"][name], strict=True):
            f0, f1 = r0["faces"], r1["faces"]
            s["today"] += len(f0)
            s["now"] += len(f1)
            if not f0 or not f1:
                continue
            iou = _iou(np.array([f["box"] for f in f0]), np.array([f["box"] for f in f1]))
            rows_, cols = linear_sum_assignment(-iou)
            for i, j in zip(rows_, cols, strict=True):
                if iou[i, j] < 0.3:
                    continue
                a, b = f0[i], f1[j]
                s["iou"].append(float(iou[i, j]))
                side = a["box"][2] * w
                la = np.array(a["landmarks"]) * (w, h)
                lb = np.array(b["landmarks"]) * (w, h)
                if len(la) and len(la) == len(lb):
                    s["lm"].extend((100.0 * np.hypot(*(la - lb).T) / side).tolist())
                if a["pose"] is not None and b["pose"] is not None:
                    d = np.abs(np.array(a["pose"]) - np.array(b["pose"]))
                    s["pose"].append(np.minimum(d, 360 - d).tolist())
                s["conf"].append(abs(a["confidence"] - b["confidence"]))
    total = {
        k: (sum(v[k] for v in stats.values()) if k in ("today", "now") else [])
        for k in stats[next(iter(stats))]
    }
    for v in stats.values():
        for k in ("iou", "lm", "pose", "conf"):
            total[k].extend(v[k])
    stats["all"] = total
    return stats


def summary(s: dict) -> dict[str, float]:
    def q(v: list, p: float) -> float:
        return float(np.percentile(v, p)) if len(v) else float("nan")

    pose = np.array(s["pose"]).reshape(-1, 3)
    return {
        "today": s["today"],
        "now": s["now"],
        "pairs": len(s["iou"]),
        "iou_median": q(s["iou"], 50),
        "iou_p10": q(s["iou"], 10),
        "landmark_median_pct": q(s["lm"], 50),
        "landmark_p90_pct": q(s["lm"], 90),
        "roll_p90": q(pose[:, 0], 90),
        "yaw_p90": q(pose[:, 1], 90),
        "pitch_p90": q(pose[:, 2], 90),
        "yaw_median": q(pose[:, 1], 50),
        "conf_median": q(s["conf"], 50),
    }


def image_sizes(videos_dir: Path, names) -> dict[str, tuple[int, int]]:
    out = {}
    for name in names:
        cap = cv2.VideoCapture(str(videos_dir / name))
        out[name] = (
            int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
            int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
        )
        cap.release()
    return out


def analyse_fixture_frames(videos_dir: Path, today: dict) -> tuple[dict, float]:
    """The current analyzer on the fixture's frames and person boxes; ms per frame."""
    now: dict = {"videos": {}}
    spent, n = 0.0, 0
    with pt.FaceAnalyzer() as analyzer:
        for name, rows in today["videos"].items():
            got = []
            by_frame = dict(frames(videos_dir / name, today["step"], today["max_frames"]))
            for r in rows:
                rgb = by_frame[r["frame"]]
                boxes = np.array(r["person_boxes"], np.float64).reshape(-1, 4)
                t = time.perf_counter()
                faces = analyzer.analyze(rgb, boxes)
                spent += time.perf_counter() - t
                n += 1
                got.append({"frame": r["frame"], "faces": [_compact(f) for f in faces]})
            now["videos"][name] = got
    return now, 1000.0 * spent / max(n, 1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--record", type=Path, help="write a fixture from the installed stack")
    ap.add_argument("--fixture", type=Path, default=FIXTURE)
    args = ap.parse_args()
    videos = shared_videos()
    if args.record:
        args.record.parent.mkdir(parents=True, exist_ok=True)
        args.record.write_text(json.dumps(record(videos, VIDEOS), separators=(",", ":")) + "\n")
        print(f"wrote {args.record}")
        return 0
    today = json.loads(args.fixture.read_text())
    now, ms = analyse_fixture_frames(videos, today)
    stats = compare(today, now, image_sizes(videos, today["videos"]))
    print(f"persontrack {pt.__version__}; {pt.versions() if hasattr(pt, 'versions') else ''}")
    cols = list(summary(stats["all"]))
    print("| video | " + " | ".join(cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    for name, s in stats.items():
        vals = summary(s)
        print(f"| {name} | " + " | ".join(f"{v:.3g}" for v in vals.values()) + " |")
    print(f"analyzer: {ms:.1f} ms per frame")
    return 0


if __name__ == "__main__":
    sys.exit(main())
