"""MediaPipe Tasks model files, built offline from the models inside the mediapipe wheel.

mediapipe 0.10.21 ships its ``.tflite`` models under ``mediapipe/modules/`` without the
metadata the Tasks API needs (input normalisation) and without the ``.task`` bundles some
tasks load. The functions here add that metadata, bundle the files where the task needs a
bundle, and cache the result in :func:`model_cache_dir`. Nothing is ever downloaded.

Every function also accepts ``path``: an official ``.task``/``.tflite`` file the user
downloaded themselves, which is checked and returned unchanged.

Examples
--------
>>> import persontrack as pt
>>> from mediapipe.tasks.python import BaseOptions, vision
>>> options = vision.PoseLandmarkerOptions(
...     base_options=BaseOptions(model_asset_path=str(pt.pose_landmarker_model())), num_poses=4
... )
>>> with vision.PoseLandmarker.create_from_options(options) as landmarker:  # doctest: +SKIP
...     result = landmarker.detect(image)
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import InternalServerError, InvalidParameterException
from ._quiet import mediapipe

__all__ = [
    "face_detector_model",
    "model_cache_dir",
    "pose_landmarker_model",
]

MODEL_DIR_ENV = "PERSONTRACK_MODEL_DIR"
"""Environment variable that overrides :func:`model_cache_dir`."""

# Bump when the way files are built changes, so old cache entries are not reused.
_BUILD_FORMAT = "1"

_TFLITE_IDENTIFIER = b"TFL3"

# Normalisation that makes the wheel's models give the results of the legacy graphs:
# detectors take [-1, 1] input, landmark models [0, 1].
_DETECTOR_NORM = (127.5, 127.5)
_LANDMARK_NORM = (0.0, 255.0)


@dataclass(frozen=True)
class _Part:
    """One .tflite file of the wheel, normalised, and its name inside a bundle."""

    source: str  # relative to mediapipe/modules
    mean: float
    std: float
    bundle_name: str


@dataclass(frozen=True)
class _Spec:
    name: str
    parts: tuple[_Part, ...]

    @property
    def is_bundle(self) -> bool:
        return len(self.parts) > 1

    @property
    def suffix(self) -> str:
        return ".task" if self.is_bundle else ".tflite"


_POSE_LANDMARKER = _Spec(
    "pose_landmarker_full",
    (
        _Part("pose_detection/pose_detection.tflite", *_DETECTOR_NORM, "pose_detector.tflite"),
        _Part(
            "pose_landmark/pose_landmark_full.tflite",
            *_LANDMARK_NORM,
            "pose_landmarks_detector.tflite",
        ),
    ),
)
_FACE_DETECTOR_SHORT = _Spec(
    "face_detection_short_range",
    (
        _Part(
            "face_detection/face_detection_short_range.tflite",
            *_DETECTOR_NORM,
            "face_detector.tflite",
        ),
    ),
)
_FACE_DETECTOR_FULL = _Spec(
    "face_detection_full_range_sparse",
    (
        _Part(
            "face_detection/face_detection_full_range_sparse.tflite",
            *_DETECTOR_NORM,
            "face_detector.tflite",
        ),
    ),
)
_LOCK = threading.Lock()


def model_cache_dir() -> Path:
    """Folder where built model files are cached.

    ``$PERSONTRACK_MODEL_DIR`` when set, else ``~/.cache/persontrack/models``. The folder is
    not created here; the model functions create it when they first write to it.

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


def pose_landmarker_model(path: str | os.PathLike[str] | None = None) -> Path:
    """A ``PoseLandmarker`` ``.task`` bundle (BlazePose detector + full landmark model).

    Parameters
    ----------
    path : str or path-like, optional
        An official ``pose_landmarker_*.task`` file to use instead; it is checked (exists,
        readable, a bundle holding ``pose_detector.tflite`` and
        ``pose_landmarks_detector.tflite``) and returned unchanged.

    Returns
    -------
    pathlib.Path
        The bundle, built from the mediapipe wheel and cached when ``path`` is None.

    Raises
    ------
    InvalidParameterException
        ``path`` is missing, unreadable or not a pose landmarker bundle.

    Examples
    --------
    >>> import persontrack as pt
    >>> pt.pose_landmarker_model().suffix
    '.task'
    """
    if path is not None:
        return _check_user_bundle(path, _POSE_LANDMARKER, "pose_landmarker_model")
    return _cached(_POSE_LANDMARKER)


