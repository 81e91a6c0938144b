"""The persontrack command, run as a user runs it (a real subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import persontrack as pt

CLI = [sys.executable, "-m", "persontrack.cli"]


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}: {proc.stderr[-2000:]}")
    return proc


def test_track_json_mot_and_plot(sample_video, tmp_path):
    out, png = tmp_path / "r.json", tmp_path / "paths.png"
    proc = run("track", str(sample_video), "-o", str(out), "--every-n", "3", "--plot", str(png))
    assert "people" in proc.stderr and "100%" in proc.stderr  # summary and progress on stderr
    assert "W0000" not in proc.stderr  # MediaPipe's native start-up logs are kept out
    resp = json.loads(out.read_text())
    pt.validate_response(pt.strip_extensions(resp), strict=True)
    assert resp["JobStatus"] == "SUCCEEDED" and len(resp["Persons"]) > 20
    assert png.stat().st_size > 20_000 and png.read_bytes()[:4] == b"\x89PNG"

    mot = run("track", str(sample_video), "--format", "mot", "--every-n", "3", "-q").stdout
    rows = [line.split(",") for line in mot.strip().splitlines()]
    assert all(len(r) == 10 and r[7:] == ["-1", "-1", "-1"] for r in rows)
    frames = {int(r[0]) for r in rows}
    assert min(frames) >= 1 and all((f - 1) % 3 == 0 for f in frames)  # 1-based source frames
    by_json = {(p["Timestamp"], p["Person"]["Index"]) for p in resp["Persons"]}
    assert len(rows) == len(by_json)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_track_table_formats(sample_video, tmp_path, fmt):
    out = tmp_path / f"r.{fmt}"
    run("track", str(sample_video), "-o", str(out), "--every-n", "12", "--no-faces", "-q")
    df = pt.read_results(out)
    assert len(df) > 0 and df["FaceConfidence"].isna().all()
    assert df["BodyLandmarks"].map(len).eq(33).all()


def test_track_errors_are_one_clear_line(tmp_path):
    proc = run("track", str(tmp_path / "missing.mp4"), check=False)
    assert proc.returncode == 2
    assert "InvalidS3ObjectException" in proc.stderr and "Traceback" not in proc.stderr
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00" * 1000)
    proc = run("track", str(bad), check=False)
    assert proc.returncode == 2 and "InvalidS3ObjectException" in proc.stderr
    proc = run("track", "x.mp4", "--format", "xml", check=False)
    assert proc.returncode == 2 and "invalid choice" in proc.stderr


def test_track_detector_option(sample_video, tmp_path):
    from persontrack.vision.models import face_detector_model

    not_detector = tmp_path / "face.onnx"
    not_detector.write_bytes(face_detector_model().read_bytes())
    args = ("track", str(sample_video), "--every-n", "40", "-q")
    proc = run(*args, "--detector", str(not_detector), check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "InvalidParameterException" in proc.stderr and "OpenVINO" in proc.stderr
    proc = run(*args, "--detector", str(tmp_path / "missing.xml"), check=False)
    assert proc.returncode == 2 and "does not exist" in proc.stderr
    out = tmp_path / "r.json"
    named = ("--detector", "person-vehicle-bike-detection-2003", "--no-landmarks", "--no-faces")
    run("track", str(sample_video), "--every-n", "4", "-q", *named, "-o", str(out))
    resp = json.loads(out.read_text())
    settings = resp["PersonTrack"]["Settings"]
    assert settings["detector"] == "person-vehicle-bike-detection-2003"
    assert settings["landmarks"] is False and resp["Persons"]
    assert all("BodyLandmarks" not in p["PersonTrack"] for p in resp["Persons"])
    proc = run(*args, "--max-upscale", "0.5", check=False)
    assert proc.returncode == 2 and "detector_max_upscale" in proc.stderr
    run("track", str(sample_video), "--every-n", "4", "-q", "--max-upscale", "1", "-o", str(out))
    assert json.loads(out.read_text())["PersonTrack"]["Settings"]["detector_max_upscale"] == 1.0


def test_track_detections_on_mot_text(tmp_path):
    det = tmp_path / "det.txt"
    lines = []
    for frame in range(1, 31):
        lines.append(f"{frame},-1,{100 + 5 * frame},200,50,120,0.95")
        lines.append(f"{frame},-1,{800 - 5 * frame},210,55,125,0.9")
    det.write_text("\n".join(reversed(lines)) + "\n")  # unsorted, as det.txt files are
    out = tmp_path / "tracks.txt"
    run("track-detections", str(det), "--frame-rate", "30", "-o", str(out))
    tracks = pd.read_csv(out, header=None)
    assert tracks.shape[1] == 10
    assert tracks[1].nunique() == 2 and tracks[1].min() >= 1
    proc = run("track-detections", str(tmp_path / "none.txt"), "--frame-rate", "30", check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


@pytest.mark.shared_data
def test_track_detections_on_mot17(shared_data, tmp_path):
    det = shared_data / "mot" / "MOT17-09-FRCNN" / "det" / "det.txt"
    out = tmp_path / "t.txt"
    run("track-detections", str(det), "--frame-rate", "30", "-o", str(out))
    tracks = pd.read_csv(out, header=None)
    assert tracks[0].max() <= 525 and tracks[1].nunique() > 10


def test_module_and_console_script_agree():
    exe = Path(sys.executable).with_name("persontrack")
    assert exe.exists(), "the console script is installed with the package"
    proc = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == f"persontrack {pt.__version__}"


def test_track_detections_online_only_flag(tmp_path):
    det = tmp_path / "det.txt"
    # one walker, missed for frames 11-14: post-processing fills the gap, online does not
    rows = [f"{f},-1,{100 + 4 * f},200,50,120,0.95" for f in range(1, 31) if not 11 <= f <= 14]
    det.write_text("\n".join(rows) + "\n")
    full, online = tmp_path / "full.txt", tmp_path / "online.txt"
    run("track-detections", str(det), "--frame-rate", "30", "-o", str(full))
    run("track-detections", str(det), "--frame-rate", "30", "--no-postprocess", "-o", str(online))
    full_frames = set(pd.read_csv(full, header=None)[0])
    online_frames = set(pd.read_csv(online, header=None)[0])
    assert set(range(11, 15)) <= full_frames
    assert not set(range(11, 15)) & online_frames


def test_track_with_workers_in_four_segments_gives_the_whole_runs_people(
    sample_video, tmp_path, dask_cluster
):
    """``--workers``: the real pipeline in 4 segments on a Dask cluster, stitched."""
    import os

    whole, split = tmp_path / "whole.json", tmp_path / "split.csv"
    run("track", str(sample_video), "-o", str(whole), "--every-n", "3", "-q")
    env = {**os.environ, "PERSONTRACK_DASK_SCHEDULER": dask_cluster.address}
    args = ["track", str(sample_video), "-o", str(split), "--every-n", "3"]
    proc = subprocess.run(
        [*CLI, *args, "--workers", "2", "--segment", "1.25"],  # 5 s: 4 segments
        capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "100%" in proc.stderr and "2 people" in proc.stderr
    a = pt.read_results(whole).sort_values(["Timestamp", "Index"], ignore_index=True)
    b = pt.read_results(split)
    assert b["Index"].nunique() == a["Index"].nunique() == 2
    # the same detections; each segment's tracker starts fresh at its warm-up, so it may
    # give the one box of A and B merged (2.5 s) to the other person and confirm A's
    # return (4.0 s) one analysed frame later than the whole run's tracker. While B
    # hides A (2.5-3.5 s) the re-id models cannot tell them apart (their crops are
    # 0.05-0.1 apart in both, taken in the right colour order), so which of the two
    # Indexes A gets back is motion's call, and a segment's tracker may call it
    # otherwise: before the crossing the Indexes agree, after it they agree up to a
    # relabelling (one Index each across the 3.75-s boundary).
    on = ["Timestamp", "FrameNumber", "Left"]
    both = a.round({"Left": 6}).merge(b.round({"Left": 6}), on=on, suffixes=("_a", "_b"))
    assert len(both) == len(b) >= len(a) - 1
    before = both[both["Timestamp"] < 2400]
    assert len(before) >= 10 and (before["Index_a"] == before["Index_b"]).all()
    after = both[both["Timestamp"] > 3600]
    pairs = set(zip(after["Index_a"], after["Index_b"], strict=True))
    assert len(after) >= 6 and len(pairs) == 2
    assert len({p[0] for p in pairs}) == len({p[1] for p in pairs}) == 2
