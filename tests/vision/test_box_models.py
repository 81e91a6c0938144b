"""OpenVINO box detectors: the shipped model (checked, packaged), a user's IR and YOLOX."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import persontrack as pt
from persontrack.errors import InternalServerError, InvalidParameterException
from persontrack.geometry import box_iou
from persontrack.vision import box_models
from persontrack.vision.box_models import SHIPPED, BoxModel, shipped_model_path
from persontrack.vision.models import SHIPPED_MODELS
from persontrack.vision.reid import REID_MODELS

REPO = Path(__file__).resolve().parents[2]
WEIGHTS = REPO / "persontrack" / "vision" / "weights"


# Grace Hopper's box in her photograph, as the shipped model sees her (measured).
PORTRAIT = np.array([130.0, 110.0, 381.0, 535.0])


def test_shipped_files_match_the_provenance_file() -> None:
    text = (WEIGHTS / "PROVENANCE.md").read_text()
    assert "Apache License" in (WEIGHTS / "LICENSE-open_model_zoo").read_text()
    for name, spec in SHIPPED.items():
        for suffix, digest in ((".xml", spec.xml_sha256), (".bin", spec.bin_sha256)):
            data = (WEIGHTS / f"{name}{suffix}").read_bytes()
            assert hashlib.sha256(data).hexdigest() == digest
            assert f"{digest}  {name}{suffix}" in text
        assert "storage.openvinotoolkit.org" in text


def test_altered_shipped_file_is_refused(tmp_path: Path, monkeypatch, grace_hopper) -> None:
    name = box_models.DEFAULT_MODEL
    for suffix in (".xml", ".bin"):
        shutil.copy(WEIGHTS / f"{name}{suffix}", tmp_path / f"{name}{suffix}")
    with open(tmp_path / f"{name}.bin", "r+b") as f:
        f.seek(1000)
        f.write(b"\x00\x01\x02\x03")
    monkeypatch.setattr(box_models, "WEIGHTS_DIR", tmp_path)
    monkeypatch.setattr(box_models, "_VERIFIED", set())
    with pytest.raises(InternalServerError, match="sha256"):
        shipped_model_path()
    (tmp_path / f"{name}.bin").unlink()
    with pytest.raises(InternalServerError, match="cannot be read"):
        pt.PersonDetector(landmarks=False)


def test_shipped_model_finds_the_portrait(grace_hopper) -> None:
    model = BoxModel(None, input_size=864)
    assert model.layout == "atss" and model.person_label == 1
    boxes, scores = model.detect(grace_hopper, min_score=0.3)
    assert len(boxes) == 1 and 0.3 <= scores[0] < 0.6
    assert box_iou(boxes, PORTRAIT[None])[0, 0] > 0.9
    # BGR input gives the same boxes when said so.
    bgr, _ = model.detect(np.ascontiguousarray(grace_hopper[:, :, ::-1]), min_score=0.3, rgb=False)
    np.testing.assert_allclose(bgr, boxes)


def test_a_users_openvino_ir_is_used_uncalibrated(tmp_path: Path, grace_hopper) -> None:
    name = box_models.DEFAULT_MODEL
    for suffix in (".xml", ".bin"):
        shutil.copy(WEIGHTS / f"{name}{suffix}", tmp_path / f"mine{suffix}")
    with pt.PersonDetector(model=str(tmp_path / "mine.xml"), landmarks=False) as mine:
        assert mine.settings["model_file"] == str(tmp_path / "mine.xml")
        d = mine.detect(grace_hopper)
    with pt.PersonDetector(landmarks=False, calibrated=False) as shipped:
        raw = shipped.detect(grace_hopper)
    # Same model, so same boxes; no calibration table for a user's file: raw scores.
    np.testing.assert_allclose(d.xyxy, raw.xyxy)
    np.testing.assert_allclose(d.confidence, raw.confidence)


def test_bad_model_files_are_invalid_parameters(tmp_path: Path) -> None:
    import openvino as ov
    from openvino import opset13 as ops

    with pytest.raises(InvalidParameterException, match="does not exist"):
        BoxModel(tmp_path / "none.onnx")
    with pytest.raises(InvalidParameterException, match="must be an OpenVINO IR"):
        BoxModel(tmp_path / "model.tflite")
    with pytest.raises(InvalidParameterException, match="must be a file path"):
        BoxModel(42)  # type: ignore[arg-type]
    lonely = tmp_path / "lonely.xml"
    shutil.copy(WEIGHTS / f"{box_models.DEFAULT_MODEL}.xml", lonely)
    with pytest.raises(InvalidParameterException, match="needs its weights"):
        BoxModel(lonely)
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\x08\x07garbage" * 50)
    with pytest.raises(InvalidParameterException, match="not an OpenVINO-readable"):
        BoxModel(garbage)
    # A real model of another kind (an image classifier's 1x10 output): no known layout.
    image = ops.parameter([1, 3, 64, 64], np.float32, name="image")
    pooled = ops.reduce_mean(image, np.array([2, 3]), keep_dims=False)
    logits = ops.matmul(pooled, np.ones((3, 10), np.float32), False, False)
    classifier = tmp_path / "classifier.xml"
    ov.save_model(ov.Model([logits], [image], "classifier"), str(classifier))
    with pytest.raises(InvalidParameterException, match="no known layout"):
        BoxModel(classifier)
    with pytest.raises(InvalidParameterException, match="no known layout"):
        pt.PersonDetector(model=str(classifier))


@pytest.mark.shared_data
def test_yolox_onnx_finds_the_portrait(shared_data: Path, grace_hopper) -> None:
    path = shared_data.parent / "models" / "yolox" / "yolox_nano.onnx"
    with pt.PersonDetector(model=str(path), input_size=None, landmarks=False) as yolox:
        assert yolox.settings["model_file"] == str(path)
        native = yolox.detect(grace_hopper)
    with pt.PersonDetector(
        model=str(path), input_size=640, min_score=0.45, landmarks=False
    ) as yolox:
        reshaped = yolox.detect(grace_hopper)
    for d in (native, reshaped):
        assert len(d) == 1 and d.confidence[0] > 0.6
        # COCO boxes take in the whole uniform, shoulder to shoulder (the image's width).
        x1, y1, x2, y2 = d.xyxy[0]
        assert x1 < 30 and x2 > 480 and y1 < 110 and y2 > 530
    assert box_iou(native.xyxy, reshaped.xyxy)[0, 0] > 0.8


def _wheel_builder() -> str:
    """An interpreter that can build a wheel offline (setuptools + wheel importable)."""
    check = "import setuptools.build_meta, wheel"
    for python in (sys.executable, shutil.which("python3"), "/usr/bin/python3"):
        if python and subprocess.run([python, "-c", check], capture_output=True).returncode == 0:
            return python
    pytest.fail("no Python here has setuptools and wheel to build the package offline")


def test_built_wheel_holds_the_detector(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    shutil.copytree(
        REPO / "persontrack", src / "persontrack", ignore=shutil.ignore_patterns("__pycache__")
    )
    out = tmp_path / "dist"
    out.mkdir()
    build = "import setuptools.build_meta as b, sys; print(b.build_wheel(sys.argv[1]))"
    proc = subprocess.run(
        [_wheel_builder(), "-c", build, str(out)],
        cwd=src,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    (wheel,) = out.glob("persontrack-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        for name, spec in SHIPPED.items():
            for suffix, digest in ((".xml", spec.xml_sha256), (".bin", spec.bin_sha256)):
                member = f"persontrack/vision/weights/{name}{suffix}"
                assert member in names
                assert hashlib.sha256(zf.read(member)).hexdigest() == digest
        for stem, xml_sum, bin_sum in REID_MODELS.values():
            for suffix, digest in ((".xml", xml_sum), (".bin", bin_sum)):
                member = f"persontrack/vision/weights/{stem}{suffix}"
                assert hashlib.sha256(zf.read(member)).hexdigest() == digest
        assert "persontrack/vision/weights/LICENSE-open_model_zoo" in names
        for name, digest in SHIPPED_MODELS.items():  # MediaPipe's networks
            member = f"persontrack/vision/weights/{name}"
            assert hashlib.sha256(zf.read(member)).hexdigest() == digest
        assert "Apache License" in zf.read("persontrack/vision/weights/LICENSE-mediapipe").decode()
        assert "persontrack/vision/weights/PROVENANCE.md" in names


def test_many_frames_at_once_give_the_one_thread_boxes(sample_video) -> None:
    # Two frames in the network at once (the tracking pipeline's frame-ahead thread), each
    # on one thread: the boxes of a one-thread network (a Dask segment task's), bit for bit.
    frames = [f.image for f in pt.iter_frames(sample_video, every_n=15)][:6]
    one = BoxModel(None, input_size=640, threads=1)
    alone = [one.detect(image, min_score=0.1) for image in frames]
    many = BoxModel(None, input_size=640, threads=2)
    together = list(many.detect_many(iter(frames), min_score=0.1, streams=2))
    assert sum(len(s) for _, s in alone) > len(frames)  # people found
    assert len(together) == len(alone)
    for (b1, s1), (b2, s2) in zip(alone, together, strict=True):
        np.testing.assert_array_equal(b1, b2)
        np.testing.assert_array_equal(s1, s2)
    # The caller may stop early: the requests still in the network are waited for.
    first = many.detect_many(iter(frames), min_score=0.1)
    np.testing.assert_array_equal(next(first)[0], alone[0][0])
    first.close()
    with pytest.raises(InvalidParameterException, match="one size"):
        list(many.detect_many([frames[0], frames[0][:100]], min_score=0.1))
    with pytest.raises(InvalidParameterException, match="streams"):
        list(many.detect_many(frames, min_score=0.1, streams=0))
