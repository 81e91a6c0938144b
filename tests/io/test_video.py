"""persontrack.io.video: metadata, frames from both back ends, sampling, fallback, bad input."""

from __future__ import annotations

import io
import time
import warnings
from pathlib import Path

import av
import botocore.session
import numpy as np
import pytest
from PIL import Image

from persontrack.errors import InvalidParameterException, InvalidS3ObjectException
from persontrack.io._readers import decord_available
from persontrack.io.video import Frame, VideoMetadata, iter_frames, open_video, read_metadata

HAS_DECORD = decord_available()
needs_decord = pytest.mark.skipif(
    not HAS_DECORD,
    reason="decord has no wheel for this platform; PyAV is the only back end here",
)


def _gif(path: Path, n: int = 6) -> Path:
    """An animated GIF (decord cannot read GIFs), frame i filled with grey level 40 * i."""
    ims = [Image.new("RGB", (64, 48), (40 * i, 40 * i, 40 * i)) for i in range(n)]
    ims[0].save(path, save_all=True, append_images=ims[1:], duration=100, loop=0)
    return path


def _decode_all(source, backend, **kw) -> list[Frame]:
    with open_video(source, backend=backend) as video:
        return list(video.frames(**kw))


@pytest.fixture(scope="module")
def sample_frames(sample_video):
    frames = {"pyav": _decode_all(sample_video, "pyav")}
    if HAS_DECORD:
        frames["decord"] = _decode_all(sample_video, "decord")
    return frames


# --------------------------------------------------------------------------- metadata


def test_sample_metadata(sample_video):
    meta = read_metadata(sample_video)
    assert meta == VideoMetadata(
        Codec="h264",
        ColorRange="LIMITED",
        DurationMillis=5000,
        Format="QuickTime / MOV",
        FrameHeight=360,
        FrameRate=12.0,
        FrameWidth=640,
        FrameCount=60,
        FileExtension="mp4",
    )


def test_to_dict_matches_botocore_shape(sample_video):
    shape = botocore.session.get_session().get_service_model("rekognition")
    members = shape.shape_for("VideoMetadata").members
    d = read_metadata(sample_video).to_dict()
    assert set(d) == set(members)
    assert d["ColorRange"] in members["ColorRange"].enum
    types = {"string": str, "long": int, "float": float}
    for key, value in d.items():
        assert type(value) is types[members[key].type_name], key


def test_from_dict_roundtrip_and_unknown_keys(sample_video):
    meta = read_metadata(sample_video)
    d = {**meta.to_dict(), "SomethingNew": 1, "FrameCount": 60, "FileExtension": "mp4"}
    assert VideoMetadata.from_dict(d) == meta
    plain = VideoMetadata.from_dict(meta.to_dict())
    assert plain.FrameCount is None and plain.to_dict() == meta.to_dict()
    with pytest.raises(InvalidParameterException, match="FrameRate"):
        VideoMetadata.from_dict({k: v for k, v in meta.to_dict().items() if k != "FrameRate"})


@pytest.mark.shared_data
def test_shared_metadata(shared_data):
    videos = shared_data / "videos"
    m = read_metadata(videos / "one-by-one-person-detection.mp4")
    assert (m.Codec, m.Format, m.FrameWidth, m.FrameHeight) == ("h264", "QuickTime / MOV", 768, 432)
    assert (m.FrameRate, m.FrameCount, m.DurationMillis) == (10.0, 1394, 139400)
    mkv = read_metadata(videos / "flipping_a_pancake.mkv")
    assert (mkv.Format, mkv.Codec, mkv.FileExtension) == ("Matroska / WebM", "h264", "mkv")
    assert (mkv.FrameWidth, mkv.FrameHeight, mkv.FrameRate) == (426, 240, 30.0)
    assert 10_300 <= mkv.DurationMillis <= 10_400
    old = read_metadata(videos / "people-detection.mp4")
    assert (old.Codec, old.FrameRate, old.FrameCount) == ("mpeg4", 12.5, 23)


