"""MediaPipe's face and pose networks, shipped inside persontrack and checked at load.

The ``.tflite`` files under ``persontrack/vision/weights/`` are byte-identical to those of
the mediapipe 0.10.21 wheel (``mediapipe/modules/``; Apache-2.0, ``LICENSE-mediapipe``
beside them, provenance in ``PROVENANCE.md``), the last release that carried them. They are
run by OpenVINO's TFLite reader (:mod:`persontrack.vision.faces`,
:mod:`persontrack.vision.pose`), so no mediapipe release is needed to load them and nothing
is ever downloaded. :func:`shipped_model` checks a file's sha256 before handing it out.

Examples
--------
>>> import persontrack as pt
>>> pt.face_detector_model().name
'face_detection_short_range.tflite'
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
import zipfile
from pathlib import Path

from ..errors import InternalServerError, InvalidParameterException

__all__ = ["SHIPPED_MODELS", "face_detector_model", "model_cache_dir", "shipped_model"]

MODEL_DIR_ENV = "PERSONTRACK_MODEL_DIR"
"""Environment variable that overrides :func:`model_cache_dir`."""

WEIGHTS = Path(__file__).resolve().parent / "weights"

SHIPPED_MODELS: dict[str, str] = {
    # file: sha256 (equal to the mediapipe-0.10.21 wheel's RECORD entries)
    "face_detection_short_range.tflite": (
        "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8"
    ),
    "face_detection_full_range_sparse.tflite": (
        "2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1"
    ),
    "face_landmark.tflite": "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814",
    "iris_landmark.tflite": "d1744d2a09c25f501d39eba4faff47e53ecca8852c5ce19bce8eeac39357521f",
    "pose_landmark_full.tflite": (
        "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f"
    ),
}
"""The MediaPipe networks persontrack ships, and their sha256."""

_TFLITE_IDENTIFIER = b"TFL3"
_CHECKED: set[Path] = set()
_LOCK = threading.Lock()


def model_cache_dir() -> Path:
    """Folder where files taken out of user ``.task`` bundles are cached.

    ``$PERSONTRACK_MODEL_DIR`` when set, else ``~/.cache/persontrack/models``. The folder is
    not created here.

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import persontrack as pt
    >>> pt.model_cache_dir().name
    'models'
    """
    env = os.environ.get(MODEL_DIR_ENV)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "persontrack" / "models"


def shipped_model(name: str) -> Path:
    """The shipped MediaPipe network ``name``, its sha256 checked (once per process).

    Parameters
    ----------
    name : str
        A key of :data:`SHIPPED_MODELS`.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    InternalServerError
        The file is missing or altered (a broken installation).

    Examples
    --------
    >>> shipped_model("iris_landmark.tflite").stat().st_size
    2640568
    """
    if name not in SHIPPED_MODELS:
        raise InvalidParameterException(f"no shipped model {name!r}; known: {list(SHIPPED_MODELS)}")
    path = WEIGHTS / name
    with _LOCK:
        if path in _CHECKED:
            return path
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as e:
            raise InternalServerError(
                f"persontrack's model file {path} cannot be read ({e}); reinstall persontrack"
            ) from e
        if digest != SHIPPED_MODELS[name]:
            raise InternalServerError(
                f"persontrack's model file {path} is altered (sha256 {digest}, expected "
                f"{SHIPPED_MODELS[name]}); reinstall persontrack"
            )
        _CHECKED.add(path)
    return path


def face_detector_model(
    path: str | os.PathLike[str] | None = None, *, full_range: bool = False
) -> Path:
    """A BlazeFace ``.tflite`` face detector.

    Parameters
    ----------
    path : str or path-like, optional
        An official ``blaze_face_short_range.tflite`` to use instead; it is checked (exists,
        readable, a TFLite model) and returned unchanged.
    full_range : bool, default False
        ``face_detection_full_range_sparse`` (faces up to ~5 m, 192x192 input) instead of
        ``face_detection_short_range`` (faces within ~2 m, 128x128 input).

    Returns
    -------
    pathlib.Path
        The shipped model when ``path`` is None.

    Raises
    ------
    InvalidParameterException
        ``path`` is missing, unreadable or not a TFLite model.

    Examples
    --------
    >>> face_detector_model(full_range=True).name
    'face_detection_full_range_sparse.tflite'
    """
    if path is not None:
        return _check_user_tflite(path, "face_detector_model")
    return shipped_model(
        "face_detection_full_range_sparse.tflite"
        if full_range
        else "face_detection_short_range.tflite"
    )


# --- user files -------------------------------------------------------------------------


def _read_user_file(path: str | os.PathLike[str], func: str) -> tuple[Path, bytes]:
    if not isinstance(path, (str, os.PathLike)):
        raise InvalidParameterException(
            f"{func}: path must be a str or path-like, got {type(path).__name__}"
        )
    p = Path(path)
    if not p.exists():
        raise InvalidParameterException(f"{func}: model file {str(p)!r} does not exist")
    if not p.is_file():
        raise InvalidParameterException(f"{func}: model path {str(p)!r} is not a file")
    try:
        data = p.read_bytes()
    except OSError as e:
        raise InvalidParameterException(f"{func}: model file {str(p)!r} cannot be read: {e}") from e
    return p, data


def _is_tflite(data: bytes) -> bool:
    return len(data) > 8 and data[4:8] == _TFLITE_IDENTIFIER


def _check_user_tflite(path: str | os.PathLike[str], func: str) -> Path:
    p, data = _read_user_file(path, func)
    if not _is_tflite(data):
        raise InvalidParameterException(
            f"{func}: {str(p)!r} is not a TFLite model (expected a .tflite file)"
        )
    return p


def _bundle_members(data: bytes) -> dict[str, bytes] | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return {name: zf.read(name) for name in zf.namelist()}
    except (zipfile.BadZipFile, OSError, ValueError):
        return None


def _bundle_member(path: str | os.PathLike[str], member: str, func: str) -> bytes:
    """The TFLite file ``member`` of a user's ``.task`` bundle (a zip)."""
    p, data = _read_user_file(path, func)
    members = _bundle_members(data)
    if members is None:
        raise InvalidParameterException(
            f"{func}: {str(p)!r} is not a .task model bundle (a zip holding {member})"
        )
    if not _is_tflite(members.get(member, b"")):
        raise InvalidParameterException(f"{func}: {str(p)!r} lacks {member}")
    return members[member]
