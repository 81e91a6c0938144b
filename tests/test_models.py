"""Model files built from the mediapipe wheel: cache behaviour and loading in the Tasks API."""

from __future__ import annotations

import zipfile
from pathlib import Path

import mediapipe as mp
import numpy as np
import pytest
from mediapipe.tasks.python import BaseOptions, vision

from persontrack.errors import InvalidParameterException
from persontrack.vision.models import (
    face_detector_model,
    model_cache_dir,
    pose_landmarker_model,
)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "models"
    monkeypatch.setenv("PERSONTRACK_MODEL_DIR", str(folder))
    return folder


@pytest.fixture
def mp_image(grace_hopper: np.ndarray) -> mp.Image:
    return mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(grace_hopper))


def test_cache_dir_default_and_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("PERSONTRACK_MODEL_DIR", raising=False)
    assert model_cache_dir() == Path.home() / ".cache" / "persontrack" / "models"
    monkeypatch.setenv("PERSONTRACK_MODEL_DIR", str(tmp_path))
    assert model_cache_dir() == tmp_path


def test_bundles_hold_the_names_the_tasks_expect(cache: Path) -> None:
    pose = pose_landmarker_model()
    assert pose.parent == cache
    with zipfile.ZipFile(pose) as zf:
        assert sorted(zf.namelist()) == ["pose_detector.tflite", "pose_landmarks_detector.tflite"]
    assert mp.__version__ in pose.name
    assert not list(cache.glob("*.tmp")), "temporary files left behind"


def test_second_call_reuses_the_cache(cache: Path) -> None:
    first = pose_landmarker_model()
    stat = first.stat()
    second = pose_landmarker_model()
    assert second == first
    again = second.stat()
    assert (again.st_ino, again.st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns)


def test_corrupt_cache_file_is_rebuilt(cache: Path) -> None:
    path = face_detector_model()
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2])
    rebuilt = face_detector_model()
    assert rebuilt == path
    assert rebuilt.read_bytes() == good


def test_pose_landmarker_finds_the_person(cache: Path, mp_image: mp.Image) -> None:
    options = vision.PoseLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(pose_landmarker_model())),
        running_mode=vision.RunningMode.IMAGE,
        num_poses=2,
    )
    with vision.PoseLandmarker.create_from_options(options) as landmarker:
        result = landmarker.detect(mp_image)
    assert len(result.pose_landmarks) == 1
    nose = result.pose_landmarks[0][0]
    # grace_hopper.jpg: a portrait, the face in the upper middle of the picture.
    assert 0.3 < nose.x < 0.7 and 0.1 < nose.y < 0.5


def test_face_detector_finds_the_face(cache: Path, mp_image: mp.Image) -> None:
    options = vision.FaceDetectorOptions(
        base_options=BaseOptions(model_asset_path=str(face_detector_model()))
    )
    with vision.FaceDetector.create_from_options(options) as detector:
        result = detector.detect(mp_image)
    assert len(result.detections) == 1
    box = result.detections[0].bounding_box
    w, h = mp_image.width, mp_image.height
    cx, cy = (box.origin_x + box.width / 2) / w, (box.origin_y + box.height / 2) / h
    assert 0.3 < cx < 0.7 and 0.1 < cy < 0.5
    assert result.detections[0].categories[0].score > 0.7


def test_full_range_face_detector_is_a_separate_file(cache: Path) -> None:
    short, full = face_detector_model(), face_detector_model(full_range=True)
    assert short != full and "full_range" in full.name
    assert full.read_bytes()[4:8] == b"TFL3"


def test_user_files_are_checked_and_returned_unchanged(cache: Path, tmp_path: Path) -> None:
    pose = pose_landmarker_model()
    user = tmp_path / "my_pose.task"
    user.write_bytes(pose.read_bytes())
    assert pose_landmarker_model(str(user)) == user
    assert pose_landmarker_model(user) == user
    tflite = tmp_path / "blaze_face.tflite"
    tflite.write_bytes(face_detector_model().read_bytes())
    assert face_detector_model(tflite) == tflite


@pytest.mark.parametrize("func", [pose_landmarker_model, face_detector_model])
def test_missing_user_file_is_rejected(func, tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterException, match="does not exist"):
        func(tmp_path / "nope.task")


def test_wrong_kind_of_user_file_is_rejected(cache: Path, tmp_path: Path) -> None:
    junk = tmp_path / "junk.task"
    junk.write_bytes(b"not a model at all")
    for func in (pose_landmarker_model, face_detector_model):
        with pytest.raises(InvalidParameterException, match="junk.task"):
            func(junk)
    # A face bundle is not a pose bundle, a bundle is not a .tflite, a folder is not a file.
    face_bundle = tmp_path / "face_landmarker.task"
    with zipfile.ZipFile(face_bundle, "w") as zf:
        zf.writestr("face_detector.tflite", face_detector_model().read_bytes())
    with pytest.raises(InvalidParameterException, match="lacks"):
        pose_landmarker_model(face_bundle)
    with pytest.raises(InvalidParameterException, match="not a TFLite model"):
        face_detector_model(face_bundle)
    with pytest.raises(InvalidParameterException, match="not a file"):
        pose_landmarker_model(tmp_path)
    with pytest.raises(InvalidParameterException, match="path-like"):
        pose_landmarker_model(42)  # type: ignore[arg-type]