# --------------------------------------------------------------------------- frames


@pytest.mark.parametrize("backend", ["pyav", pytest.param("decord", marks=needs_decord)])
def test_frames_shape_index_and_timestamps(sample_frames, backend):
    frames = sample_frames[backend]
    assert len(frames) == 60
    assert [f.index for f in frames] == list(range(60))
    # 12 fps: frame i is shown at i / 12 s.
    assert [f.timestamp_ms for f in frames] == [round(i * 1000 / 12) for i in range(60)]
    for f in frames[::10]:
        assert f.image.shape == (360, 640, 3)
        assert f.image.dtype == np.uint8 and f.image.flags.c_contiguous


@needs_decord
def test_backends_agree(sample_frames):
    a, b = sample_frames["decord"], sample_frames["pyav"]
    assert len(a) == len(b)
    for fa, fb in zip(a, b, strict=True):
        assert (fa.index, fa.timestamp_ms) == (fb.index, fb.timestamp_ms)
        diff = np.abs(fa.image.astype(int) - fb.image.astype(int))
        assert diff.mean() < 1.0 and diff.max() <= 8


def test_frames_are_not_blank(sample_frames):
    # The generated wall is pale; the people's dark uniforms must show up.
    img = sample_frames["pyav"][30].image
    assert img.min() < 40 and img.max() > 180 and img.std() > 30


@needs_decord
@pytest.mark.shared_data
def test_backends_agree_on_shared_videos(shared_data):
    for name in ("people-detection.mp4", "flipping_a_pancake.mkv"):
        path = shared_data / "videos" / name
        a = _decode_all(path, "decord", every_n=7)
        b = _decode_all(path, "pyav", every_n=7)
        assert [(f.index, f.timestamp_ms) for f in a] == [(f.index, f.timestamp_ms) for f in b]
        for fa, fb in zip(a, b, strict=True):
            assert np.abs(fa.image.astype(int) - fb.image.astype(int)).mean() < 1.0


@pytest.mark.parametrize("backend", ["pyav", pytest.param("decord", marks=needs_decord)])
def test_every_n(sample_video, sample_frames, backend):
    frames = _decode_all(sample_video, backend, every_n=7)
    assert [f.index for f in frames] == list(range(0, 60, 7))
    full = sample_frames[backend]
    for f in frames:
        assert f.timestamp_ms == full[f.index].timestamp_ms
        assert np.array_equal(f.image, full[f.index].image)


@pytest.mark.parametrize("backend", ["pyav", pytest.param("decord", marks=needs_decord)])
def test_a_time_span_seeks_and_keeps_the_whole_videos_frame_numbers(
    sample_video, sample_frames, backend
):
    full = sample_frames[backend]
    span = _decode_all(sample_video, backend, every_n=2, start_ms=2100, end_ms=3900)
    want = [f for f in full if f.index % 2 == 0 and 2100 <= f.timestamp_ms < 3900]
    assert [(f.index, f.timestamp_ms) for f in span] == [(f.index, f.timestamp_ms) for f in want]
    assert len(span) > 5
    assert all(np.array_equal(a.image, b.image) for a, b in zip(span, want, strict=True))
    rest = _decode_all(sample_video, backend, start_ms=4500)
    assert [f.index for f in rest] == [f.index for f in full if f.timestamp_ms >= 4500]
    # sampled at a rate: a span keeps the frames the whole video keeps there (the grid is
    # the whole video's; a Dask segment's overlap meets its neighbour's on the same frames)
    whole = _decode_all(sample_video, backend, target_fps=5)
    for start in (2100, 2150, 2200):
        span = _decode_all(sample_video, backend, target_fps=5, start_ms=start, end_ms=3900)
        want = [f.index for f in whole if start <= f.timestamp_ms < 3900]
        assert [f.index for f in span] == want


