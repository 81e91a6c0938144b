"""Identity through crossings and occlusions: trackers on PETS09-S2L1 with the same boxes.

PETS09-S2L1 (``../shared/data/track/PETS09-S2L1``: 795 frames at 7 fps, 768x576, MOT
ground truth; 19 people crossing a campus, hidden by a lamp post and a sign). Every
tracker gets the same boxes: Open Model Zoo ``person-vehicle-bike-detection-2003``
(OpenVINO, the native 864x480 input, the frame resized to it), class person, score >=
0.1. The boxes and the appearance embeddings of every box (``persontrack.vision.reid``,
both shipped re-id models) are computed once and cached in ``--cache`` (a ``.npz`` under
/tmp), so reruns only track and score.

Rows printed (one markdown table, TrackEval HOTA / IDF1 / MOTA / IDSW, MOT17
preprocessing):

- ``persontrack motion only``: ``track_mot_detections``' tracker and post-processing
  (link, interpolate, smooth) with no embeddings;
- ``persontrack + appearance 0277`` / ``0287``: the same with each box's embedding given
  to the tracker and to the linking step;
- peers on the same boxes: roboflow ``trackers`` ByteTrack and SORT at their defaults.

All persontrack rows use ``birth_confidence=0.5`` (``high_confidence`` 0.3): this detector
scores people 0.2-0.7 and the tracker's default birth threshold (0.8, set for MOT17's
Faster R-CNN scores) starts no track on it.

The peers and TrackEval need numpy 2 (the benchmark venv, ``make bench-venv``); persontrack
runs in the product venv in a subprocess (``--persontrack-python``)::

    /tmp/pt-bench/bin/python benchmarks/tracking_pets09.py \\
        --persontrack-python /work/main/.venv/bin/python

Timings (``ms/frame`` of the embedder, CPU, 2 threads) are measured while the cache is
built, on a shared 2-core machine: pessimistic.

The video pipeline's own choices (its detector settings, the tracker's video settings,
which crops are embedded, the linking) are scored with ``--video NAME=JSON`` (repeatable):
``persontrack.track_video`` with those settings (landmarks and faces off: they do not
change who is who) replayed on the boxes of ``PersonDetector`` at its defaults and both
models' embeddings of every box, computed once per analysed frame and cached in
``--video-cache``. ``--video default={}`` is ``persontrack track PETS09-S2L1.mp4`` at its
defaults, to the row (checked against a real run)::

    /tmp/pt-bench/bin/python benchmarks/tracking_pets09.py --runs bytetrack \\
        --persontrack-python /work/main/.venv/bin/python --video default={} \\
        --video '0277 every crop={"appearance": "0277", "tracker": {"appearance_refresh_ms": 0}}'
"""

from __future__ import annotations

import argparse
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
DEFAULT_SEQ = REPO.parent / "shared" / "data" / "track" / "PETS09-S2L1"
DEFAULT_MODEL = (
    REPO.parent
    / "shared"
    / "models"
    / "intel"
    / "person-vehicle-bike-detection-2003"
    / "FP16-INT8"
    / "person-vehicle-bike-detection-2003.xml"
)
MIN_SCORE = 0.1
SEQ = "PETS09-S2L1"
NAMES = {
    "pt_motion": "persontrack, motion only",
    "pt_app0277": "persontrack + appearance 0277",
    "pt_app0287": "persontrack + appearance 0287",
    "pt_app0277_online": "persontrack + appearance 0277, online only (no postprocess)",
    "pt_app0277_noreentry": "persontrack + appearance 0277, no re-entry linking",
    "pt_motion_online": "persontrack, motion only, online only (no postprocess)",
    "bytetrack": "trackers ByteTrack (defaults)",
    "sort": "trackers SORT (defaults)",
}
PERSONTRACK_RUNS = (
    "pt_motion",
    "pt_app0277",
    "pt_app0287",
    "pt_app0277_noreentry",
    "pt_motion_online",
    "pt_app0277_online",
)
REENTRIES = {19: 1, 13: 2, 11: 3, 9: 5, 10: 6, 15: 8, 14: 8, 18: 8}
"""PETS09-S2L1's ground truth gives a person who walks out of view and back a new id; these
are the same people (checked by eye on crops of each id's last and the next id's first
frames). The "identity" scoring joins them, as a Rekognition ``Index`` should."""


# ----------------------------------------------------------------------------- boxes