def face_detector_model(
    path: str | os.PathLike[str] | None = None, *, full_range: bool = False
) -> Path:
    """A ``FaceDetector`` ``.tflite`` model (BlazeFace).

    Parameters
    ----------
    path : str or path-like, optional
        An official ``blaze_face_*.tflite`` file to use instead; it is checked (exists,
        readable, a TFLite model) and returned unchanged.
    full_range : bool, default False
        Build ``face_detection_full_range_sparse`` (faces up to ~5 m, 192x192 input) instead
        of ``face_detection_short_range`` (faces within ~2 m, 128x128 input). Note that the
        Tasks ``FaceDetector`` of mediapipe 0.10.21 hard-codes the short-range anchors and
        fails on the full-range model; it is offered for other runners.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    InvalidParameterException
        ``path`` is missing, unreadable or not a TFLite model.

    Examples
    --------
    >>> import persontrack as pt
    >>> pt.face_detector_model().suffix
    '.tflite'
    """
    if path is not None:
        return _check_user_tflite(path, "face_detector_model")
    return _cached(_FACE_DETECTOR_FULL if full_range else _FACE_DETECTOR_SHORT)


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
    import io

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return {name: zf.read(name) for name in zf.namelist()}
    except (zipfile.BadZipFile, OSError, ValueError):
        return None


def _check_user_bundle(path: str | os.PathLike[str], spec: _Spec, func: str) -> Path:
    p, data = _read_user_file(path, func)
    members = _bundle_members(data)
    needed = [part.bundle_name for part in spec.parts]
    if members is None:
        raise InvalidParameterException(
            f"{func}: {str(p)!r} is not a .task model bundle (a zip holding {needed})"
        )
    missing = [n for n in needed if not _is_tflite(members.get(n, b""))]
    if missing:
        raise InvalidParameterException(
            f"{func}: {str(p)!r} is not a {spec.name} bundle: it lacks {missing}"
        )
    return p


# --- building and caching ---------------------------------------------------------------


def _modules_dir() -> Path:
    init = mediapipe().__file__
    assert init is not None  # the mediapipe wheel is a regular package
    return Path(init).resolve().parent / "modules"


def _mediapipe_version() -> str:
    return str(getattr(mediapipe(), "__version__", "unknown"))


def _source_bytes(part: _Part) -> bytes:
    src = _modules_dir() / part.source
    try:
        return src.read_bytes()
    except OSError as e:
        raise InternalServerError(
            f"mediapipe {_mediapipe_version()} does not ship {part.source} ({e}); "
            "install mediapipe==0.10.21 or pass path= with an official model file"
        ) from e


def _with_metadata(model: bytes, part: _Part) -> bytes:
    """The model with image-input normalisation metadata (and plain output metadata)."""
    mediapipe()
    from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer, writer_utils

    buf = bytearray(model)
    writer = metadata_writer.MetadataWriter.create(buf)
    writer.add_general_info(Path(part.source).stem, "persontrack build of the mediapipe model")
    writer.add_image_input(norm_mean=[part.mean], norm_std=[part.std])
    # Every output tensor needs a metadata entry; plain feature outputs suffice.
    for i in range(len(writer_utils.get_output_tensor_types(buf))):
        writer.add_feature_output(name=f"output_{i}")
    out, _ = writer.populate()
    return bytes(out)


def _build(spec: _Spec, sources: list[bytes], dest: Path) -> None:
    mediapipe()
    from mediapipe.tasks.python.metadata.metadata_writers import model_asset_bundle_utils

    models = {
        part.bundle_name: _with_metadata(src, part)
        for part, src in zip(spec.parts, sources, strict=True)
    }
    if spec.is_bundle:
        model_asset_bundle_utils.create_model_asset_bundle(models, str(dest))
    else:
        dest.write_bytes(next(iter(models.values())))


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _atomic_write(dest: Path, write: Callable[[Path], object]) -> None:
    """Write through a temporary file in ``dest``'s folder, then ``os.replace`` it."""
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _cache_valid(model: Path, digest_file: Path) -> bool:
    try:
        expected = digest_file.read_text().strip()
        data = model.read_bytes()
    except OSError:
        return False
    if _sha256(data) != expected:
        return False
    if model.suffix == ".task":
        return _bundle_members(data) is not None
    return _is_tflite(data)


def _cached(spec: _Spec) -> Path:
    """Build ``spec`` into the cache unless a valid copy is already there."""
    sources = [_source_bytes(part) for part in spec.parts]
    key = hashlib.sha256()
    key.update(_BUILD_FORMAT.encode())
    for part, src in zip(spec.parts, sources, strict=True):
        key.update(repr(part).encode())
        key.update(hashlib.sha256(src).digest())
    version = _mediapipe_version()
    name = f"{spec.name}-mp{version}-{key.hexdigest()[:16]}{spec.suffix}"
    folder = model_cache_dir()
    model = folder / name
    # The sidecar holds the built file's sha256: a truncated or altered file is rebuilt.
    digest_file = folder / (name + ".sha256")
    with _LOCK:
        if _cache_valid(model, digest_file):
            return model
        try:
            folder.mkdir(parents=True, exist_ok=True)
            _atomic_write(model, lambda tmp: _build(spec, sources, tmp))
            digest = _sha256(model.read_bytes())
            _atomic_write(digest_file, lambda tmp: tmp.write_text(digest + "\n"))
        except OSError as e:
            raise InternalServerError(
                f"cannot write model cache {str(folder)!r} ({e}); set ${MODEL_DIR_ENV} "
                "to a writable folder"
            ) from e
    return model
