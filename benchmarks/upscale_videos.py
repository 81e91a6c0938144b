"""Small videos: the person detector at the frame's own size against the frame enlarged.

Every shared video is smaller than the ``balanced`` detector input (864 px). For each, the
first ``--frames`` analysed frames (default analysis rate, landmarks and faces off: they do
not change who is found) are tracked twice: ``detector_max_upscale=None`` (the frame
enlarged to 864 px, the behaviour before ``max_upscale``) and ``1.0`` (the default: the
frame at its own size, rounded to multiples of 32). Printed per video and setting, one
markdown row: the detector's input, people (Index values), entries, entries per analysed
frame, analysed frames without any entry, and the detector's ms per frame (wall clock: on a
loaded machine compare the ratio, not the figure)::

    .venv/bin/python benchmarks/upscale_videos.py [--frames 250] [--videos a.mp4 b.mkv]
"""

from __future__ import annotations

import argparse

from _shared import shared_videos

import persontrack as pt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=250, help="analysed frames per video")
    parser.add_argument("--videos", nargs="*", default=None, help="names in the shared videos")
    args = parser.parse_args()
    folder = shared_videos()
    paths = [folder / v for v in args.videos] if args.videos else sorted(folder.iterdir())
    print("| video | size | detector input | people | entries | per frame | empty frames "
          "| detect ms/frame |")  # fmt: skip
    print("|---" * 8 + "|")
    totals = {None: 0, 1.0: 0}
    for path in paths:
        meta = pt.read_metadata(path)
        w, h = meta.FrameWidth, meta.FrameHeight
        for upscale in (None, 1.0):
            scale = 864 / max(w, h) if upscale is None else min(864 / max(w, h), upscale)
            size = f"{round(w * scale / 32) * 32}x{round(h * scale / 32) * 32}"
            result = pt.track_video(
                path,
                {
                    "landmarks": False,
                    "faces": False,
                    "max_frames": args.frames,
                    "detector_max_upscale": upscale,
                },
            )
            df, frames = result.frame, int(result.timings["frames"])
            empty = frames - df["FrameNumber"].nunique()
            totals[upscale] += len(df)
            ms = 1000 * result.timings["detect"] / max(frames, 1)
            print(
                f"| {path.name} | {w}x{h} | {size}{' (enlarged)' if upscale is None else ''} "
                f"| {df['Index'].nunique()} | {len(df)} | {len(df) / max(frames, 1):.2f} "
                f"| {empty} of {frames} | {ms:.1f} |",
                flush=True,
            )
    print(f"\nentries, all videos: enlarged {totals[None]}, own size {totals[1.0]}")


if __name__ == "__main__":
    main()
