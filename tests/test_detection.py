"""PersonDetector on real photographs (matplotlib's grace_hopper.jpg) and real footage."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from persontrack.errors import InvalidParameterException
from persontrack.geometry import box_iou
from persontrack.vision.detection import PRESETS, PersonDetector
from persontrack.vision.detections import Detections


def paste(canvas: np.ndarray, image: np.ndarray, height: int, x: int, y: int) -> np.ndarray:
    """Paste ``image`` scaled to ``height`` pixels at (x, y); return the pasted box."""
    width = int(round(image.shape[1] * height / image.shape[0]))
    small = Image.fromarray(image).resize((width, height), Image.Resampling.LANCZOS)
    canvas[y : y + height, x : x + width] = np.asarray(small)
    return np.array([x, y, x + width, y + height], dtype=float)


def on_person(d: Detections, i: int, pasted: np.ndarray, shape: tuple[int, ...]) -> bool:
    """Detection ``i`` is the pasted portrait: nose inside it, box centred on it, box top
    above the nose. (The box goes on below: the landmarker extends a portrait's body.)"""
    x1, y1, x2, y2 = d.xyxy[i]
    nose_x, nose_y = d.landmarks[i, 0, :2] * [shape[1], shape[0]]
    inside = pasted[0] < nose_x < pasted[2] and pasted[1] < nose_y < pasted[3]
    return bool(inside and pasted[0] < (x1 + x2) / 2 < pasted[2] and pasted[1] - 20 < y1 < nose_y)


@pytest.fixture(scope="module")
def detector():
    with PersonDetector() as d:
        yield d


@pytest.fixture(scope="module")
def small_person(grace_hopper: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    canvas = np.full((720, 1280, 3), 190, np.uint8)
    box = paste(canvas, grace_hopper, 80, 700, 400)
    return canvas, box


def test_one_person_with_a_plausible_box(detector: PersonDetector, grace_hopper) -> None:
    original = grace_hopper.copy()
    d = detector.detect(grace_hopper)
    np.testing.assert_array_equal(grace_hopper, original)
    assert isinstance(d, Detections) and len(d) == 1
    h, w = grace_hopper.shape[:2]
    x1, y1, x2, y2 = d.xyxy[0]
    assert 0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h
    assert d.landmarks is not None and d.landmarks.shape == (1, 33, 4)
    nose_x, nose_y = d.landmarks[0, 0, 0] * w, d.landmarks[0, 0, 1] * h
    # The face is in the upper middle of this portrait; the box starts above the nose,
    # contains it, and is centred on the person.
    assert 0.3 * w < nose_x < 0.7 * w and 0.2 * h < nose_y < 0.5 * h
    assert y1 < nose_y - 0.05 * h and x1 < nose_x < x2
    assert abs((x1 + x2) / 2 - nose_x) < 0.15 * w
    assert y2 - y1 > 0.6 * h
    assert 0.5 < d.confidence[0] <= 1.0


def test_two_people_are_two_detections(detector: PersonDetector, grace_hopper) -> None:
    canvas = np.full((720, 1280, 3), 200, np.uint8)
    left = paste(canvas, grace_hopper, 360, 150, 220)
    right = paste(canvas, grace_hopper, 300, 820, 120)
    d = detector.detect(canvas)
    assert len(d) == 2
    order = np.argsort(d.xyxy[:, 0])
    assert on_person(d, order[0], left, canvas.shape)
    assert on_person(d, order[1], right, canvas.shape)
    assert np.all((d.confidence > 0) & (d.confidence <= 1))


def test_small_person_is_found(detector: PersonDetector, small_person) -> None:
    canvas, box = small_person
    d = detector.detect(canvas)
    # By the SSDLite box detector: its box is the portrait's (the landmarker, which
    # extends a portrait's body downwards, does not confirm it, so no landmarks).
    assert len(d) == 1
    assert box_iou(d.xyxy, box[None])[0, 0] > 0.6


def test_small_person_is_found_by_tiles(small_person) -> None:
    canvas, box = small_person
    with PersonDetector(tile_sizes=(448, 320), box_detector=None) as tiles:
        d = tiles.detect(canvas)
    assert len(d) == 1
    assert on_person(d, 0, box, canvas.shape)


def test_regions_let_a_coarse_detector_find_a_small_person(small_person) -> None:
    canvas, box = small_person
    # BlazePose alone (the SSDLite box detector finds this person: tests/test_box_detectors).
    with PersonDetector("fast", tile_sizes=(), full_frame=True, box_detector=None) as coarse:
        # The whole frame squeezed into 224 pixels leaves the person ~25 pixels tall.
        assert len(coarse.detect(canvas)) == 0
        d = coarse.detect(canvas, regions=np.array([box]))
    assert len(d) == 1 and on_person(d, 0, box, canvas.shape)


def test_same_image_same_output(detector: PersonDetector, grace_hopper) -> None:
    canvas = np.full((480, 800, 3), 120, np.uint8)
    paste(canvas, grace_hopper, 300, 100, 100)
    paste(canvas, grace_hopper, 160, 560, 200)
    a, b = detector.detect(canvas), detector.detect(canvas)
    assert len(a) >= 1
    np.testing.assert_array_equal(a.xyxy, b.xyxy)
    np.testing.assert_array_equal(a.confidence, b.confidence)
    np.testing.assert_array_equal(a.landmarks, b.landmarks)


def test_empty_scene_has_no_detections(detector: PersonDetector) -> None:
    d = detector.detect(np.full((360, 640, 3), 90, np.uint8))
    assert len(d) == 0 and d.xyxy.shape == (0, 4) and d.landmarks.shape == (0, 33, 4)


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((100, 100, 3), np.float32),
        np.zeros((100, 100), np.uint8),
        np.zeros((100, 100, 4), np.uint8),
        np.zeros((0, 100, 3), np.uint8),
        np.zeros((100, 0, 3), np.uint8),
        [[[0, 0, 0]]],
        None,
    ],
    ids=["float", "gray", "rgba", "no-rows", "no-cols", "list", "none"],
)
def test_bad_images_are_rejected(detector: PersonDetector, image) -> None:
    with pytest.raises(InvalidParameterException, match="image"):
        detector.detect(image)


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (("nope",), {}, "preset"),
        ((), {"tile_size": 300}, "unknown"),
        ((), {"tile_sizes": (8,)}, "tile_sizes"),
        ((), {"tile_overlap": 0.95}, "tile_overlap"),
        ((), {"num_poses": 0}, "num_poses"),
        ((), {"min_presence": 1.5}, "min_presence"),
        ((), {"min_support": 0}, "min_support"),
        ((), {"tile_sizes": (), "full_frame": False}, "empty"),
        ((), {"model_path": "/no/such/model.task"}, "does not exist"),
    ],
)
def test_bad_settings_are_rejected(args, kwargs, match) -> None:
    with pytest.raises(InvalidParameterException, match=match):
        PersonDetector(*args, **kwargs)