def build_cache(seq_dir: Path, model_xml: Path, cache: Path) -> None:
    """Detect people on every frame and embed every box; save to ``cache`` (.npz)."""
    import cv2
    import openvino as ov

    sys.path.insert(0, str(REPO))
    from persontrack.vision.reid import AppearanceEmbedder

    core = ov.Core()
    net = core.read_model(str(model_xml))
    video = next(seq_dir.glob("*.mp4"))
    cap = cv2.VideoCapture(str(video))
    # The model's native width (864), the height that keeps the frame's aspect ratio.
    width = 864
    height = 32 * round(width * cap.get(cv2.CAP_PROP_FRAME_HEIGHT) / cap.get(3) / 32)
    net.reshape({net.inputs[0]: ov.PartialShape([1, 3, height, width])})
    det = core.compile_model(net, "CPU", {"INFERENCE_NUM_THREADS": 2})
    embedders = {m: AppearanceEmbedder(m, min_height=0.0) for m in ("0277", "0287")}
    frames, boxes, scores = [], [], []
    embs: dict[str, list[np.ndarray]] = {m: [] for m in embedders}
    spent = {"detector": 0.0, **{m: 0.0 for m in embedders}}
    n = 0
    while True:
        ok, img = cap.read()
        if not ok:
            break
        n += 1
        h, w = img.shape[:2]
        x = cv2.resize(img, (width, height)).transpose(2, 0, 1)[None].astype(np.float32)
        t0 = time.perf_counter()
        out = det(x)
        spent["detector"] += time.perf_counter() - t0
        b = np.asarray(out[det.outputs[0]]).reshape(-1, 5)
        lab = np.asarray(out[det.outputs[1]]).reshape(-1)
        sel = (lab == 1) & (b[:, 4] >= MIN_SCORE)
        xyxy = b[sel, :4] * np.array([w / width, h / height, w / width, h / height])
        xyxy = np.clip(xyxy, 0, [w, h, w, h])
        frames.append(np.full(len(xyxy), n))
        boxes.append(xyxy)
        scores.append(b[sel, 4])
        for m, e in embedders.items():
            t0 = time.perf_counter()
            embs[m].append(e.embed(img, xyxy))
            spent[m] += time.perf_counter() - t0
    cap.release()
    np.savez(
        cache,
        frame=np.concatenate(frames),
        xyxy=np.concatenate(boxes),
        conf=np.concatenate(scores),
        emb0277=np.concatenate(embs["0277"]),
        emb0287=np.concatenate(embs["0287"]),
        frames=n,
        ms=json.dumps({k: 1000 * v / n for k, v in spent.items()}),
    )


def build_video_cache(seq_dir: Path, cache: Path) -> None:
    """The video pipeline's boxes on every analysed frame, and both models' embeddings."""
    sys.path.insert(0, str(REPO))
    from persontrack.io.video import open_video
    from persontrack.pipeline import DEFAULT_TARGET_FPS
    from persontrack.vision.detection import PersonDetector
    from persontrack.vision.reid import AppearanceEmbedder

    detector = PersonDetector(landmarks=False)
    embedders = {m: AppearanceEmbedder(m, min_height=0.0) for m in ("0277", "0287")}
    frame_ts, frames, boxes, conf = [], [], [], []
    embs: dict[str, list[np.ndarray]] = {m: [] for m in embedders}
    with open_video(next(seq_dir.glob("*.mp4"))) as reader:
        for frame in reader.frames(target_fps=DEFAULT_TARGET_FPS):
            dets = detector.find_boxes(frame.image)
            frame_ts.append((frame.index, frame.timestamp_ms))
            frames.append(np.full(len(dets), frame.index))
            boxes.append(dets.xyxy)
            conf.append(dets.confidence)
            for m, e in embedders.items():
                embs[m].append(e.embed(frame.image, dets.xyxy, rgb=True))
    detector.close()
    np.savez(
        cache,
        frame_ts=np.array(frame_ts),
        frame=np.concatenate(frames),
        xyxy=np.concatenate(boxes),
        conf=np.concatenate(conf),
        **{f"emb{m}": np.concatenate(e) for m, e in embs.items()},
    )


