"""track_stream and `persontrack track URL` on real local streams (ffmpeg on 127.0.0.1)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
from procs import reap
from stream_server import StreamServer, ffmpeg_path, free_port

import persontrack as pt


@pytest.fixture(scope="session")
def ffmpeg() -> str:
    return ffmpeg_path()


def gather(live: pt.StreamTracking, seconds: float, chunks: list[pd.DataFrame]) -> None:
    """Take chunks for ``seconds`` (iterating in the test's thread, as a user does)."""
    end = time.monotonic() + seconds
    for chunk in live:
        chunks.append(chunk)
        if time.monotonic() >= end:
            return


def test_results_arrive_while_it_plays_and_an_outage_is_survived(ffmpeg, sample_video):
    url = f"udp://127.0.0.1:{free_port()}"
    server = StreamServer(ffmpeg, sample_video, url).start()
    live = pt.track_stream(url, read_timeout_s=1.0, backoff_s=0.2, max_backoff_s=1.0)
    try:
        before: list[pd.DataFrame] = []
        gather(live, 14.0, before)
        rows = pd.concat(before)
        assert server.process is not None and server.process.poll() is None  # still playing
        assert len(rows) >= 3 and rows["Index"].min() == 0, live.stats()
        assert list(rows.columns) == [*pt.COLUMNS, "WallClock"]
        pt.validate_frame(rows.drop(columns="WallClock"))
        lag = pd.Timestamp.now(tz="UTC") - rows["WallClock"].max()
        assert lag < pd.Timedelta(seconds=10)  # results of frames received moments ago
        # Box positions are real detections of the sample's people (inside the frame).
        assert rows["Left"].between(-0.05, 1).all() and rows["Height"].gt(0.2).all()

        server.stop()
        time.sleep(3.0)
        server.start()
        after: list[pd.DataFrame] = []
        gather(live, 14.0, after)
        later = pd.concat(after)
        stats = live.stats()
        assert stats["reconnects"] >= 1, stats
        new = later[later["FrameNumber"] > rows["FrameNumber"].max()]
        assert len(new) >= 3, stats
        assert new["Timestamp"].min() > rows["Timestamp"].max()  # video time carries on
        assert stats["frames_analysed"] >= 6 and stats["latency_s_max"] < 10

        t = time.monotonic()
        live.stop()
        assert time.monotonic() - t < 5.0 and not live.running
    finally:
        live.stop()
        server.stop()


@pytest.mark.shared_data
def test_shared_video_over_http_and_chunks_to_a_callback(ffmpeg, shared_data):
    video = shared_data / "videos" / "face-demographics-walking.mp4"
    url = f"http://127.0.0.1:{free_port(kind=1)}"
    server = StreamServer(ffmpeg, video, url).start()
    time.sleep(0.3)
    chunks: list[pd.DataFrame] = []
    live = pt.track_stream(url, {"faces": False}, chunk_frames=2, on_chunk=chunks.append)
    try:
        end = time.monotonic() + 40
        while time.monotonic() < end and sum(len(c) for c in chunks) < 6:
            assert not live.wait(0.5) or live.stats()["frames_analysed"] > 0
        rows = pd.concat(chunks)
        assert len(rows) >= 6, live.stats()
        assert rows["Index"].nunique() >= 1 and rows["FaceConfidence"].isna().all()
        assert live.frame_size == (480, 270)
        with pytest.raises(pt.InvalidParameterException, match="on_chunk"):
            iter(live).__next__()
    finally:
        t = time.monotonic()
        live.stop()
        stopped = time.monotonic() - t
        server.stop()
    assert stopped < 5.0 and live.wait(0)


def test_cli_tracks_a_stream_until_ctrl_c(ffmpeg, sample_video, tmp_path):
    url = f"udp://127.0.0.1:{free_port()}"
    out = tmp_path / "live.csv"
    server = StreamServer(ffmpeg, sample_video, url).start()
    cmd = [sys.executable, "-m", "persontrack.cli", "track", url, "-o", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        end = time.monotonic() + 60
        while time.monotonic() < end and (not out.exists() or out.read_text().count("\n") < 4):
            assert proc.poll() is None, reap(proc)
            time.sleep(0.5)
        t = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=15)
        assert time.monotonic() - t < 10
    finally:
        if proc.poll() is None:
            reap(proc)
        server.stop()
    assert proc.returncode == 0, err[-2000:]
    assert "stopped" in err and "Traceback" not in err
    table = pd.read_csv(out)
    assert len(table) >= 3 and {"Timestamp", "Index", "WallClock"} <= set(table.columns)
    assert pd.to_datetime(table["WallClock"], utc=True).notna().all()


def test_settings_and_sources_that_do_not_fit(tmp_path):
    with pytest.raises(pt.InvalidParameterException, match="every_n_frames"):
        pt.track_stream("udp://127.0.0.1:9", {"every_n_frames": 2})
    with pytest.raises(pt.InvalidParameterException, match="chunk_s"):
        pt.track_stream("udp://127.0.0.1:9", chunk_s=0)
    live = pt.track_stream(
        f"http://127.0.0.1:{free_port(kind=1)}", max_attempts=1, open_timeout_s=1.0
    )
    with pytest.raises(pt.InvalidS3ObjectException, match="no frame from"):
        list(live)
    assert not live.running