def test_user_model_file_is_used(grace_hopper, tmp_path: Path) -> None:
    from persontrack.vision.models import pose_landmarker_model

    user = tmp_path / "pose_landmarker_full.task"
    user.write_bytes(pose_landmarker_model().read_bytes())
    with PersonDetector("fast", model_path=user) as d:
        assert d.settings["model_path"] == str(user)
        assert len(d.detect(grace_hopper)) == 1


def test_settings_presets_and_close(grace_hopper) -> None:
    assert set(PRESETS) == {"fast", "balanced", "thorough"}
    d = PersonDetector("thorough", min_support=3, tile_sizes=[320])
    assert d.settings["preset"] == "thorough"
    assert d.settings["min_support"] == 3 and d.settings["tile_sizes"] == (320,)
    with pytest.raises(InvalidParameterException, match="regions"):
        d.detect(grace_hopper, regions=np.array([1.0, 2.0, 3.0]))
    d.close()
    with pytest.raises(InvalidParameterException, match="closed"):
        d.detect(grace_hopper)


def read_frame(path: Path, index: int) -> np.ndarray:
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i == index:
                return frame.to_ndarray(format="rgb24")
    raise AssertionError(f"{path} has fewer than {index + 1} frames")


@pytest.mark.shared_data
def test_walking_video_frame_has_both_people(detector: PersonDetector, shared_data: Path) -> None:
    frame = read_frame(shared_data / "videos" / "face-demographics-walking.mp4", 15)
    d = detector.detect(frame)
    assert len(d) == 2
    # Two people side by side: their boxes barely overlap.
    left, right = sorted(d.xyxy.tolist())
    assert left[2] < right[2] and left[0] < right[0]


@pytest.mark.shared_data
def test_recall_on_a_mot17_street_frame(detector: PersonDetector, shared_data: Path) -> None:
    seq = shared_data / "mot-frames" / "MOT17-04-FRCNN-mini"
    image = np.asarray(Image.open(seq / "img1" / "000005.jpg").convert("RGB"))
    gt = np.loadtxt(seq / "gt" / "gt.txt", delimiter=",")
    gt = gt[gt[:, 0] == 5]
    boxes = np.column_stack([gt[:, 2], gt[:, 3], gt[:, 2] + gt[:, 4], gt[:, 3] + gt[:, 5]])
    pedestrian = (gt[:, 6] == 1) & (gt[:, 7] == 1)
    # Persons on vehicles, static persons, distractors and reflections are not errors.
    person_like = pedestrian | np.isin(gt[:, 7], (2, 7, 8, 12))
    d = detector.detect(image)
    assert len(d) > 0
    recall = float((box_iou(d.xyxy, boxes[pedestrian]).max(axis=0) >= 0.5).mean())
    precision = float((box_iou(d.xyxy, boxes[person_like]).max(axis=1) >= 0.5).mean())
    # Measured with the balanced preset: recall 0.45 (19 of 42 pedestrians), 16 of 19 boxes
    # on a person (0.40 and 15 of 17 before the SSDLite proposals); full-frame BlazePose
    # finds about 1% of the pedestrians of these frames.
    assert recall >= 0.38, f"recall {recall:.2f}"
    assert precision >= 0.70, f"precision {precision:.2f}"
    # Most people come with landmarks; boxes too small for landmarks (HOG, SSDLite) have NaN.
    confirmed = ~np.isnan(d.landmarks[:, 0, 0])
    assert confirmed.sum() >= len(d) / 2
    assert np.all((d.landmarks[confirmed, :, 3] >= 0) & (d.landmarks[confirmed, :, 3] <= 1))
    assert np.all(np.isnan(d.landmarks[~confirmed]))