def run_video(data: dict, seq_dir: Path, settings: dict) -> tuple[list[tuple], dict]:
    """``track_video`` replayed on cached boxes and embeddings: MOT rows, crops embedded."""
    from persontrack import pipeline
    from persontrack.io.files import results_to_mot
    from persontrack.io.video import Frame
    from persontrack.vision.detections import Detections

    count = {"frames": 0, "crops": 0}
    frame_of = data["frame"]
    blank = np.zeros((2, 2, 3), np.uint8)

    class Reader:
        def __init__(self, real: object) -> None:
            self.metadata = real.metadata  # type: ignore[attr-defined]

        def frames(self, **_: object):  # type: ignore[no-untyped-def]
            for index, ts in data["frame_ts"]:
                yield Frame(int(index), int(ts), blank)

        def __enter__(self) -> Reader:
            return self

        def __exit__(self, *_: object) -> None:
            pass

    def open_cached(source: object, backend: str = "auto") -> Reader:
        with real_open(source, backend=backend) as real:
            return Reader(real)

    class Detector:
        def __init__(self, **_: object) -> None:
            self.rows = np.zeros(0, int)

        def find_boxes(self, image: np.ndarray) -> Detections:
            index = int(data["frame_ts"][count["frames"], 0])
            count["frames"] += 1
            self.rows = np.flatnonzero(frame_of == index)
            return Detections(data["xyxy"][self.rows], data["conf"][self.rows])

        def find_boxes_many(self, images, *, streams: int = 2):  # type: ignore[no-untyped-def]
            for image in images:  # the pipeline's batched path, one cached frame at a time
                yield self.find_boxes(image)

        def close(self) -> None:
            pass

    detector = Detector()
    # The pipeline finds boxes ahead of tracking (in a thread), so a box's cached row is
    # found by its value (every cached box is distinct; checked here).
    row_of = {box.tobytes(): j for j, box in enumerate(data["xyxy"])}
    if len(row_of) != len(data["xyxy"]):
        raise ValueError("the video cache holds two identical boxes: cannot replay")

    class Embedder:
        dimension = data["emb0277"].shape[1]

        def __init__(self, model: str = "0287", *, min_height: float = 32.0) -> None:
            self.emb, self.min_height = data[f"emb{model}"], min_height

        def embed(self, frame: np.ndarray, xyxy: np.ndarray, *, rgb: bool = False) -> np.ndarray:
            out = np.full((len(xyxy), self.dimension), np.nan, np.float32)
            for k, box in enumerate(xyxy):
                j = row_of[np.asarray(box, np.float64).tobytes()]
                if box[3] - box[1] >= self.min_height:
                    out[k] = self.emb[j]
                    count["crops"] += 1
            return out

    real_open = pipeline.open_video
    saved = (pipeline.open_video, pipeline.PersonDetector, pipeline.AppearanceEmbedder)
    pipeline.open_video = open_cached  # type: ignore[assignment]
    pipeline.PersonDetector = lambda **_: detector  # type: ignore[assignment,misc]
    pipeline.AppearanceEmbedder = Embedder  # type: ignore[assignment,misc]
    try:
        result = pipeline.track_video(
            next(seq_dir.glob("*.mp4")), {"landmarks": False, "faces": False, **settings}
        )
    finally:
        pipeline.open_video, pipeline.PersonDetector, pipeline.AppearanceEmbedder = saved
    mot = results_to_mot(result.frame, result.metadata)
    rows = [(r.frame, r.id, r.x, r.y, r.w, r.h, r.conf) for r in mot.itertuples()]
    return rows, {"crops per frame": count["crops"] / max(count["frames"], 1)}


def load_cache(cache: Path) -> dict:
    z = np.load(cache)
    return {k: z[k] for k in z.files}


# ----------------------------------------------------------------------------- trackers


