"""A real live stream on 127.0.0.1: Debian's ffmpeg plays a video in a loop at its own rate.

``ffmpeg_path()`` installs ffmpeg with ``setup.sh`` when it is missing (as the browser test
does for Chromium); outside CI a machine that cannot install it skips the stream tests.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

SETUP = Path(__file__).with_name("setup.sh")


def ffmpeg_path() -> str:
    path = shutil.which("ffmpeg")
    if path is None:
        done = subprocess.run(["bash", str(SETUP)], capture_output=True, text=True)
        path = shutil.which("ffmpeg")
        if path is None:
            why = f"ffmpeg is not installed and setup.sh failed: {done.stderr[-500:]}"
            if os.environ.get("CI"):
                pytest.fail(f"the stream tests must run in CI: {why}")
            pytest.skip(why)
    assert path is not None
    return path


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class StreamServer:
    """ffmpeg sending ``video`` as MPEG-TS in real time, looping, to/at ``url``.

    ``udp://127.0.0.1:P`` sends datagrams to a reader listening on port P; ``http://…``
    serves one client (``-listen 1``). Each start is a new ffmpeg process, so stopping and
    starting again is a real outage of the stream.
    """

    def __init__(
        self,
        ffmpeg: str,
        video: Path,
        url: str,
        *,
        fps: float | None = None,
        size: tuple[int, int] | None = None,
    ) -> None:
        self.ffmpeg, self.video, self.url = ffmpeg, video, url
        self.filters = []
        if fps is not None:
            self.filters.append(f"fps={fps:g}")
        if size is not None:
            self.filters.append(f"scale={size[0]}:{size[1]}")
        self.process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        cmd = [self.ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-re"]
        cmd += ["-stream_loop", "-1", "-i", str(self.video), "-an"]
        if self.filters:
            cmd += ["-vf", ",".join(self.filters)]
        # Small GOP: a reader (re)joining the stream decodes from the next keyframe, 1 s away.
        cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "12"]
        cmd += ["-pix_fmt", "yuv420p", "-f", "mpegts"]
        if self.url.startswith("http://"):
            cmd += ["-listen", "1", self.url]
        else:
            cmd += [f"{self.url}?pkt_size=1316"]
        return cmd

    def start(self) -> StreamServer:
        assert self.process is None
        self.process = subprocess.Popen(
            self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
            if self.process.stderr is not None:
                self.process.stderr.close()
            self.process = None

    def __enter__(self) -> StreamServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
