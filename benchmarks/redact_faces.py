"""How unrecognisable redact_video makes faces, and how little else it changes.

Tracks each shared video that has faces (every frame analysed, faces and landmarks on),
writes redacted copies in several cases and prints, per video and case, the drop of
sharpness (variance of the Laplacian) inside every Face box of the results shrunk by 15 %
(mean and worst entry; goal >= 90 % and >= 75 %) and the worst frame's mean absolute
difference outside every person box of the frames within 0.6 s (goal < 4):

- ``faces``: the results as tracked (face boxes where found);
- ``every 3rd``: only every third frame's results given (the others' faces must be covered
  by boxes interpolated between them);
- ``landmarks``: the face boxes removed (heads placed from the body landmarks, else the top
  of the box); ``top of box``: face boxes and landmarks removed;
- ``people``: whole person boxes; ``pixelate``: faces pixelated (its block edges keep a high
  Laplacian variance: the sharpness figure does not suit it).

Run::

    .venv/bin/python benchmarks/redact_faces.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import cv2
import numpy as np
from _shared import shared_videos

import persontrack as pt
from persontrack.io.video import iter_frames

VIDEOS = (
    "face-demographics-walking.mp4",
    "face-demographics-walking-and-pause.mp4",
    "head-pose-face-detection-female-and-male.mp4",
)
FACE = ["FaceLeft", "FaceTop", "FaceWidth", "FaceHeight"]


def _sharp(img: np.ndarray) -> float:
    return float(cv2.Laplacian(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var())


def measure(video: Path, out: Path, df) -> tuple[np.ndarray, float]:
    src, dst = list(iter_frames(video)), list(iter_frames(out))
    stamps = np.array([f.timestamp_ms for f in src])
    h, w = src[0].image.shape[:2]
    drops = []
    for r in df.dropna(subset=FACE).itertuples():
        k = int(np.argmin(np.abs(stamps - r.Timestamp)))
        fx, fy, fw, fh = r.FaceLeft * w, r.FaceTop * h, r.FaceWidth * w, r.FaceHeight * h
        x1, y1 = max(round(fx + 0.075 * fw), 0), max(round(fy + 0.075 * fh), 0)
        x2, y2 = min(round(fx + 0.925 * fw), w), min(round(fy + 0.925 * fh), h)
        drops.append(1 - _sharp(dst[k].image[y1:y2, x1:x2]) / _sharp(src[k].image[y1:y2, x1:x2]))
    worst = 0.0
    for k, t in enumerate(stamps):
        keep = np.ones((h, w), bool)
        for r in df[(df["Timestamp"] - t).abs() <= 600].itertuples():
            x1, y1 = int((r.Left - 0.1 * r.Width) * w), int((r.Top - 0.1 * r.Height) * h)
            x2, y2 = int((r.Left + 1.1 * r.Width) * w) + 1, int((r.Top + 1.1 * r.Height) * h) + 1
            keep[max(y1, 0) : y2, max(x1, 0) : x2] = False
        d = np.abs(src[k].image.astype(int) - dst[k].image.astype(int))[keep]
        worst = max(worst, float(d.mean()) if d.size else 0.0)
    return np.array(drops), worst


def main() -> None:
    print("| video | case | faces | sharpness drop mean | worst | MAD outside (worst frame) |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in VIDEOS:
            video = shared_videos() / name
            df = pt.track_video(video).frame
            faceless = df.assign(**{c: np.nan for c in FACE})
            cases = {
                "faces": (df, {}),
                "every 3rd": (df[(df["Timestamp"] // 80) % 3 == 0], {}),
                "landmarks": (faceless, {}),
                "top of box": (faceless.assign(BodyLandmarks=None), {}),
                "people": (df, {"blur": "people"}),
                "pixelate": (df, {"method": "pixelate"}),
            }
            for case, (given, options) in cases.items():
                out = pt.redact_video(video, given, Path(tmp) / "out.mp4", **options)
                drops, mad = measure(video, out, df)
                print(
                    f"| {name} | {case} | {len(drops)} | {drops.mean():.1%} | {drops.min():.1%} "
                    f"| {mad:.2f} |"
                )


if __name__ == "__main__":
    main()