def write_rows(rows: list[tuple], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        for frame, tid, x, y, w, h, conf in rows:
            f.write(f"{frame},{tid},{x:.2f},{y:.2f},{w:.2f},{h:.2f},{conf:.3f},-1,-1,-1\n")


def run_persontrack(data: dict, run: str, fps: float) -> list[tuple]:
    import pandas as pd

    from persontrack.tracking.mot import track_mot_detections
    from persontrack.tracking.tracker import Tracker

    xyxy = data["xyxy"]
    df = pd.DataFrame(
        {
            "frame": data["frame"],
            "x": xyxy[:, 0],
            "y": xyxy[:, 1],
            "w": xyxy[:, 2] - xyxy[:, 0],
            "h": xyxy[:, 3] - xyxy[:, 1],
            "conf": data["conf"],
        }
    )
    emb = None
    if "app0277" in run:
        emb = data["emb0277"]
    elif "app0287" in run:
        emb = data["emb0287"]
    tracker = Tracker(high_confidence=0.3, birth_confidence=0.5)
    out = track_mot_detections(
        df,
        fps,
        tracker=tracker,
        embeddings=emb,
        postprocess=not run.endswith("_online"),
        link={"reentry_max_gap_ms": 0.0} if run.endswith("_noreentry") else None,
    )
    return [(r.frame, r.id, r.x, r.y, r.w, r.h, r.conf) for r in out.itertuples()]


def run_roboflow(name: str, data: dict, fps: float) -> list[tuple]:
    import supervision as sv
    import trackers

    if name == "sort":
        tracker = trackers.SORTTracker(frame_rate=fps)
    else:
        tracker = trackers.ByteTrackTracker(frame_rate=fps)
    rows: list[tuple] = []
    n = int(data["frames"])
    for f in range(1, n + 1):
        sel = data["frame"] == f
        d = sv.Detections(
            xyxy=data["xyxy"][sel].astype(np.float32),
            confidence=data["conf"][sel].astype(np.float32),
            class_id=np.zeros(int(sel.sum()), dtype=int),
        )
        out = tracker.update(d)
        if out.tracker_id is None:
            continue
        for box, tid, conf in zip(out.xyxy, out.tracker_id, out.confidence, strict=True):
            if tid >= 0:
                x1, y1, x2, y2 = box
                rows.append((f, int(tid) + 1, x1, y1, x2 - x1, y2 - y1, float(conf)))
    return rows


def fps_of(seq_dir: Path) -> float:
    import configparser

    info = configparser.ConfigParser()
    info.read(seq_dir / "seqinfo.ini")
    return float(info["Sequence"]["frameRate"])


def emit(runs: list[str], data: dict, seq_dir: Path, out: Path) -> None:
    fps = fps_of(seq_dir)
    for run in runs:
        rows = run_persontrack(data, run, fps) if run.startswith("pt_") else None
        if rows is None:
            rows = run_roboflow(run, data, fps)
        write_rows(rows, out / run / "data" / f"{SEQ}.txt")


# ----------------------------------------------------------------------------- scoring


def identity_gt(seq_dir: Path, out: Path) -> Path:
    """A copy of the sequence's ground truth with returning people joined (REENTRIES)."""
    folder = out / "gt-identity" / SEQ
    (folder / "gt").mkdir(parents=True, exist_ok=True)
    (folder / "seqinfo.ini").write_text((seq_dir / "seqinfo.ini").read_text())
    lines = []
    for line in (seq_dir / "gt" / "gt.txt").read_text().splitlines():
        f = line.split(",")
        f[1] = str(REENTRIES.get(int(f[1]), int(f[1])))
        lines.append(",".join(f))
    (folder / "gt" / "gt.txt").write_text("\n".join(lines) + "\n")
    return folder


def evaluate(runs: list[str], seq_dir: Path, out: Path) -> dict:
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
            "GT_FOLDER": str(seq_dir.parent),
            "TRACKERS_FOLDER": str(out),
            "TRACKERS_TO_EVAL": runs,
            "BENCHMARK": "MOT17",
            "SKIP_SPLIT_FOL": True,
            "SEQ_INFO": {SEQ: None},
            "PRINT_CONFIG": False,
        }
    )
    quiet = {"PRINT_CONFIG": False}
    metrics = [
        trackeval.metrics.HOTA(quiet),
        trackeval.metrics.CLEAR(quiet),
        trackeval.metrics.Identity(quiet),
    ]
    with contextlib.redirect_stdout(sys.stderr):
        res, _ = trackeval.Evaluator(eval_cfg).evaluate(
            [trackeval.datasets.MotChallenge2DBox(ds_cfg)], metrics
        )
    table = {}
    for run in runs:
        r = res["MotChallenge2DBox"][run][SEQ]["pedestrian"]
        table[run] = {
            "HOTA": 100 * float(np.mean(r["HOTA"]["HOTA"])),
            "IDF1": 100 * float(r["Identity"]["IDF1"]),
            "MOTA": 100 * float(r["CLEAR"]["MOTA"]),
            "IDSW": int(r["CLEAR"]["IDSW"]),
            "Re": 100 * float(r["CLEAR"]["CLR_Re"]),
            "Pr": 100 * float(r["CLEAR"]["CLR_Pr"]),
            "IDs": int(r["Identity"]["IDTP"] >= 0)
            and len(
                {int(line.split(",")[1]) for line in (out / run / "data" / f"{SEQ}.txt").open()}
            ),
        }
    return table


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seq", type=Path, default=DEFAULT_SEQ, help="the PETS09-S2L1 folder")
    ap.add_argument("--detector", type=Path, default=DEFAULT_MODEL, help="pvb-2003 .xml")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/pt-pets09-pvb2003-864-boxes.npz"))
    ap.add_argument("--out", type=Path, default=None, help="keep MOT result files here")
    ap.add_argument(
        "--runs",
        default=",".join((*PERSONTRACK_RUNS, "bytetrack", "sort")),
        help="comma-separated subset of " + ", ".join(NAMES),
    )
    ap.add_argument(
        "--persontrack-python",
        default=str(REPO / ".venv" / "bin" / "python"),
        help="interpreter of the product venv that runs persontrack",
    )
    ap.add_argument(
        "--score",
        action="append",
        default=[],
        metavar="NAME=FILE",
        help="also score a MOT result file, e.g. the output of `persontrack track "
        "PETS09-S2L1.mp4 --format mot` (repeatable)",
    )
    ap.add_argument(
        "--video",
        action="append",
        default=[],
        metavar="NAME=JSON",
        help="also score track_video with these settings, replayed on the video pipeline's "
        "cached boxes and embeddings (repeatable; {} for the defaults)",
    )
    ap.add_argument("--video-cache", type=Path, default=Path("/tmp/pt-pets09-video-boxes.npz"))
    ap.add_argument("--emit", default=None, help=argparse.SUPPRESS)  # internal
    args = ap.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="pt-pets09-"))
    runs = [r.strip() for r in args.runs.split(",") if r.strip()]
    if args.emit is not None:
        sys.path.insert(0, str(REPO))
        if not args.cache.exists():
            build_cache(args.seq, args.detector, args.cache)
        emit([r for r in args.emit.split(",") if r], load_cache(args.cache), args.seq, out)
        if args.video:
            if not args.video_cache.exists():
                build_video_cache(args.seq, args.video_cache)
            video = load_cache(args.video_cache)
            for item in args.video:
                name, _, settings = item.partition("=")
                rows, info = run_video(video, args.seq, json.loads(settings or "{}"))
                write_rows(rows, out / name / "data" / f"{SEQ}.txt")
                (out / name / "info.json").write_text(json.dumps(info))
        return
    ours = [r for r in runs if r.startswith("pt_")]
    subprocess.run(
        [
            args.persontrack_python,
            __file__,
            "--emit",
            ",".join(ours),
            "--seq",
            str(args.seq),
            "--detector",
            str(args.detector),
            "--cache",
            str(args.cache),
            "--out",
            str(out),
            "--video-cache",
            str(args.video_cache),
            *(f"--video={v}" for v in args.video),
        ],
        check=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    data = load_cache(args.cache)
    emit([r for r in runs if not r.startswith("pt_")], data, args.seq, out)
    if args.video:  # the peer on the video pipeline's boxes
        video = load_cache(args.video_cache)
        peer = {
            "frame": video["frame"] + 1,
            "xyxy": video["xyxy"],
            "conf": video["conf"],
            "frames": int(video["frame_ts"][-1, 0]) + 1,
        }
        write_rows(
            run_roboflow("bytetrack", peer, fps_of(args.seq)),
            out / "bytetrack_video" / "data" / f"{SEQ}.txt",
        )
        NAMES["bytetrack_video"] = "trackers ByteTrack (defaults) on the video pipeline's boxes"
        runs.append("bytetrack_video")
    for item in args.video:
        name = item.partition("=")[0]
        info = json.loads((out / name / "info.json").read_text())
        NAMES.setdefault(
            name, f"video pipeline: {name} ({info['crops per frame']:.1f} crops/frame)"
        )
        runs.append(name)
    for item in args.score:
        name, _, path = item.partition("=")
        (out / name / "data").mkdir(parents=True, exist_ok=True)
        (out / name / "data" / f"{SEQ}.txt").write_text(Path(path).read_text())
        NAMES.setdefault(name, name)
        runs.append(name)
    table = evaluate(runs, args.seq, out)
    ident = evaluate(runs, identity_gt(args.seq, out), out)
    ms = json.loads(str(data["ms"]))
    n = len(data["conf"])
    print(
        f"{int(data['frames'])} frames, {n} boxes >= {MIN_SCORE} "
        f"({n / int(data['frames']):.1f} per frame); ms/frame (CPU, 2 threads, shared machine): "
        + ", ".join(f"{k} {v:.1f}" for k, v in ms.items())
    )
    print(
        "| tracker (same boxes) | HOTA | IDF1 | MOTA | IDSW | ids | "
        "identity GT: HOTA | IDF1 | IDSW |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for run, r in sorted(table.items(), key=lambda kv: -kv[1]["IDF1"]):
        i = ident[run]
        print(
            f"| {NAMES.get(run, run)} | {r['HOTA']:.1f} | {r['IDF1']:.1f} | {r['MOTA']:.1f} | "
            f"{r['IDSW']} | {r['IDs']} | {i['HOTA']:.1f} | {i['IDF1']:.1f} | {i['IDSW']} |"
        )


if __name__ == "__main__":
    main()