@pytest.mark.parametrize("backend", ["pyav", pytest.param("decord", marks=needs_decord)])
def test_target_fps(sample_video, backend):
    # 12 fps -> 5 fps: a grid point every 200 ms over 5 s, each matched to the nearest frame.
    frames = _decode_all(sample_video, backend, target_fps=5)
    assert len(frames) == 25
    for k, f in enumerate(frames):
        assert abs(f.timestamp_ms - 200 * k) <= 1000 / 12 / 2 + 1
    assert [f.index for f in frames[:6]] == [0, 2, 5, 7, 10, 12]
    # Never more frames than the video has.
    assert len(_decode_all(sample_video, backend, target_fps=100)) == 60
    assert [f.index for f in _decode_all(sample_video, backend, target_fps=4)] == list(
        range(0, 60, 3)
    )


def test_iter_frames_and_timestamps_monotonic(sample_video):
    stamps = [f.timestamp_ms for f in iter_frames(sample_video, target_fps=7)]
    assert all(isinstance(t, int) for t in stamps)
    assert all(b > a for a, b in zip(stamps[:-1], stamps[1:], strict=True))
    assert stamps[0] == 0 and stamps[-1] <= 5000


@pytest.mark.parametrize("backend", ["auto", "pyav", pytest.param("decord", marks=needs_decord)])
def test_file_object_input(sample_video, sample_frames, backend):
    expected = sample_frames["pyav"]
    with open(sample_video, "rb") as f:
        with open_video(f, backend=backend) as video:
            assert video.metadata.FrameCount == 60 and video.metadata.FileExtension == "mp4"
            frames = list(video.frames(every_n=20))
            # A second pass re-reads the file object from its start.
            assert len(list(video.frames(every_n=20))) == 3
    assert [f.index for f in frames] == [0, 20, 40]
    for f in frames:
        assert np.abs(f.image.astype(int) - expected[f.index].image.astype(int)).mean() < 1.0
    mem = io.BytesIO(sample_video.read_bytes())
    assert read_metadata(mem).FrameCount == 60 and read_metadata(mem).FileExtension is None


# --------------------------------------------------------------------------- fallback


def test_gif_falls_back_to_pyav(tmp_path):
    gif = _gif(tmp_path / "moving.gif")
    with open_video(gif) as video:
        assert video.backend == "pyav"
        assert video.metadata.Codec == "gif" and video.metadata.ColorRange == "FULL"
        frames = list(video.frames())
    assert [f.index for f in frames] == list(range(6))
    assert [f.timestamp_ms for f in frames] == [100 * i for i in range(6)]
    assert [int(f.image[10, 10, 0]) for f in frames] == [40 * i for i in range(6)]


@needs_decord
def test_gif_with_decord_forced_fails_clearly(tmp_path):
    gif = _gif(tmp_path / "moving.gif")
    with pytest.raises(InvalidS3ObjectException, match=r"moving\.gif.*decord"):
        open_video(gif, backend="decord")


@needs_decord
def test_auto_prefers_decord(sample_video):
    with open_video(sample_video) as video:
        assert video.backend == "decord"


