"""FaceAnalyzer and attach_faces on real photographs and footage."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from persontrack._shapes import enum_values, service_model, shape_errors
from persontrack.errors import InvalidParameterException
from persontrack.vision.faces import LANDMARK_TYPES, FaceAnalyzer, attach_faces


@pytest.fixture(scope="module")
def analyzer():
    with FaceAnalyzer() as a:
        yield a


@pytest.fixture(scope="module")
def hopper_face(analyzer, grace_hopper):
    faces = analyzer.analyze(grace_hopper)
    assert len(faces) == 1
    return faces[0]


def _yaw(analyzer, image):
    faces = analyzer.analyze(np.ascontiguousarray(image))
    assert len(faces) == 1
    return faces[0]["Pose"]["Yaw"]


def _turn(image, k=0.3):
    """Foreshorten the image's right side, as if the face turned towards the image's right."""
    h, w = image.shape[:2]
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = np.float32(
        [[0, 0], [w * (1 - k / 2), h * k / 2], [w * (1 - k / 2), h * (1 - k / 2)], [0, h]]
    )
    return cv2.warpPerspective(image, cv2.getPerspectiveTransform(src, dst), (w, h))


def _pose_person_boxes(frames):
    """Person boxes (pixels) from the shipped person detector, one array per frame."""
    from persontrack.vision.detection import PersonDetector

    with PersonDetector(landmarks=False) as det:
        return [det.find_boxes(rgb).xyxy for rgb in frames]


def _read_frames(path, step=1):
    cap = cv2.VideoCapture(str(path))
    frames, k = [], 0
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        if k % step == 0:
            frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        k += 1
    cap.release()
    assert frames, f"no frames read from {path}"
    return frames


# --- one real face ---------------------------------------------------------------------


def test_face_detail_matches_botocore_shape(hopper_face):
    shape = service_model().shape_for("FaceDetail")
    assert shape_errors(hopper_face, shape, allow_unknown=False) == []
    assert set(hopper_face) == {"BoundingBox", "Confidence", "Landmarks", "Pose", "Quality"}
    assert 50 < hopper_face["Confidence"] <= 100
    for key in ("Roll", "Yaw", "Pitch"):
        assert -180 <= hopper_face["Pose"][key] <= 180
    for key in ("Brightness", "Sharpness"):
        assert 0 <= hopper_face["Quality"][key] <= 100


def test_landmarks_all_types_inside_face_box(hopper_face, grace_hopper):
    marks = {m["Type"]: (m["X"], m["Y"]) for m in hopper_face["Landmarks"]}
    assert len(hopper_face["Landmarks"]) == 30
    assert tuple(marks) == tuple(enum_values("LandmarkType")) == LANDMARK_TYPES
    bb = hopper_face["BoundingBox"]
    for x, y in marks.values():
        assert bb["Left"] <= x <= bb["Left"] + bb["Width"]
        assert bb["Top"] <= y <= bb["Top"] + bb["Height"]
    # The face (around x 170-360, y 130-340 of 512 x 600) is found where it is.
    h, w = grace_hopper.shape[:2]
    assert 0.3 < (bb["Left"] + bb["Width"] / 2) < 0.6
    assert 0.25 < (bb["Top"] + bb["Height"] / 2) < 0.5
    # Anatomy: brows over eyes over nose over mouth over chin.
    assert marks["leftEyeBrowUp"][1] < marks["eyeLeft"][1] < marks["nose"][1]
    assert marks["nose"][1] < marks["mouthUp"][1] < marks["mouthDown"][1] < marks["chinBottom"][1]
    assert max(marks["eyeLeft"][1], marks["eyeRight"][1]) < marks["mouthLeft"][1]
    # Rekognition's "Left" is the image's left (as in its real GetPersonTracking output).
    for left, right in [
        ("eyeLeft", "eyeRight"),
        ("mouthLeft", "mouthRight"),
        ("leftPupil", "rightPupil"),
        ("noseLeft", "noseRight"),
        ("leftEyeLeft", "leftEyeRight"),
        ("rightEyeLeft", "rightEyeRight"),
        ("upperJawlineLeft", "upperJawlineRight"),
        ("midJawlineLeft", "midJawlineRight"),
    ]:
        assert marks[left][0] < marks[right][0], (left, right)
    assert marks["leftEyeUp"][1] < marks["leftEyeDown"][1]
    # Pupils sit inside their eye's corners.
    assert marks["leftEyeLeft"][0] < marks["leftPupil"][0] < marks["leftEyeRight"][0]
    assert marks["rightEyeLeft"][0] < marks["rightPupil"][0] < marks["rightEyeRight"][0]


def test_frontal_pose(hopper_face):
    assert abs(hopper_face["Pose"]["Yaw"]) < 10
    assert abs(hopper_face["Pose"]["Roll"]) < 10
    assert abs(hopper_face["Pose"]["Pitch"]) < 30


def test_mirroring_flips_yaw_and_roll(analyzer, grace_hopper):
    turned = _turn(grace_hopper)
    yaw = _yaw(analyzer, turned)
    mirrored = _yaw(analyzer, turned[:, ::-1])
    # Foreshortened right side = turned towards the image's right = positive yaw.
    assert yaw > 2
    assert mirrored < -2
    rotated = cv2.warpAffine(
        grace_hopper, cv2.getRotationMatrix2D((256, 240), -20, 1.0), (512, 600)
    )  # clockwise on screen: the image-right eye goes down
    roll = analyzer.analyze(rotated)[0]["Pose"]["Roll"]
    roll_mirrored = analyzer.analyze(np.ascontiguousarray(rotated[:, ::-1]))[0]["Pose"]["Roll"]
    assert 10 < roll < 30
    assert -30 < roll_mirrored < -10


def test_quality_follows_blur_and_light(analyzer, grace_hopper, hopper_face):
    blurred = analyzer.analyze(cv2.GaussianBlur(grace_hopper, (0, 0), 3))[0]["Quality"]
    dark = analyzer.analyze((grace_hopper * 0.4).astype(np.uint8))[0]["Quality"]
    sharp = hopper_face["Quality"]
    assert blurred["Sharpness"] < sharp["Sharpness"] - 5
    assert dark["Brightness"] < sharp["Brightness"] * 0.6
    # Exposure does not change sharpness much; blur does not change brightness much.
    assert abs(dark["Sharpness"] - sharp["Sharpness"]) < 5
    assert abs(blurred["Brightness"] - sharp["Brightness"]) < 5


def test_input_not_modified(analyzer, grace_hopper):
    image = grace_hopper.copy()
    boxes = np.array([[150.0, 100.0, 400.0, 600.0]])
    analyzer.analyze(image, boxes)
    assert np.array_equal(image, grace_hopper)
    assert boxes.tolist() == [[150.0, 100.0, 400.0, 600.0]]


def test_small_face_found_through_person_box(analyzer, grace_hopper):
    canvas = np.full((1080, 1920, 3), 40, np.uint8)
    small = cv2.resize(grace_hopper, (128, 150), interpolation=cv2.INTER_AREA)
    canvas[500:650, 900:1028] = small
    assert analyzer.analyze(canvas) == []
    person = np.array([[890.0, 490.0, 1040.0, 1000.0]])
    faces = analyzer.analyze(canvas, person)
    assert len(faces) == 1
    bb = faces[0]["BoundingBox"]
    cx, cy = (bb["Left"] + bb["Width"] / 2) * 1920, (bb["Top"] + bb["Height"] / 2) * 1080
    assert 900 < cx < 1028 and 500 < cy < 650
    assert attach_faces(person, faces, (1920, 1080)) == [faces[0]]


def test_duplicate_passes_merge(analyzer, grace_hopper):
    # The full frame and both head regions see the same face: it is reported once.
    boxes = np.array([[120.0, 100.0, 420.0, 600.0], [130.0, 110.0, 410.0, 600.0]])
    assert len(analyzer.analyze(grace_hopper, boxes)) == 1


def test_default_landmarks_and_full_range(grace_hopper):
    with FaceAnalyzer(landmarks="default", detector_range="full") as a:
        faces = a.analyze(grace_hopper)
    assert len(faces) == 1
    types = [m["Type"] for m in faces[0]["Landmarks"]]
    assert types == ["eyeLeft", "eyeRight", "nose", "mouthLeft", "mouthRight"]


def test_no_face_in_noise(analyzer):
    rng = np.random.default_rng(0)
    assert analyzer.analyze(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)) == []


# --- attach_faces ----------------------------------------------------------------------


def _face(left, top, width, height, size=(1000, 1000)):
    w, h = size
    return {
        "BoundingBox": {"Left": left / w, "Top": top / h, "Width": width / w, "Height": height / h}
    }


def test_attach_faces_known_answer():
    people = np.array(
        [
            [100.0, 100.0, 300.0, 700.0],  # A
            [250.0, 120.0, 450.0, 720.0],  # B, overlapping A
            [600.0, 100.0, 800.0, 700.0],  # C, no face
        ]
    )
    face_b = _face(310, 130, 80, 80)  # head of B, also inside A's widened upper region
    face_a = _face(160, 110, 80, 80)  # head of A
    face_low = _face(640, 600, 60, 60)  # at C's knees: nobody's face
    got = attach_faces(people, [face_b, face_low, face_a], (1000, 1000))
    assert got[0] is face_a and got[1] is face_b and got[2] is None


def test_attach_faces_one_face_per_person_and_person_per_face():
    person = np.array([[100.0, 100.0, 300.0, 700.0]])
    near = _face(170, 110, 60, 60)
    far = _face(110, 300, 60, 60)
    assert attach_faces(person, [far, near], (1000, 1000)) == [near]
    two = np.array([[100.0, 100.0, 300.0, 700.0], [100.0, 100.0, 300.0, 700.0]])
    got = attach_faces(two, [near], (1000, 1000))
    assert got.count(near) == 1 and got.count(None) == 1
    assert attach_faces(np.zeros((0, 4)), [near], (1000, 1000)) == []
    assert attach_faces(person, [], (1000, 1000)) == [None]


# --- bad input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "image",
    [
        [[0, 0, 0]],
        np.zeros((100, 100, 3), np.float32),
        np.zeros((100, 100), np.uint8),
        np.zeros((100, 100, 4), np.uint8),
        np.zeros((2, 2, 3), np.uint8),
    ],
)
def test_bad_images(analyzer, image):
    with pytest.raises(InvalidParameterException):
        analyzer.analyze(image)


@pytest.mark.parametrize(
    "boxes",
    [np.zeros((2, 3)), np.array([[10.0, 10.0, 5.0, 20.0]]), np.array([[0, 0, np.nan, 1]]), "x"],
)
def test_bad_person_boxes(analyzer, grace_hopper, boxes):
    with pytest.raises(InvalidParameterException):
        analyzer.analyze(grace_hopper, boxes)
    with pytest.raises(InvalidParameterException):
        attach_faces(boxes, [], (10, 10))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"min_face_confidence": 1.5},
        {"min_mesh_confidence": -0.1},
        {"min_face_confidence": "high"},
        {"detector_range": "mid"},
        {"landmarks": "some"},
        {"head_fraction": 0},
        {"head_crop_size": 32},
        {"head_crop_size": 256.0},
        {"merge_iou": 2},
        {"search_person_heads": "yes"},
        {"detector_range": "full", "face_detector_path": "x.tflite"},
        {"face_detector_path": "/nonexistent/model.tflite"},
    ],
)
def test_bad_settings(kwargs):
    with pytest.raises(InvalidParameterException):
        FaceAnalyzer(**kwargs)


def test_closed_analyzer_and_bad_attach_inputs(grace_hopper):
    a = FaceAnalyzer()
    a.close()
    a.close()
    with pytest.raises(InvalidParameterException, match="closed"):
        a.analyze(grace_hopper)
    person = np.array([[0.0, 0.0, 10.0, 10.0]])
    for size in [(0, 10), (10,), "10x10", (10.5, 10)]:
        with pytest.raises(InvalidParameterException):
            attach_faces(person, [], size)
    for faces in [[{"Box": {}}], [None], "faces", [{"BoundingBox": {"Left": 0.1}}]]:
        with pytest.raises(InvalidParameterException):
            attach_faces(person, faces, (10, 10))
    with pytest.raises(InvalidParameterException):
        attach_faces(person, [], (10, 10), min_overlap=0)


# --- real footage ----------------------------------------------------------------------


@pytest.mark.shared_data
def test_walking_people_get_their_faces(shared_data, analyzer):
    frames = _read_frames(shared_data / "videos" / "face-demographics-walking.mp4", step=5)
    boxes = _pose_person_boxes(frames)
    with_faces = with_landmarks = attached = full_frame_only = 0
    with FaceAnalyzer(require_landmarks=False) as finder:
        for rgb, people in zip(frames, boxes, strict=True):
            h, w = rgb.shape[:2]
            # Faces here are ~15-25 px in a 480 x 270 frame: the head crops find them.
            full_frame_only += len(finder.analyze(rgb))
            faces = finder.analyze(rgb, people)
            with_faces += bool(faces)
            for face in faces:
                assert shape_errors(face, service_model().shape_for("FaceDetail")) == []
            attached += sum(f is not None for f in attach_faces(people, faces, (w, h)))
            # The mesh (without attention) is sure of few faces this small.
            with_landmarks += bool(analyzer.analyze(rgb, people))
    assert with_faces >= len(frames) - 1
    assert attached >= len(frames) > full_frame_only
    assert with_landmarks >= 2


@pytest.mark.shared_data
def test_real_turned_face_yaw_sign(shared_data, analyzer):
    rgb = _read_frames(shared_data / "videos" / "head-pose-face-detection-female-and-male.mp4")[0]
    w = rgb.shape[1]
    faces = analyzer.analyze(rgb)
    assert len(faces) == 2
    # The woman on the image's left looks towards the image's left: negative yaw.
    woman = min(faces, key=lambda f: f["BoundingBox"]["Left"])
    assert woman["BoundingBox"]["Left"] + woman["BoundingBox"]["Width"] < 0.5
    assert woman["Pose"]["Yaw"] < -8
    mirrored = analyzer.analyze(np.ascontiguousarray(rgb[:, ::-1]))
    woman_m = max(mirrored, key=lambda f: f["BoundingBox"]["Left"])
    assert woman_m["Pose"]["Yaw"] > 8
    assert (
        abs(
            woman_m["BoundingBox"]["Left"]
            - (1 - woman["BoundingBox"]["Left"] - woman["BoundingBox"]["Width"])
        )
        < 8 / w
    )


def test_neighbouring_faces_keep_their_own_landmarks(analyzer, grace_hopper):
    head = grace_hopper[110:380, 150:390]
    pair = np.ascontiguousarray(np.hstack([head, head[:, ::-1]]))
    faces = analyzer.analyze(pair)
    assert len(faces) == 2
    left, right = sorted(faces, key=lambda f: f["BoundingBox"]["Left"])
    nose = {id(f): next(m for m in f["Landmarks"] if m["Type"] == "nose") for f in faces}
    assert nose[id(left)]["X"] < 0.5 < nose[id(right)]["X"]
    # Mirror images of one face: opposite yaw and roll, same pitch.
    assert left["Pose"]["Roll"] == pytest.approx(-right["Pose"]["Roll"], abs=3)
    assert left["Pose"]["Pitch"] == pytest.approx(right["Pose"]["Pitch"], abs=3)


@pytest.mark.parametrize(
    ("axis", "degrees", "expected"),
    [
        ((0.0, 1.0, 0.0), -25.0, {"Yaw": 25.0}),  # face turns towards the image's right
        ((0.0, 1.0, 0.0), 25.0, {"Yaw": -25.0}),
        ((1.0, 0.0, 0.0), -20.0, {"Pitch": 20.0}),  # chin up: the face looks up
        ((0.0, 0.0, 1.0), 15.0, {"Roll": 15.0}),  # clockwise on screen
    ],
)
def test_head_pose_conventions_on_projected_model(axis, degrees, expected):
    from persontrack.vision import _face_geometry as geo

    rvec = np.radians(degrees) * np.array(axis)
    rot, _ = cv2.Rodrigues(rvec)
    # A head 60 cm in front of a 1280 x 720 camera, projected with the model's own points.
    camera = np.array([[1280.0, 0, 640], [0, 1280.0, 360], [0, 0, 1]])
    pts, _ = cv2.projectPoints(geo._PNP_MODEL, rvec, np.array([0.0, 0.0, 60.0]), camera, None)
    mesh = np.zeros((478, 2))
    mesh[geo._PNP_INDEX] = pts.reshape(-1, 2)
    pose = geo.head_pose(mesh, (1280, 720))
    assert pose is not None
    forward = rot @ np.array([0.0, 0.0, -1.0])
    if "Pitch" in expected:
        assert forward[1] < 0  # upwards in image axes
    if "Yaw" in expected:
        assert np.sign(forward[0]) == np.sign(expected["Yaw"])  # towards the image's right
    want = {"Roll": 0.0, "Yaw": 0.0, "Pitch": 0.0, **expected}
    for key, value in want.items():
        assert pose[key] == pytest.approx(value, abs=0.5), key


def test_faces_without_mesh_kept_only_on_request(grace_hopper):
    # The mesh graph's own detector never reaches a score of 1, so no face gets a mesh.
    with FaceAnalyzer(min_mesh_confidence=1.0, require_landmarks=False) as a:
        faces = a.analyze(grace_hopper)
    assert len(faces) == 1
    assert set(faces[0]) == {"BoundingBox", "Confidence", "Quality"}
    assert shape_errors(faces[0], service_model().shape_for("FaceDetail")) == []
    with FaceAnalyzer(min_mesh_confidence=1.0) as a:
        assert a.analyze(grace_hopper) == []
