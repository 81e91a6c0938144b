"""MediaPipe's networks shipped inside persontrack: sha256 checked, licence and provenance."""

from __future__ import annotations

import hashlib
import shutil
import zipfile
from pathlib import Path

import pytest

from persontrack.errors import InternalServerError, InvalidParameterException
from persontrack.vision import models
from persontrack.vision.models import (
    SHIPPED_MODELS,
    face_detector_model,
    model_cache_dir,
    shipped_model,
)

WEIGHTS = Path(__file__).resolve().parents[2] / "persontrack" / "vision" / "weights"


def test_cache_dir_default_and_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("PERSONTRACK_MODEL_DIR", raising=False)
    assert model_cache_dir() == Path.home() / ".cache" / "persontrack" / "models"
    monkeypatch.setenv("PERSONTRACK_MODEL_DIR", str(tmp_path))
    assert model_cache_dir() == tmp_path


def test_shipped_files_match_provenance_and_licence() -> None:
    text = (WEIGHTS / "PROVENANCE.md").read_text()
    assert "Apache License" in (WEIGHTS / "LICENSE-mediapipe").read_text()
    for name, digest in SHIPPED_MODELS.items():
        data = shipped_model(name).read_bytes()
        assert data[4:8] == b"TFL3"
        assert hashlib.sha256(data).hexdigest() == digest
        assert f"`{name}`" in text and digest in text
    assert "mediapipe-0.10.21" in text


def test_altered_or_missing_file_is_refused(tmp_path: Path, monkeypatch) -> None:
    name = "iris_landmark.tflite"
    shutil.copy(WEIGHTS / name, tmp_path / name)
    with open(tmp_path / name, "r+b") as f:
        f.seek(5000)
        f.write(b"\x00\x01\x02\x03")
    monkeypatch.setattr(models, "WEIGHTS", tmp_path)
    monkeypatch.setattr(models, "_CHECKED", set())
    with pytest.raises(InternalServerError, match="altered"):
        shipped_model(name)
    (tmp_path / name).unlink()
    with pytest.raises(InternalServerError, match="cannot be read"):
        shipped_model(name)
    with pytest.raises(InvalidParameterException, match="no shipped model"):
        shipped_model("face_landmark_with_attention.tflite")


def test_face_detector_files(tmp_path: Path) -> None:
    assert face_detector_model().name == "face_detection_short_range.tflite"
    assert face_detector_model(full_range=True).name == "face_detection_full_range_sparse.tflite"
    user = tmp_path / "blaze_face_short_range.tflite"
    user.write_bytes(face_detector_model().read_bytes())
    assert face_detector_model(str(user)) == user
    not_model = tmp_path / "x.tflite"
    not_model.write_bytes(b"not a model at all")
    with pytest.raises(InvalidParameterException, match="not a TFLite model"):
        face_detector_model(not_model)
    with pytest.raises(InvalidParameterException, match="does not exist"):
        face_detector_model(tmp_path / "missing.tflite")
    with pytest.raises(InvalidParameterException, match="not a file"):
        face_detector_model(tmp_path)
    with pytest.raises(InvalidParameterException, match="str or path-like"):
        face_detector_model(42)  # type: ignore[arg-type]


def test_user_bundle_member(tmp_path: Path) -> None:
    bundle = tmp_path / "pose_landmarker_full.task"
    with zipfile.ZipFile(bundle, "w") as zf:
        zf.writestr(
            "pose_landmarks_detector.tflite",
            shipped_model("pose_landmark_full.tflite").read_bytes(),
        )
    member = models._bundle_member(bundle, "pose_landmarks_detector.tflite", "f")
    assert hashlib.sha256(member).hexdigest() == SHIPPED_MODELS["pose_landmark_full.tflite"]
    with pytest.raises(InvalidParameterException, match="lacks"):
        models._bundle_member(bundle, "pose_detector.tflite", "f")
    with pytest.raises(InvalidParameterException, match="not a .task model bundle"):
        models._bundle_member(shipped_model("iris_landmark.tflite"), "x", "f")
