"""StreamReader on real local streams: ffmpeg plays a video on 127.0.0.1, goes away, comes back."""

from __future__ import annotations

import time

import pytest
from stream_server import StreamServer, ffmpeg_path, free_port

import persontrack as pt
from persontrack.io.stream import StreamReader, is_stream_source


@pytest.fixture(scope="session")
def ffmpeg() -> str:
    return ffmpeg_path()


def read_for(reader: StreamReader, seconds: float) -> list:
    frames, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        frame = reader.read(timeout=0.5)
        if frame is not None:
            frames.append(frame)
    return frames


@pytest.mark.parametrize("scheme", ["udp", "http"])
def test_frames_arrive_survive_an_outage_and_stop_promptly(ffmpeg, sample_video, scheme):
    port = free_port()
    url = f"{scheme}://127.0.0.1:{port}"
    server = StreamServer(ffmpeg, sample_video, url)
    reader = None
    try:
        server.start()
        time.sleep(0.3)  # the HTTP server listens before the reader connects
        reader = StreamReader(url, read_timeout_s=1.0, backoff_s=0.2, max_backoff_s=1.0)
        before = read_for(reader, 3.0)
        assert len(before) >= 10, reader.stats
        assert before[0].image.shape == (360, 640, 3)
        server.stop()  # the stream goes away …
        time.sleep(2.5)
        assert reader.running
        server.start()  # … and comes back
        after = read_for(reader, 5.0)
        assert len(after) >= 10, reader.stats
        assert reader.stats.connections >= 2, reader.stats
        stamps = [f.timestamp_ms for f in before + after]
        assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)  # still increasing
        assert all(b.wall_time >= a.wall_time for a, b in zip(before, before[1:], strict=False))
        t = time.monotonic()
        reader.stop()
        assert time.monotonic() - t < 2.5 and not reader.running
        assert reader.read(timeout=0.1) is None
    finally:
        if reader is not None:
            reader.stop()
        server.stop()


def test_a_source_that_never_answers_gives_up_after_max_attempts():
    url = f"http://127.0.0.1:{free_port(kind=1)}"  # a closed TCP port
    reader = StreamReader(url, max_attempts=3, backoff_s=0.05, open_timeout_s=1.0)
    assert reader.read(timeout=10) is None
    assert not reader.running and reader.stats.failed_attempts == 3
    assert "cannot open" in str(reader.stats.last_error)


def test_sources_and_options():
    assert is_stream_source("rtsp://cam/1") and is_stream_source("/dev/video2")
    assert not is_stream_source("clip.mp4") and not is_stream_source(b"udp://x")
    with pytest.raises(pt.InvalidParameterException, match="read_timeout_s"):
        StreamReader("udp://127.0.0.1:9", read_timeout_s=0)
    with pytest.raises(pt.InvalidParameterException, match="source"):
        StreamReader("")