@needs_decord
def test_decord_failing_mid_stream_continues_with_pyav(sample_video, sample_frames, tmp_path):
    # Cut a fast-start copy in half: decord opens it, then breaks while decoding.
    fast = _faststart(sample_video, tmp_path / "fast.mp4")
    data = fast.read_bytes()
    half = tmp_path / "half.mp4"
    half.write_bytes(data[: len(data) // 2])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with open_video(half) as video:
            assert video.backend == "decord"
            frames = list(video.frames())
            assert video.backend == "pyav"
    messages = " ".join(str(w.message) for w in caught)
    assert "continuing with PyAV" in messages and "truncated" in messages
    assert 10 < len(frames) < 60
    assert [f.index for f in frames] == list(range(len(frames)))
    for f in frames:
        assert np.abs(f.image.astype(int) - sample_frames["pyav"][f.index].image).mean() < 1.0


def _faststart(src: Path, dst: Path) -> Path:
    """Remux ``src`` with the index (moov) before the data, as streaming encoders write."""
    with (
        av.open(str(src)) as inp,
        av.open(str(dst), "w", options={"movflags": "+faststart"}) as out,
    ):
        stream = out.add_stream_from_template(inp.streams.video[0])
        for packet in inp.demux(inp.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)
    return dst


# --------------------------------------------------------------------------- bad input


def test_missing_file(tmp_path):
    with pytest.raises(InvalidS3ObjectException, match=r"nope\.mp4.*does not exist"):
        open_video(tmp_path / "nope.mp4")
    with pytest.raises(InvalidS3ObjectException, match="not a regular file"):
        read_metadata(tmp_path)


@pytest.mark.parametrize(
    "content",
    [b"", b"this is a text file, not a video\n" * 20, "half", "header-only"],
    ids=["empty", "text", "truncated-no-index", "truncated-no-frames"],
)
def test_unreadable_files_name_both_backends(sample_video, tmp_path, content, capfd):
    path = tmp_path / "bad.mp4"
    if content == "half":  # the MP4 index (moov) is at the end and gets cut off
        data = sample_video.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif content == "header-only":  # index present, no frame data at all
        data = _faststart(sample_video, tmp_path / "fast.mp4").read_bytes()
        path.write_bytes(data[: data.find(b"mdat") + 64])
    else:
        path.write_bytes(content)
    capfd.readouterr()
    with pytest.raises(InvalidS3ObjectException) as info:
        open_video(path)
    message = info.value.response["Error"]["Message"]
    assert "bad.mp4" in message and "pyav:" in message
    if HAS_DECORD:
        assert "decord:" in message
    with pytest.raises(InvalidS3ObjectException):
        open_video(path, backend="pyav")
    # decord and FFmpeg log to stderr by default; persontrack keeps them quiet.
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize(
    "kwargs",
    [
        {"every_n": 0},
        {"every_n": -3},
        {"every_n": 2.5},
        {"every_n": True},
        {"target_fps": 0},
        {"target_fps": -1.0},
        {"target_fps": float("nan")},
        {"target_fps": "5"},
        {"every_n": 2, "target_fps": 5},
    ],
)
def test_bad_sampling(sample_video, kwargs):
    with pytest.raises(InvalidParameterException):
        iter_frames(sample_video, **kwargs)
    with open_video(sample_video, backend="pyav") as video:
        with pytest.raises(InvalidParameterException):
            video.frames(**kwargs)


@pytest.mark.parametrize("backend", ["opencv", None, "", "PYAV"])
def test_bad_backend(sample_video, backend):
    with pytest.raises(InvalidParameterException, match="backend"):
        open_video(sample_video, backend=backend)


def test_bad_source_types(sample_video):
    for source in (123, None, b"data/sample.mp4", [sample_video]):
        with pytest.raises(InvalidParameterException):
            open_video(source)
    with open(sample_video, encoding="latin-1") as text_mode:
        with pytest.raises(InvalidParameterException, match="binary"):
            open_video(text_mode)


def test_closed_reader(sample_video):
    video = open_video(sample_video)
    video.close()
    with pytest.raises(InvalidParameterException, match="closed"):
        video.frames()


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


@needs_decord
@pytest.mark.shared_data
def test_decord_does_not_decode_ahead_while_consumer_is_busy(shared_data):
    # Left alone, decord 0.6 decodes the rest of the video into RAM as soon as one frame
    # is read (about 450 MB per second here for this 1394-frame, 768x432 video).
    path = shared_data / "videos" / "one-by-one-person-detection.mp4"
    with open_video(path, backend="decord") as video:
        frames = video.frames()
        next(frames)
        before = _rss_mb()
        time.sleep(1.0)  # a slow detector working on the frame
        grown = _rss_mb() - before
        assert sum(1 for _ in frames) == 1393
    assert grown < 50, f"RSS grew {grown:.0f} MB while idle"
