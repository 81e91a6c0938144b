"""Make data/sample.mp4: two people moving over a generated background.

The people are cut out of matplotlib's ``grace_hopper.jpg`` sample photograph (shipped in
every matplotlib install), so this script needs nothing but the project's own
dependencies. Person A walks left to right; person B, a mirrored, differently lit copy,
enters from the right 1.5 s in, comes closer (grows) and passes in front of A.
The output is deterministic for a given PyAV/libx264 build (fixed seed, single thread).

Run from the repository root::

    python data/make_sample.py            # writes data/sample.mp4
    python data/make_sample.py --check    # also prints per-frame MediaPipe counts
"""

from __future__ import annotations

import argparse
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from matplotlib import cbook
from PIL import Image, ImageDraw, ImageFilter

WIDTH, HEIGHT = 640, 360
FPS = 12
SECONDS = 5
SEED = 20251031
OUT = Path(__file__).resolve().parent / "sample.mp4"


def person_cutout() -> tuple[np.ndarray, np.ndarray]:
    """Grace Hopper's head and shoulders as RGB (H, W, 3) and a soft alpha (H, W) in [0, 1]."""
    with cbook.get_sample_data("grace_hopper.jpg") as f:
        photo = Image.open(f).convert("RGB")
    w, h = photo.size
    mask = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(mask)
    # Head with cap, then shoulders and chest: drops most of the flag behind her.
    draw.ellipse([0.28 * w, 0.0, 0.74 * w, 0.66 * h], fill=255)
    draw.ellipse([-0.05 * w, 0.52 * h, 1.05 * w, 1.6 * h], fill=255)
    mask = mask.filter(ImageFilter.GaussianBlur(6))
    return np.asarray(photo), np.asarray(mask, dtype=np.float32) / 255.0


def background(rng: np.random.Generator) -> np.ndarray:
    """A plain wall-and-floor scene with a little texture."""
    y = np.linspace(0.0, 1.0, HEIGHT)[:, None, None]
    wall = np.array([196, 206, 214], np.float32) * (1.0 - 0.15 * y)
    img = np.broadcast_to(wall, (HEIGHT, WIDTH, 3)).copy()
    floor = int(HEIGHT * 0.78)
    img[floor:] = np.array([150, 128, 105], np.float32)
    for _ in range(6):  # a few pale panels on the wall
        x0 = int(rng.integers(0, WIDTH - 80))
        y0 = int(rng.integers(10, floor - 120))
        shade = rng.uniform(-18, 18)
        img[y0 : y0 + 110, x0 : x0 + 70] += shade
    img += rng.normal(0.0, 3.0, img.shape).astype(np.float32)
    return np.clip(img, 0, 255)


def paste(canvas: np.ndarray, rgb: np.ndarray, alpha: np.ndarray, x: int, y: int) -> None:
    """Alpha-blend ``rgb`` onto ``canvas`` with its top-left corner at (x, y), clipped."""
    h, w = alpha.shape
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, WIDTH), min(y + h, HEIGHT)
    if x1 <= x0 or y1 <= y0:
        return
    a = alpha[y0 - y : y1 - y, x0 - x : x1 - x, None]
    src = rgb[y0 - y : y1 - y, x0 - x : x1 - x]
    canvas[y0:y1, x0:x1] = canvas[y0:y1, x0:x1] * (1.0 - a) + src * a


def scaled(rgb: np.ndarray, alpha: np.ndarray, height: int) -> tuple[np.ndarray, np.ndarray]:
    width = round(rgb.shape[1] * height / rgb.shape[0])
    im = Image.fromarray(rgb).resize((width, height), Image.Resampling.LANCZOS)
    al = Image.fromarray((alpha * 255).astype(np.uint8)).resize((width, height))
    return np.asarray(im, np.float32), np.asarray(al, np.float32) / 255.0


def frames() -> list[np.ndarray]:
    rng = np.random.default_rng(SEED)
    bg = background(rng)
    rgb, alpha = person_cutout()
    # Person B: mirrored and lit warmer, so the two look different.
    rgb_b = np.clip(rgb[:, ::-1].astype(np.float32) * np.array([1.08, 0.98, 0.86]), 0, 255)
    alpha_b = alpha[:, ::-1]
    n = FPS * SECONDS
    out = []
    for i in range(n):
        t = i / FPS
        canvas = bg.copy()
        people = []
        # A walks right at a steady pace, bobbing slightly.
        ha = 230
        xa = int(-40 + 95 * t)
        ya = HEIGHT - ha + int(4 * np.sin(2 * np.pi * 1.5 * t))
        people.append((ha, xa, ya, rgb, alpha))
        if t >= 1.5:  # B enters from the right, comes closer and passes in front of A
            s = (t - 1.5) / (SECONDS - 1.5)
            hb = int(200 + 90 * s)
            xb = int(WIDTH - 150 - 470 * s)
            yb = HEIGHT - hb + int(3 * np.sin(2 * np.pi * 1.2 * t + 1.0))
            people.append((hb, xb, yb, rgb_b, alpha_b))
        for h, x, y, src, al in sorted(people, key=lambda p: p[0]):  # nearer (taller) on top
            im, a = scaled(np.asarray(src, np.uint8), al, h)
            paste(canvas, im, a, x, y)
        out.append(np.clip(canvas, 0, 255).astype(np.uint8))
    return out


def write(path: Path, images: list[np.ndarray]) -> None:
    with av.open(str(path), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=Fraction(FPS))
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        # One thread and fixed options keep the bytes identical run to run.
        stream.codec_context.thread_count = 1
        stream.options = {"crf": "26", "preset": "medium", "g": str(FPS * 2)}
        for img in images:
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def check(images: list[np.ndarray]) -> None:
    """Print per-frame MediaPipe face count and people found by pose on left/right halves."""
    import mediapipe as mp

    faces_ok = people_ok = 0
    with (
        mp.solutions.face_detection.FaceDetection(model_selection=0) as fd,
        mp.solutions.pose.Pose(static_image_mode=True) as pose,
    ):
        for i, img in enumerate(images):
            res = fd.process(img)
            dets = res.detections or []
            boxes = []
            for d in dets:
                b = d.location_data.relative_bounding_box
                boxes.append((b.xmin * WIDTH, b.ymin * HEIGHT, b.width * WIDTH, b.height * HEIGHT))
            # One pose run per face: crop around the face, head and shoulders below it.
            poses = 0
            for x, y, w, h in boxes:
                cx = x + w / 2
                x0, x1 = int(max(cx - 2.2 * w, 0)), int(min(cx + 2.2 * w, WIDTH))
                y0, y1 = int(max(y - 1.0 * h, 0)), HEIGHT
                r = pose.process(np.ascontiguousarray(img[y0:y1, x0:x1]))
                poses += r.pose_landmarks is not None
            expected = 1 if i / FPS < 1.5 else 2
            faces_ok += len(dets) >= expected
            people_ok += poses >= expected
            print(
                f"frame {i:3d}  t={i / FPS:5.2f}s  people={expected}  faces={len(dets)}  "
                f"poses={poses}"
            )
    n = len(images)
    print(f"frames with every face found: {faces_ok}/{n}; with every pose found: {people_ok}/{n}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=OUT)
    parser.add_argument("--check", action="store_true", help="run MediaPipe on the frames")
    args = parser.parse_args()
    images = frames()
    write(args.output, images)
    print(f"wrote {args.output} ({args.output.stat().st_size / 1e3:.0f} kB, {len(images)} frames)")
    if args.check:
        from persontrack.video import iter_frames

        check([f.image for f in iter_frames(args.output)])


if __name__ == "__main__":
    main()
