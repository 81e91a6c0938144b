"""Hostile video files for the hostile-input tests, generated with PyAV and Pillow.

Each entry of :data:`CASES` names a file :func:`make_videos` writes and the documented
outcome of reading it: a Rekognition error code, or ``"ok"`` (frames are read).
"""

from __future__ import annotations

import fractions
import shutil
from pathlib import Path

import av
import numpy as np

CASES: dict[str, str] = {
    "empty": "InvalidS3ObjectException",
    "truncated": "InvalidS3ObjectException",
    "header_only": "InvalidS3ObjectException",
    "text": "InvalidS3ObjectException",
    "random": "InvalidS3ObjectException",
    "zero_frames": "InvalidS3ObjectException",
    "audio_only": "InvalidS3ObjectException",
    "one_by_one": "ok",
    "gif": "ok",
    "gif_zero_delay": "ok",
    "variable_rate": "ok",
    "same_timestamps": "ok",
    "raw_h264_no_timing": "ok",
    "timestamps_decord_cannot_read": "ok",
    "unicode_name": "ok",
    "too_many_pixels": "VideoTooLargeException",
    "too_long_side": "VideoTooLargeException",
}
"""Case name -> error code (or "ok")."""

_MS = fractions.Fraction(1, 1000)


def _noise(n: int, h: int, w: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 255, (h, w, 3), dtype=np.uint8) for _ in range(n)]


def _encode(path: Path, frames, *, codec="libx264", pix_fmt="yuv420p", pts=None, fmt=None):
    with av.open(str(path), "w", format=fmt) as c:
        s = c.add_stream(codec, rate=12)
        s.height, s.width = frames[0].shape[:2]
        s.pix_fmt = pix_fmt
        if pts is not None:
            s.time_base = _MS
        for i, img in enumerate(frames):
            f = av.VideoFrame.from_ndarray(img, format="rgb24")
            if pts is not None:
                f.pts, f.time_base = pts[i], _MS
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def _blank(path: Path, width: int, height: int, codec: str, pix_fmt: str) -> Path:
    """One blank frame of any size, encoded without converting an RGB array."""
    with av.open(str(path), "w") as c:
        s = c.add_stream(codec, rate=1)
        s.width, s.height, s.pix_fmt = width, height, pix_fmt
        frame = av.VideoFrame(width, height, pix_fmt)
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        for p in s.encode(frame):
            c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def _untimed_mkv(path: Path, frames: int = 3) -> Path:
    """Frames numbered 0, 1, 2 at 2 fps in Matroska: decord reads NaN timestamps."""
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=2)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        frame = av.VideoFrame(64, 48, "yuv420p")
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        for i in range(frames):
            frame.pts = i
            for p in s.encode(frame):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def make_videos(folder: Path, sample: Path) -> dict[str, Path]:
    """Write every case of :data:`CASES` into ``folder``; returns case -> file."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    data = sample.read_bytes()
    out: dict[str, Path] = {}

    def write(name: str, content: bytes) -> Path:
        (folder / name).write_bytes(content)
        return folder / name

    out["empty"] = write("empty.mp4", b"")
    out["truncated"] = write("truncated.mp4", data[: len(data) // 3])
    out["header_only"] = write("header_only.mp4", data[:2000])
    out["text"] = write("text.mp4", b"this is not a video\n" * 50)
    out["random"] = write("random.mp4", np.random.default_rng(1).bytes(50_000))
    out["zero_frames"] = folder / "zero_frames.mkv"
    with av.open(str(out["zero_frames"]), "w") as c:
        s = c.add_stream("libx264", rate=12)
        s.width = s.height = 16
        s.pix_fmt = "yuv420p"
        c.start_encoding()  # header written, no frame
    out["audio_only"] = folder / "audio_only.mka"
    with av.open(str(out["audio_only"]), "w") as c:
        a = c.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(
            np.zeros((1, 800), np.int16), format="s16", layout="mono"
        )
        frame.sample_rate = 8000
        for p in a.encode(frame):
            c.mux(p)
        for p in a.encode():
            c.mux(p)
    out["one_by_one"] = _encode(
        folder / "one_by_one.mkv", _noise(5, 1, 1), codec="ffv1", pix_fmt="yuv444p"
    )
    images = [Image.fromarray(a) for a in _noise(4, 32, 48)]
    out["gif"] = folder / "anim.gif"
    images[0].save(
        out["gif"], save_all=True, append_images=images[1:], duration=[40, 120, 40, 300], loop=0
    )
    out["gif_zero_delay"] = folder / "zero_delay.gif"
    images[0].save(out["gif_zero_delay"], save_all=True, append_images=images[1:], duration=0)
    out["variable_rate"] = _encode(
        folder / "vfr.mkv", _noise(6, 32, 32), pts=[0, 10, 200, 210, 900, 2000]
    )
    out["same_timestamps"] = _encode(folder / "same_ts.mkv", _noise(3, 32, 32), pts=[0, 0, 0])
    out["raw_h264_no_timing"] = _encode(folder / "raw.h264", _noise(3, 32, 32), fmt="h264")
    out["timestamps_decord_cannot_read"] = _untimed_mkv(folder / "untimed.mkv")
    out["unicode_name"] = folder / "ünïcødé 名前 🎥 'q\" $x.mp4"
    shutil.copy(sample, out["unicode_name"])
    out["too_many_pixels"] = _blank(folder / "huge.mkv", 8000, 8000, "mjpeg", "yuvj420p")
    out["too_long_side"] = _blank(folder / "long_side.mkv", 10_016, 16, "ffv1", "yuv444p")
    assert set(out) == set(CASES)
    return out
