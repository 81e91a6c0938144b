"""Hostile videos through the library, the Python client and the CLI.

Empty, truncated, text, random bytes, zero frames, audio only, 1x1, GIFs (with zero
delays), variable and degenerate frame rates, a unicode/quote/shell-character name, and
frames too large (defect 6 of issue 14: an 8000x8000 video ran for minutes at 4.9 GB RSS).
Each gives the documented result of ``hostile_videos.CASES``: frames, or a named error.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import time

import pytest
from hostile_videos import CASES, make_videos
from jobs_support import FAKE_TRACKER

import persontrack as pt
from persontrack.errors import PersonTrackError
from persontrack.io.video import MAX_FRAME_PIXELS, MAX_FRAME_SIDE, iter_frames, open_video

BAD = sorted(k for k, v in CASES.items() if v != "ok")
GOOD = sorted(k for k, v in CASES.items() if v == "ok")


@pytest.fixture(scope="module")
def videos(tmp_path_factory, sample_video):
    return make_videos(tmp_path_factory.mktemp("hostile-videos"), sample_video)


def outcome(fn) -> str:
    try:
        fn()
    except PersonTrackError as exc:
        assert exc.message, "a named error has a message"
        return type(exc).__name__
    return "ok"


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("backend", ["auto", "pyav"])
def test_library_reads_or_names_the_error(videos, case, backend):
    def read():
        with open_video(videos[case], backend=backend) as video:
            meta = video.metadata
            frames = list(video.frames())
        assert frames, "an opened video has frames"
        stamps = [f.timestamp_ms for f in frames]
        assert stamps == sorted(set(stamps)), "timestamps strictly increase"
        assert meta.FrameRate > 0 and meta.FrameWidth >= 1 and meta.FrameHeight >= 1
        assert all(f.image.shape == (meta.FrameHeight, meta.FrameWidth, 3) for f in frames)
        sampled = list(iter_frames(videos[case], target_fps=5, backend=backend))
        assert 1 <= len(sampled) <= len(frames)

    assert outcome(read) == CASES[case]


@pytest.mark.parametrize("case", ["too_many_pixels", "too_long_side"])
def test_too_large_frames_are_refused_before_decoding(videos, case):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.monotonic()
    with pytest.raises(pt.VideoTooLargeException) as e:
        pt.read_metadata(videos[case])
    assert time.monotonic() - t0 < 5
    assert f"{MAX_FRAME_SIDE} pixels a side" in e.value.message
    assert f"{MAX_FRAME_PIXELS / 1e6:.1f} megapixels" in e.value.message
    # an 8000x8000 RGB frame alone would be 192 MB; nothing near that was allocated
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 150 * 1024


@pytest.mark.parametrize("case", ["one_by_one", "gif_zero_delay", "same_timestamps"])
def test_the_real_pipeline_tracks_degenerate_videos(videos, case):
    result = pt.track_video(videos[case])
    assert result.metadata.FrameWidth >= 1
    assert list(result.frame.columns)[:3] == ["Timestamp", "FrameNumber", "Index"]


@pytest.fixture(scope="module")
def bucket(tmp_path_factory, videos):
    root = tmp_path_factory.mktemp("hostile-buckets")
    (root / "bad").mkdir()
    for path in videos.values():
        shutil.copy(path, root / "bad" / path.name)
    return root


def _integrity(data_dir) -> str:
    with sqlite3.connect(data_dir / "jobs.sqlite3") as db:
        return db.execute("PRAGMA integrity_check").fetchone()[0]


def test_client_gives_a_named_error_or_a_finished_job_for_every_video(tmp_path, bucket, videos):
    c = pt.client(
        data_dir=tmp_path / "data",
        bucket_root=bucket,
        tracker=FAKE_TRACKER,
        settings={"rows": 5},
        max_workers=2,
    )
    try:
        started, refused = {}, {}
        for case, path in videos.items():
            video = {"S3Object": {"Bucket": "bad", "Name": path.name}}
            try:
                started[case] = c.start_person_tracking(Video=video)["JobId"]
            except PersonTrackError as exc:
                refused[case] = type(exc).__name__
        # frames too large are refused at once, as Rekognition refuses too-large videos
        assert refused == {k: v for k, v in CASES.items() if v == "VideoTooLargeException"}
        for case, job_id in started.items():
            done = c.wait(job_id, timeout=90)
            if CASES[case] == "ok":
                assert done["JobStatus"] == "SUCCEEDED", (case, done["StatusMessage"])
                assert done["VideoMetadata"]["FrameWidth"] >= 1
            else:
                assert done["JobStatus"] == "FAILED", case
                assert done["StatusMessage"].startswith(CASES[case] + ": "), done
        assert _integrity(c.data_dir) == "ok"
    finally:
        c.close()


def _cli(*args, data_dir, bucket_root, timeout=60):
    cmd = [sys.executable, "-m", "persontrack.cli", *args]
    cmd += ["--data-dir", str(data_dir), "--bucket-root", str(bucket_root)]
    env = {**os.environ, "PERSONTRACK_TRACKER": FAKE_TRACKER}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)


@pytest.mark.parametrize("case", ["unicode_name", "too_many_pixels"])
def test_cli_start_and_get_on_hostile_videos(tmp_path, bucket, videos, case):
    data = tmp_path / "data"
    run = _cli(
        "start", "--bucket", "bad", "--name", videos[case].name, data_dir=data, bucket_root=bucket
    )
    if CASES[case] == "VideoTooLargeException":
        assert run.returncode == 2
        assert run.stderr.startswith("persontrack: VideoTooLargeException: "), run.stderr
        assert run.stderr.count("\n") == 1
        return
    assert run.returncode == 0, run.stderr
    job_id = json.loads(run.stdout)["JobId"]
    with pt.client(data_dir=data, bucket_root=bucket) as c:
        c.wait(job_id, timeout=90)
    page = json.loads(_cli("get", job_id, data_dir=data, bucket_root=bucket).stdout)
    expected = "SUCCEEDED" if CASES[case] == "ok" else "FAILED"
    assert page["JobStatus"] == expected, page
    assert page["Video"]["S3Object"]["Name"] == videos[case].name
    if expected == "FAILED":
        assert page["StatusMessage"].startswith(CASES[case])
    assert _integrity(data) == "ok"


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda v: pt.open_video(123), "InvalidParameterException"),
        (lambda v: pt.open_video(b"/tmp/x.mp4"), "InvalidParameterException"),
        (lambda v: pt.open_video(__import__("io").StringIO("x")), "InvalidParameterException"),
        (lambda v: pt.open_video(v["gif"], backend="ffmpeg"), "InvalidParameterException"),
        (lambda v: pt.open_video("/dev/zero"), "InvalidS3ObjectException"),
        (lambda v: pt.open_video(v["gif"].parent), "InvalidS3ObjectException"),
        (lambda v: pt.open_video(str(v["gif"]) + "\x00"), "InvalidS3ObjectException"),
        (lambda v: list(iter_frames(v["gif"], every_n=0)), "InvalidParameterException"),
        (
            lambda v: list(iter_frames(v["gif"], target_fps=float("nan"))),
            "InvalidParameterException",
        ),
        (
            lambda v: list(iter_frames(v["gif"], every_n=2, target_fps=2)),
            "InvalidParameterException",
        ),
        (lambda v: pt.track_video(v["gif"], {"no_such_setting": 1}), "InvalidParameterException"),
        (lambda v: pt.track_video(v["gif"], "fast"), "InvalidParameterException"),
        (lambda v: pt.track_video(v["empty"]), "InvalidS3ObjectException"),
    ],
)
def test_library_wrong_typed_arguments(videos, call, error):
    assert outcome(lambda: call(videos)) == error
