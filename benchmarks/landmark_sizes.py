"""How tall a person must be for body landmarks and faces: measured by shrinking real people.

People the detector finds at least ``--min-source`` pixels tall in frames of the shared
videos are the references: their 33 landmarks and their face (FaceAnalyzer) at full size.
Each is then shrunk (the whole frame scaled down) so that the person is H pixels tall, and
analysed again. Printed per H: the share of people whose skeleton is still found, the median
landmark error (mean distance of the visible landmarks to the reference, as a fraction of
the person's height), and the share of reference faces still found. The minimum sizes in
``DetectorSettings.landmark_min_height`` and ``TrackingSettings.face_min_height`` are the
smallest H where the landmarks stay within 5 % of the height and most faces are found.

Run::

    .venv/bin/python benchmarks/landmark_sizes.py [--frames 6]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
from _shared import shared_videos

import persontrack as pt

VIDEOS = (
    "face-demographics-walking.mp4",
    "classroom.mp4",
    "pedestrian_survaillance.mp4",
    "flipping_a_pancake.mkv",
    "face-demographics-walking-and-pause.mp4",
)
HEIGHTS = (32, 48, 64, 80, 96, 112, 128, 160)


def frames(path: Path, n: int) -> list[np.ndarray]:
    with pt.open_video(path) as reader:
        total = reader.metadata.FrameCount or 100
        step = max(total // n, 1)
        return [f.image for f in reader.frames(every_n=step)][:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=6, help="frames sampled per video")
    parser.add_argument("--min-source", type=float, default=180.0)
    args = parser.parse_args()
    rows: dict[int, list[tuple[bool, float, bool | None]]] = {h: [] for h in HEIGHTS}
    with (
        pt.PersonDetector(min_score=0.3, landmark_min_height=0) as det,
        pt.FaceAnalyzer() as faces,
    ):
        for name in VIDEOS:
            path = shared_videos() / name
            if not path.is_file():
                continue
            for image in frames(path, args.frames):
                ref = det.detect(image)
                ref_faces = faces.analyze(image, person_boxes=ref.xyxy)
                for i, box in enumerate(ref.xyxy):
                    tall = box[3] - box[1]
                    if tall < args.min_source or np.isnan(ref.landmarks[i]).all():
                        continue
                    ref_face = pt.attach_faces(ref.xyxy[i : i + 1], ref_faces, image.shape[1::-1])
                    for h in HEIGHTS:
                        f = h / tall
                        small = cv2.resize(image, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
                        sbox = pt.Detections(box[None] * f, np.ones(1))
                        got = det.add_landmarks(small, sbox).landmarks[0]
                        found = not np.isnan(got).all()
                        err = np.nan
                        if found:
                            vis = ref.landmarks[i, :, 3] > 0.5
                            d = (got[vis, :2] - ref.landmarks[i, vis, :2]) * [
                                small.shape[1],
                                small.shape[0],
                            ]
                            err = float(np.hypot(d[:, 0], d[:, 1]).mean() / h)
                        face_ok = None
                        if ref_face[0] is not None:
                            sf = faces.analyze(small, person_boxes=sbox.xyxy)
                            face_ok = (
                                pt.attach_faces(sbox.xyxy, sf, small.shape[1::-1])[0] is not None
                            )
                        rows[h].append((found, err, face_ok))
    n = len(rows[HEIGHTS[0]])
    print(f"{n} reference people at least {args.min_source:g} px tall")
    print()
    print("| person height px | skeleton found | median landmark error / height | faces found |")
    print("|---|---|---|---|")
    for h in HEIGHTS:
        found = np.array([r[0] for r in rows[h]])
        errs = np.array([r[1] for r in rows[h] if r[0]])
        face = np.array([r[2] for r in rows[h] if r[2] is not None], dtype=bool)
        med = f"{np.median(errs):.3f}" if len(errs) else "-"
        fr = f"{face.mean():.2f} (n={len(face)})" if len(face) else "-"
        print(f"| {h} | {found.mean():.2f} | {med} | {fr} |", flush=True)


if __name__ == "__main__":
    main()
