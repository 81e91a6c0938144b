"""Face geometry for :mod:`persontrack.vision.faces`: landmarks, boxes, head pose and image quality.

Everything here is a pure function of arrays in pixels of the full frame.

Conventions (chosen to match Amazon Rekognition, see :mod:`persontrack.vision.faces`):

* ``Left``/``Right`` in a Rekognition landmark name mean the side of the IMAGE, for a face
  looking at the camera: ``eyeLeft`` is the eye nearer the image's left edge, i.e. the
  subject's right eye (MediaPipe mesh indices 33/133/159/145, iris 468).
* ``Yaw`` is positive when the face turns towards the image's right (the subject's left),
  ``Pitch`` is positive when the face looks up, ``Roll`` is the angle of the line from the
  image-left eye to the image-right eye, positive clockwise on screen (the image-right eye
  lower). All in degrees within [-180, 180].
"""

from __future__ import annotations

import math

import cv2
import numpy as np

# 478-point MediaPipe face mesh index (or indices, averaged) for each Rekognition
# LandmarkType, in the order of botocore's enum. "Left" = image left (subject's right).
LANDMARK_MESH_INDEX: dict[str, tuple[int, ...]] = {
    "eyeLeft": (33, 133, 159, 145),  # centre of the eye opening
    "eyeRight": (263, 362, 386, 374),
    "nose": (1,),  # nose tip
    "mouthLeft": (61,),
    "mouthRight": (291,),
    "leftEyeBrowLeft": (70,),  # outer end of the image-left brow
    "leftEyeBrowRight": (107,),  # inner end
    "leftEyeBrowUp": (105,),  # top of the arch
    "rightEyeBrowLeft": (336,),  # inner end of the image-right brow
    "rightEyeBrowRight": (300,),  # outer end
    "rightEyeBrowUp": (334,),
    "leftEyeLeft": (33,),  # outer corner of the image-left eye
    "leftEyeRight": (133,),  # inner corner
    "leftEyeUp": (159,),  # middle of the upper lid
    "leftEyeDown": (145,),  # middle of the lower lid
    "rightEyeLeft": (362,),  # inner corner of the image-right eye
    "rightEyeRight": (263,),  # outer corner
    "rightEyeUp": (386,),
    "rightEyeDown": (374,),
    "noseLeft": (129,),  # nose wings (alae)
    "noseRight": (358,),
    "mouthUp": (0,),  # top of the upper lip, centre
    "mouthDown": (17,),  # bottom of the lower lip, centre
    "leftPupil": (468,),  # iris centres of the refined mesh
    "rightPupil": (473,),
    "upperJawlineLeft": (234,),  # face contour at eye level
    "midJawlineLeft": (172,),  # jaw angle region
    "chinBottom": (152,),
    "midJawlineRight": (397,),
    "upperJawlineRight": (454,),
}

DEFAULT_LANDMARK_TYPES: tuple[str, ...] = ("eyeLeft", "eyeRight", "nose", "mouthLeft", "mouthRight")
"""The five types real People Pathing output carries."""

# The face oval of the mesh, used for the face box.
_FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378,
              400, 377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54,
              103, 67, 109)  # fmt: skip

# Rigid 3-D face for solvePnP: vertices of MediaPipe's canonical face model
# (mediapipe/modules/face_geometry/data/canonical_face_model.obj, Apache-2.0; centimetres),
# converted to camera axes for a face looking straight at the camera: X towards the image's
# right, Y down, Z away from the camera (the .obj has Y up and Z towards the viewer).
_CANONICAL_OBJ: dict[int, tuple[float, float, float]] = {
    1: (0.0, -1.126865, 7.475604),  # nose tip
    10: (0.0, 8.261778, 4.481535),  # top of the forehead
    33: (-4.445859, 2.663991, 3.173422),  # outer eye corners
    263: (4.445859, 2.663991, 3.173422),
    133: (-1.856432, 2.585245, 3.757904),  # inner eye corners
    362: (1.856432, 2.585245, 3.757904),
    105: (-3.986562, 5.109487, 4.466315),  # brows
    334: (3.986562, 5.109487, 4.466315),
    61: (-2.456206, -4.342621, 4.283884),  # mouth corners
    291: (2.456206, -4.342621, 4.283884),
    0: (0.0, -3.406404, 5.979507),  # upper lip
    152: (0.0, -9.403378, 4.264492),  # chin
    234: (-7.664182, 0.673132, -2.435867),  # face contour at eye level
    454: (7.664182, 0.673132, -2.435867),
}
_CANONICAL_FACE = {i: (x, -y, -z) for i, (x, y, z) in _CANONICAL_OBJ.items()}
_PNP_INDEX = np.array(list(_CANONICAL_FACE), dtype=np.int64)
_PNP_MODEL = np.array(list(_CANONICAL_FACE.values()), dtype=np.float64)

# Sharpness = 100 / (1 + (r0 / r) ** k) of the Laplacian-to-contrast ratio r of a face crop
# resampled to 64 x 64: 50 at r = r0. Calibrated on real faces: matplotlib's grace_hopper.jpg
# scores 99, blurred by a 3 px Gaussian 87; a 73 px video face 70, blurred by 2 px 5.
_QUALITY_SIZE = 64
_SHARPNESS_R0 = 0.05
_SHARPNESS_K = 1.5


