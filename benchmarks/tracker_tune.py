"""One tracker configuration scored on every dev family at once: ablation and joint tuning.

Each candidate is a dict of :class:`persontrack.tracking.config.TrackerConfig` fields over
the defaults. It is scored, with the same boxes every time, on:

- **MOT17** x5, public detections, the tracker alone + post-processing (what
  ``track-detections`` does): TrackEval HOTA / IDF1 / IDSW, recall / precision;
- **PETS09-S2L1** end to end: ``track_video`` at its defaults replayed on the video
  pipeline's cached boxes and 0287 embeddings (``benchmarks/tracking_pets09.py --video``),
  scored on the identity ground truth (returning people joined);
- **the shared videos**: the same replay; the number of ``Index`` values (no ground
  truth: fewer is better only down to the number of people, so it is printed, not scored).

Beside each family the raw boxes at the birth threshold (no tracking) give the recall and
precision the tracker must not fall below. The objective is the mean HOTA of MOT17 and
PETS09 (IDF1 as the tie-break). ``--ablation`` turns each rule off in turn;
``--search`` runs the declared search space (:data:`SEARCH`), one setting at a time
around the defaults (a coordinate search: 2 shared cores).

Boxes are computed once and cached under ``--cache-dir``; a candidate then costs ~1 min.
Runs in the benchmark venv (TrackEval needs numpy 2); persontrack runs in the product venv
in subprocesses::

    /tmp/pt-bench/bin/python benchmarks/tracker_tune.py --ablation
    /tmp/pt-bench/bin/python benchmarks/tracker_tune.py --search
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import tracker_mot17 as mot17
import tracking_pets09 as pets
from _shared import shared_data

REPO = Path(__file__).resolve().parents[1]
VIDEOS = (
    "pedestrian_survaillance.mp4",
    "store-aisle-detection.mp4",
    "worker-zone-detection.mp4",
    "people-detection.mp4",
    "classroom.mp4",
    "face-demographics-walking.mp4",
    "face-demographics-walking-and-pause.mp4",
    "head-pose-face-detection-female-and-male.mp4",
)
"""The shared videos replayed (``one-by-one-person-detection.mp4``, 139 s, is left out to
keep a candidate near a minute); ``data/sample.mp4`` is added."""

RULES: dict[str, dict] = {
    "camera motion": {"camera_motion_min_tracks": 0},
    "lost size gate": {"lost_size_ratio": 0},
    "lost velocity decay": {"lost_velocity_decay_ms": 0},
    "tentative sigma gate": {"max_sigma": 0},
    "appearance ranking": {"appearance_weight": 0.0},
    "appearance veto": {"max_appearance_distance": 2.0},
    "appearance rescue": {"rescue_max_distance": 0.0},
    "skip settled crops": {"appearance_clear_margin": 0.0},
}
"""Each rule's "off" settings."""

SEARCH: dict[str, tuple] = {
    "max_cost": (0.65, 0.7, 0.75),
    "birth_confidence": (0.7, 0.8, 0.9),
    "max_lost_ms": (3000.0, 6000.0, 9000.0),
}
"""The declared search space: each value tried with the others at their defaults."""


def _pt(args: argparse.Namespace, *argv: str) -> None:
    subprocess.run(
        [args.persontrack_python, *argv],
        check=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL,
    )


def score(args: argparse.Namespace, name: str, settings: dict) -> dict:
    """Every family's figures for one candidate."""
    out = Path(tempfile.mkdtemp(prefix="pt-tune-", dir=args.cache_dir))
    js = json.dumps(settings)
    _pt(args, str(REPO / "benchmarks" / "tracker_mot17.py"), "--emit", "persontrack",
        "--out", str(out / "mot"), "--tracker", js)  # fmt: skip
    m = mot17.evaluate([mot17.POST], mot17.DEFAULT_DATA, out / "mot")[mot17.POST]["COMBINED_SEQ"]
    _pt(args, str(REPO / "benchmarks" / "tracking_pets09.py"), "--emit", "",
        "--cache", str(args.cache_dir / "pets-pvb.npz"),
        "--video-cache", str(args.cache_dir / "pets-video.npz"),
        "--out", str(out / "pets"), f"--video=run={json.dumps({'tracker': settings})}")  # fmt: skip
    p = pets.evaluate(["run"], pets.identity_gt(pets.DEFAULT_SEQ, out / "pets"), out / "pets")
    _pt(args, __file__, "--emit-videos", js, "--out", str(out), "--cache-dir", str(args.cache_dir))
    counts = json.loads((out / "videos.json").read_text())
    return {"name": name, "mot": m, "pets": p["run"], "videos": counts}


