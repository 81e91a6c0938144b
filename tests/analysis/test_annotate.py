"""Annotated video: decoded back, each Index's colour is where the results put that person."""

from __future__ import annotations

import subprocess
import sys

import av
import numpy as np
import pandas as pd
import pytest

import persontrack as pt
from persontrack.analysis.annotate import annotate_frame, as_results, rgb255

# H.264 at the default quality moves a flat colour by a few levels and 4:2:0 chroma
# subsampling blurs a 3 px line into its neighbours: this is how far a drawn line's median
# colour may sit from the Index's colour (tab10's closest two colours are ~90 apart).
COLOR_TOLERANCE = 45.0


def decoded(path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def edge_strips(row, w: int, h: int) -> list[np.ndarray]:
    """Pixels along the middle half of each edge of the row's box that lies inside the frame."""
    x1, y1 = round(row.Left * w), round(row.Top * h)
    x2, y2 = round((row.Left + row.Width) * w), round((row.Top + row.Height) * h)
    ys = slice(y1 + (y2 - y1) // 4, y2 - (y2 - y1) // 4)
    xs = slice(x1 + (x2 - x1) // 4, x2 - (x2 - x1) // 4)
    strips = []
    for x in (x1, x2):
        if 1 <= x < w - 1:
            strips.append(("col", x, ys))
    for y in (y1, y2):
        if 1 <= y < h - 1:
            strips.append(("row", y, xs))
    return strips  # type: ignore[return-value]


def strip_pixels(image: np.ndarray, strip) -> np.ndarray:
    kind, at, span = strip
    return image[span, at] if kind == "col" else image[at, span]


def edge_matches(image: np.ndarray, row, others: list[int]) -> list[bool]:
    """Per visible edge: is the median colour the row's Index colour (and no other's)?"""
    h, w = image.shape[:2]
    own = np.array(rgb255(int(row.Index)), float)
    found = []
    for strip in edge_strips(row, w, h):
        pixels = strip_pixels(image, strip).astype(float)
        if len(pixels) < 4:
            continue
        median = np.median(pixels, axis=0)
        d_own = np.linalg.norm(median - own)
        d_other = min(
            (np.linalg.norm(median - np.array(rgb255(o), float)) for o in others), default=1e9
        )
        found.append(bool(d_own < COLOR_TOLERANCE and d_own < d_other))
    return found


def assert_colours_where_results_are(frames, df, *, min_share: float = 0.9):
    """Each analysed frame: most people's boxes are drawn in their Index's colour."""
    checked = matched = 0
    for number, rows in df.groupby("FrameNumber"):
        image = frames[int(number)]
        indices = [int(i) for i in rows["Index"]]
        for row in rows.itertuples(index=False):
            edges = edge_matches(image, row, [i for i in indices if i != row.Index])
            if not edges:
                continue
            checked += 1
            matched += sum(edges) >= max(1, len(edges) // 2)
    assert checked >= 10
    assert matched / checked >= min_share, (matched, checked)


def held_fraction(image: np.ndarray, row) -> float:
    """Share of a box's left edge drawn in its colour (1: solid line, ~0.5: dashed)."""
    h, w = image.shape[:2]
    own = np.array(rgb255(int(row.Index)), float)
    strips = [s for s in edge_strips(row, w, h) if s[0] == "col"]
    pixels = strip_pixels(image, strips[0]).astype(float)
    return float((np.linalg.norm(pixels - own, axis=1) < COLOR_TOLERANCE).mean())


@pytest.fixture(scope="module")
def sample_every_3(sample_video):
    return pt.track_video(sample_video, {"every_n_frames": 3})


def test_sample_colours_sit_on_each_index_and_skipped_frames_are_held(
    sample_every_3, sample_video, tmp_path
):
    df = sample_every_3.frame
    assert df["Index"].nunique() >= 2
    out = pt.annotate_video(sample_video, df, tmp_path / "a" / "sample.mp4")
    meta = pt.read_metadata(out)
    assert (meta.Codec, meta.FrameWidth, meta.FrameHeight) == ("h264", 640, 360)
    frames = decoded(out)
    assert len(frames) == 60
    assert_colours_where_results_are(frames, df)

    # Frames 1, 2 after each analysed frame 0, 3, …: the last boxes dashed, not solid.
    solid, dashed = [], []
    for row in df[df["Left"] * 640 > 20].itertuples(index=False):
        solid.append(held_fraction(frames[row.FrameNumber], row))
        dashed.append(held_fraction(frames[row.FrameNumber + 1], row))
    assert np.median(solid) > 0.85 and 0.25 < np.median(dashed) < 0.75


def test_rekognition_response_and_nothing_held_with_hold_0(sample_every_3, sample_video, tmp_path):
    # A stored GetPersonTracking response (no frame numbers) draws the same boxes.
    response = pt.strip_extensions(sample_every_3.to_response())
    df = as_results(response)
    assert df["FrameNumber"].isna().all()
    out = pt.annotate_video(sample_video, response, tmp_path / "r.mp4", trail_ms=0)
    frames = decoded(out)
    assert_colours_where_results_are(frames, sample_every_3.frame)
    # hold_ms=0: nothing is drawn on the frames in between (no trails either).
    out = pt.annotate_video(sample_video, response, tmp_path / "n.mp4", trail_ms=0, hold_ms=0)
    original = decoded(sample_video)
    between = decoded(out)[1]
    assert np.abs(between.astype(int) - original[1].astype(int)).mean() < 2.0


def test_bad_results_and_options_are_clear_errors(sample_video, tmp_path):
    with pytest.raises(pt.InvalidParameterException, match="results must be"):
        pt.annotate_video(sample_video, 42, tmp_path / "x.mp4")
    with pytest.raises(pt.InvalidParameterException, match="anchor"):
        pt.annotate_video(sample_video, pt.empty_frame(), tmp_path / "x.mp4", anchor="top")
    with pytest.raises(pt.InvalidParameterException, match="trail_ms"):
        pt.annotate_video(sample_video, pt.empty_frame(), tmp_path / "x.mp4", trail_ms=-1)
    with pytest.raises(pt.InvalidS3ObjectException):
        pt.annotate_video(tmp_path / "missing.mp4", pt.empty_frame(), tmp_path / "x.mp4")


def test_annotate_frame_does_not_touch_its_input_and_draws_skeletons():
    image = np.zeros((200, 200, 3), np.uint8)
    marks = np.zeros((33, 4))
    marks[:, :2], marks[:, 3] = 0.5, 1.0
    marks[11, :2], marks[12, :2] = (0.4, 0.3), (0.6, 0.3)  # shoulders
    rows = pt.validate_frame(
        pd.DataFrame(
            {
                "Timestamp": [0],
                "Index": [1],
                "Left": [0.2],
                "Top": [0.2],
                "Width": [0.6],
                "Height": [0.6],
                "BodyLandmarks": [marks.tolist()],
            }
        ),
        fill_missing=True,
    )
    plain = annotate_frame(image, rows)
    with_skeleton = annotate_frame(image, rows, skeletons=True)
    assert not image.any()
    assert tuple(plain[40, 100]) == rgb255(1)  # top edge of the box
    shoulders = with_skeleton[60, 100].astype(int) - rgb255(1)
    assert not plain[60, 100].any() and np.abs(shoulders).max() < 40  # anti-aliased line


def test_show_video_embeds_an_html5_video(sample_video, tmp_path):
    html = pt.show_video(sample_video, width=320)._repr_html_()
    assert html.startswith("<video") and "controls" in html and 'width="320"' in html
    assert "data:video/mp4;base64," in html
    with pytest.raises(pt.InvalidParameterException, match="no video"):
        pt.show_video(tmp_path / "none.mp4")
    with pytest.raises(pt.InvalidParameterException, match="max_mb"):
        pt.show_video(sample_video, max_mb=0.001)


def test_cli_annotate(sample_video, tmp_path):
    out, video = tmp_path / "r.csv", tmp_path / "annotated.mp4"
    cmd = [sys.executable, "-m", "persontrack.cli", "track", str(sample_video), "-o", str(out)]
    cmd += ["--every-n", "6", "--no-faces", "--annotate", str(video)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "annotated.mp4" in proc.stderr  # its progress bar
    df = pt.read_results(out)
    frames = decoded(video)
    assert len(frames) == 60
    assert_colours_where_results_are(frames, df)


@pytest.mark.shared_data
@pytest.mark.parametrize("name", ["face-demographics-walking.mp4"])
def test_shared_video_colours_sit_on_each_index(shared_data, tmp_path, name):
    video = shared_data / "videos" / name
    result = pt.track_video(video)
    df = result.frame
    assert df["Index"].nunique() >= 2
    out = pt.annotate_video(video, result, tmp_path / "walk.mp4", skeletons=True)
    frames = decoded(out)
    assert len(frames) == result.metadata.FrameCount
    assert_colours_where_results_are(frames, df, min_share=0.8)


def test_vp9_when_asked_and_synthetic_results_on_every_frame(sample_video, tmp_path):
    # Two boxes moving across the sample video on each of its 60 frames (12 fps).
    t = np.round(np.arange(60) * 1000 / 12).astype(int)
    df = pt.validate_frame(
        pd.concat(
            [
                pd.DataFrame({"Timestamp": t, "FrameNumber": np.arange(60), "Index": k})
                for k in (0, 5)
            ],
            ignore_index=True,
        ).assign(
            Left=lambda d: 0.1 + 0.4 * (d["Index"] == 5) + d["FrameNumber"] / 300,
            Top=0.2,
            Width=0.2,
            Height=0.6,
        ),
        fill_missing=True,
    )
    out = pt.annotate_video(sample_video, df, tmp_path / "v.webm", codec="libvpx-vp9")
    assert pt.read_metadata(out).Codec == "vp9"
    assert_colours_where_results_are(decoded(out), df, min_share=0.95)
    with pytest.raises(pt.InvalidParameterException, match="not available"):
        pt.annotate_video(sample_video, df, tmp_path / "x.mp4", codec="no-such-codec")