def rekognition_landmarks(
    mesh_xy: np.ndarray, image_size: tuple[int, int], types: tuple[str, ...]
) -> list[dict[str, object]]:
    """Rekognition ``Landmarks`` from a 478-point mesh in pixels.

    Parameters
    ----------
    mesh_xy : numpy.ndarray
        (478, 2) mesh points in pixels of the full frame.
    image_size : tuple of int
        (width, height) of the frame.
    types : tuple of str
        Landmark types to return, keys of :data:`LANDMARK_MESH_INDEX`.

    Returns
    -------
    list of dict
        ``{"Type", "X", "Y"}`` with X, Y ratios of the frame width and height.
    """
    w, h = image_size
    out: list[dict[str, object]] = []
    for t in types:
        x, y = mesh_xy[list(LANDMARK_MESH_INDEX[t])].mean(axis=0)
        out.append({"Type": t, "X": float(x / w), "Y": float(y / h)})
    return out


def mesh_face_box(mesh_xy: np.ndarray) -> np.ndarray:
    """Square ``[x1, y1, x2, y2]`` box (pixels) around the mesh's face oval.

    Rekognition Video face boxes are square in pixels and span forehead to chin, which is
    what the oval (hairline point 10 to chin 152, cheek 234 to cheek 454) spans.
    """
    pts = mesh_xy[list(_FACE_OVAL)]
    x1, y1 = pts.min(axis=0)
    x2, y2 = pts.max(axis=0)
    cx, cy, side = (x1 + x2) / 2, (y1 + y2) / 2, max(x2 - x1, y2 - y1)
    return np.array([cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2])


def head_pose(mesh_xy: np.ndarray, image_size: tuple[int, int]) -> dict[str, float] | None:
    """Rekognition ``Pose`` (degrees) from mesh points, by ``cv2.solvePnP``.

    The camera is a pinhole with focal length max(width, height) pixels centred on the
    frame. See the module docstring for the sign conventions.

    Returns
    -------
    dict
        ``{"Roll", "Yaw", "Pitch"}`` in degrees within [-180, 180], or None when
        ``solvePnP`` finds no solution.
    """
    w, h = image_size
    f = float(max(w, h))
    camera = np.array([[f, 0.0, w / 2], [0.0, f, h / 2], [0.0, 0.0, 1.0]])
    image_points = np.ascontiguousarray(mesh_xy[_PNP_INDEX], dtype=np.float64)
    ok, rvec, _ = cv2.solvePnP(
        _PNP_MODEL, image_points, camera, np.zeros(4), flags=cv2.SOLVEPNP_SQPNP
    )
    if not ok:  # pragma: no cover - SQPnP solves any 14 non-degenerate points
        return None
    rot, _ = cv2.Rodrigues(rvec)
    forward = rot @ np.array([0.0, 0.0, -1.0])  # where the face points, camera axes
    across = rot @ np.array([1.0, 0.0, 0.0])  # image-left eye -> image-right eye
    yaw = math.degrees(math.atan2(forward[0], -forward[2]))
    pitch = math.degrees(math.atan2(-forward[1], math.hypot(forward[0], forward[2])))
    roll = math.degrees(math.atan2(across[1], across[0]))
    return {"Roll": roll, "Yaw": yaw, "Pitch": pitch}


def face_quality(image: np.ndarray, box: np.ndarray) -> dict[str, float]:
    """Rekognition ``Quality`` of the face in ``box`` (pixels), both 0-100.

    ``Brightness`` is the mean luma (BT.601) of the crop as a percentage of white.
    ``Sharpness`` is ``100 / (1 + (r0 / r) ** 1.5)`` where ``r`` is the variance of the
    Laplacian of the grey crop (resampled to 64 x 64) divided by the crop's intensity
    variance: it grows monotonically with fine detail and does not depend on exposure or
    contrast; faces smaller than 64 pixels have little detail and score lower.
    """
    h, w = image.shape[:2]
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    x1, y1, x2, y2 = max(x1, 0), max(y1, 0), min(x2, w), min(y2, h)
    if x2 - x1 < 2 or y2 - y1 < 2:
        return {"Brightness": 0.0, "Sharpness": 0.0}
    crop = image[y1:y2, x1:x2]
    grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY).astype(np.float64)
    brightness = 100.0 * grey.mean() / 255.0
    side = _QUALITY_SIZE
    interp = cv2.INTER_AREA if min(grey.shape) > side else cv2.INTER_LINEAR
    small = cv2.resize(grey, (side, side), interpolation=interp)
    contrast = small.var()
    ratio = cv2.Laplacian(small, cv2.CV_64F).var() / contrast if contrast > 1e-6 else 0.0
    sharpness = 100.0 / (1.0 + (_SHARPNESS_R0 / ratio) ** _SHARPNESS_K) if ratio > 0 else 0.0
    return {"Brightness": float(brightness), "Sharpness": float(sharpness)}


def head_regions(person_boxes: np.ndarray, head_fraction: float) -> np.ndarray:
    """Square search regions (pixels) around the heads of upright people.

    Each region is centred horizontally on the person box, starts a little above its top,
    and is as tall as ``head_fraction`` of the box (at least the box width), so a head that
    leans or a box cut at the forehead still falls inside.
    """
    x1, y1, x2, y2 = person_boxes.T
    bw, bh = x2 - x1, y2 - y1
    side = np.maximum(bw, head_fraction * bh)
    cx = (x1 + x2) / 2
    top = y1 - 0.1 * side
    return np.column_stack([cx - side / 2, top, cx + side / 2, top + side])