def raw_rows(args: argparse.Namespace) -> dict:
    """The raw boxes at the birth threshold on MOT17 and PETS09: recall and precision."""
    out = Path(tempfile.mkdtemp(prefix="pt-tune-raw-", dir=args.cache_dir))
    mot17.emit(mot17.RAW, mot17.DEFAULT_DATA, out / "mot")
    m = mot17.evaluate([mot17.RAW], mot17.DEFAULT_DATA, out / "mot")[mot17.RAW]["COMBINED_SEQ"]
    video = pets.load_cache(args.cache_dir / "pets-video.npz")
    keep = video["conf"] >= 0.8
    rows = [
        (int(f) + 1, k + 1, x1, y1, x2 - x1, y2 - y1, c)
        for k, (f, (x1, y1, x2, y2), c) in enumerate(
            zip(video["frame"][keep], video["xyxy"][keep], video["conf"][keep], strict=True)
        )
    ]
    pets.write_rows(rows, out / "pets" / "raw" / "data" / f"{pets.SEQ}.txt")
    p = pets.evaluate(["raw"], pets.identity_gt(pets.DEFAULT_SEQ, out / "pets"), out / "pets")
    return {"mot": m, "pets": p["raw"]}


def objective(r: dict) -> tuple[float, float]:
    return (
        (r["mot"]["HOTA"] + r["pets"]["HOTA"]) / 2,
        (r["mot"]["IDF1"] + r["pets"]["IDF1"]) / 2,
    )


def table(results: list[dict], raw: dict | None) -> str:
    head = (
        "| candidate | objective (mean HOTA / IDF1) | MOT17 HOTA / IDF1 / IDSW | MOT17 Re / Pr "
        "| PETS09 HOTA / IDF1 / IDSW | PETS09 Re / Pr | shared videos' Indexes |"
    )
    lines = [head, "|---|---|---|---|---|---|---|"]
    if raw is not None:
        m, p = raw["mot"], raw["pets"]
        lines.append(
            f"| raw boxes >= birth 0.8, no tracking | – | – | {m['Re']:.1f} / {m['Pr']:.1f} | – | "
            f"{p['Re']:.1f} / {p['Pr']:.1f} | – |"
        )
    for r in results:
        m, p = r["mot"], r["pets"]
        h, i = objective(r)
        lines.append(
            f"| {r['name']} | {h:.2f} / {i:.2f} | {m['HOTA']:.1f} / {m['IDF1']:.1f} / "
            f"{m['IDSW']} | {m['Re']:.1f} / {m['Pr']:.1f} | {p['HOTA']:.1f} / {p['IDF1']:.1f} / "
            f"{p['IDSW']} | {p['Re']:.1f} / {p['Pr']:.1f} | "
            + " ".join(str(r["videos"][v]) for v in r["videos"])
            + f" (total {sum(r['videos'].values())}) |"
        )
    return "\n".join(lines)


def emit_videos(settings: dict, out: Path, cache_dir: Path) -> None:
    """(product venv) Index counts of the shared videos replayed with ``settings``."""
    sys.path.insert(0, str(REPO))
    counts = {}
    paths = [shared_data() / "videos" / v for v in VIDEOS] + [REPO / "data" / "sample.mp4"]
    for path in paths:
        folder = cache_dir / "videos" / path.stem
        folder.mkdir(parents=True, exist_ok=True)
        link = folder / path.name
        if not link.exists():
            link.symlink_to(path.resolve())  # read through the path, never copied
        cache = folder / "boxes.npz"
        if not cache.exists():
            pets.build_video_cache(folder, cache)
        rows, _ = pets.run_video(pets.load_cache(cache), folder, {"tracker": settings})
        counts[path.stem] = len({r[1] for r in rows})
    (out / "videos.json").write_text(json.dumps(counts))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ablation", action="store_true", help="each rule off in turn")
    ap.add_argument("--search", action="store_true", help="the declared search space")
    ap.add_argument("--candidate", action="append", default=[], metavar="NAME=JSON")
    ap.add_argument("--cache-dir", type=Path, default=Path("/tmp/pt-tune"))
    ap.add_argument("--persontrack-python", default=str(REPO / ".venv" / "bin" / "python"))
    ap.add_argument("--emit-videos", default=None, help=argparse.SUPPRESS)  # internal
    ap.add_argument("--out", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    if args.emit_videos is not None:
        emit_videos(json.loads(args.emit_videos), args.out, args.cache_dir)
        return
    candidates: list[tuple[str, dict]] = [("defaults", {})]
    if args.ablation:
        candidates += [(f"{rule} off", s) for rule, s in RULES.items()]
    if args.search:
        defaults = {"max_cost": 0.7, "birth_confidence": 0.8, "max_lost_ms": 6000.0}
        for key, values in SEARCH.items():
            candidates += [(f"{key}={v:g}", {key: v}) for v in values if v != defaults[key]]
    for item in args.candidate:
        name, _, js = item.partition("=")
        candidates.append((name, json.loads(js)))
    results = []
    for name, settings in candidates:
        results.append(score(args, name, settings))
        print(f"  {name}: {objective(results[-1])}", file=sys.stderr)
    raw = raw_rows(args)
    print(table(results, raw))
    best = max(results, key=objective)
    print(f"\nbest by the objective: {best['name']} {objective(best)}")


if __name__ == "__main__":
    main()
