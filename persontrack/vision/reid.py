"""Appearance embeddings of people: what lets the tracker tell two people apart.

:class:`AppearanceEmbedder` crops every detected person from a frame, resizes the crop to
128x256 and runs an Intel Open Model Zoo person re-identification network on OpenVINO,
batched per frame. Each person gets a 256-d unit vector; two crops of the same person
have a high cosine similarity (their dot product), two people a low one. The tracker
(:class:`~persontrack.Tracker`) and the offline linking step
(:func:`~persontrack.tracking.postprocess.link_tracks`) use them to keep one ``Index``
per person through crossings, occlusions and exits.

Models (shipped inside the package, sha256-checked at every load, Apache-2.0; see
``persontrack/vision/weights/PROVENANCE.md``):

- ``"0277"`` (default): person-reidentification-retail-0277, Market-1501 rank-1 96.2 %,
  2.0 GFLOPs; about 12 ms per crop on 2 CPU threads.
- ``"0287"``: person-reidentification-retail-0287 (int8), rank-1 92.9 %, 0.56 GFLOPs;
  about 5 ms per crop.
- a path to another OpenVINO IR ``.xml`` file with the same input (N x 3 x 256 x 128 BGR
  0-255) and a (N, D) output; its checksum is not checked.

People shorter than ``min_height`` pixels get no embedding (a NaN row): a crop of a few
pixels resized to 256 rows says little about who it is.

Examples
--------
>>> import numpy as np
>>> from persontrack.vision.reid import AppearanceEmbedder
>>> embedder = AppearanceEmbedder("0287")
>>> frame = np.zeros((240, 320, 3), np.uint8)
>>> frame[40:200, 60:110] = (40, 40, 200)   # a red figure
>>> emb = embedder.embed(frame, np.array([[60.0, 40, 110, 200], [0, 0, 10, 20]]))
>>> emb.shape, bool(np.isnan(emb[1]).all()), round(float(emb[0] @ emb[0]), 3)
((2, 256), True, 1.0)
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import cv2
import numpy as np

from ..errors import InternalServerError, InvalidParameterException
from ..threads import thread_budget
from ._openvino import compile_config
from ._quiet import openvino

__all__ = ["REID_MODELS", "AppearanceEmbedder", "cosine_distance"]

_MODEL_DIR = Path(__file__).resolve().parent / "weights"

REID_MODELS: dict[str, tuple[str, str, str]] = {
    "0277": (
        "person-reidentification-retail-0277",
        "82039b1bb986231c50345550e59def94e63579998e9cddbd1a312f293eb87729",
        "6bb69e09d07733cc3896b29081d2627f92db7b9aacd50f1a8c3df491cb10f1b7",
    ),
    "0287": (
        "person-reidentification-retail-0287",
        "1881e88e4d85a72c1c25e21b76d9193d4d37065ee5f779fabbc21aa6c1196331",
        "2f8bb06123e6981e6babcd6a3ab34df8edf5d01f864287b30bbf15b8ca434856",
    ),
}
"""Shipped models by name: (file stem, sha256 of the ``.xml``, sha256 of the ``.bin``)."""

DEFAULT_THREADS = 2
"""OpenVINO threads of an embedder outside a thread budget (the embedder's fixed thread
count before budgets existed: this project's machine has 2 cores)."""
_INPUT_H, _INPUT_W = 256, 128
_LOCK = threading.Lock()
_COMPILED: dict[tuple[str, int], object] = {}


def cosine_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(A, B) ``1 - cosine similarity`` of unit vectors; NaN where either row is NaN.

    Examples
    --------
    >>> import numpy as np
    >>> cosine_distance(np.array([[1.0, 0.0]]), np.array([[1.0, 0.0], [0.0, 1.0]])).tolist()
    [[0.0, 1.0]]
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2:
        raise InvalidParameterException("cosine_distance: a and b must be 2-d arrays")
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    return np.asarray(1.0 - a @ b.T)


class AppearanceEmbedder:
    """Embed person crops with an OpenVINO re-identification model.

    Parameters
    ----------
    model : str, default "0277"
        ``"0277"``, ``"0287"`` (see :data:`REID_MODELS`) or the path of an OpenVINO IR
        ``.xml`` file (its ``.bin`` beside it).
    min_height : float, default 32.0
        Boxes shorter than this many pixels get a NaN embedding. The smallest people on
        PETS09-S2L1 are ~40 px tall and still gain from appearance; below ~32 px the crop
        is mostly the 256-row upscaling blur.
    threads : int, optional
        OpenVINO CPU inference threads; by default the process's thread budget
        (:func:`persontrack.threads.thread_budget`, e.g. 1 in a Dask task), else
        :data:`DEFAULT_THREADS`.
    max_batch : int, default 32
        Crops per inference call.

    Raises
    ------
    InvalidParameterException
        Unknown model name, missing file, or a setting out of range.
    InternalServerError
        A shipped model file does not match its checksum (the installation is damaged).
    """

    def __init__(
        self,
        model: str | Path = "0277",
        *,
        min_height: float = 32.0,
        threads: int | None = None,
        max_batch: int = 32,
    ) -> None:
        if isinstance(min_height, bool) or not isinstance(min_height, (int, float)):
            raise InvalidParameterException(
                f"AppearanceEmbedder: min_height must be a number, got {min_height!r}"
            )
        if not 0 <= min_height < float("inf"):
            raise InvalidParameterException("AppearanceEmbedder: min_height must be >= 0")
        if threads is None:
            threads = thread_budget() or DEFAULT_THREADS
        for name, value in (("threads", threads), ("max_batch", max_batch)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidParameterException(
                    f"AppearanceEmbedder: {name} must be an int >= 1, got {value!r}"
                )
        self.model = str(model)
        self.min_height = float(min_height)
        self.max_batch = int(max_batch)
        self._compiled = _compile(_model_path(model), threads)

    @property
    def dimension(self) -> int:
        """Length of an embedding (256 for the shipped models)."""
        return int(self._compiled.outputs[0].partial_shape[1].get_length())  # type: ignore[attr-defined]

    def embed(self, frame: np.ndarray, xyxy: np.ndarray, *, rgb: bool = False) -> np.ndarray:
        """Embeddings of the people in boxes ``xyxy`` of ``frame``.

        Parameters
        ----------
        frame : numpy.ndarray
            (H, W, 3) uint8 image, BGR as OpenCV gives it (the networks' order).
        xyxy : numpy.ndarray
            (N, 4) boxes in pixels of ``frame``; clipped to the frame.
        rgb : bool, default False
            ``frame`` is RGB, as :mod:`persontrack.io.video` and the pipeline give it: the
            crops are turned to BGR. Swapped channels give other embeddings: end to end on
            PETS09-S2L1, identity IDF1 81.9 with RGB taken as BGR, 86.3 right.

        Returns
        -------
        numpy.ndarray
            (N, D) float32 unit vectors; NaN rows for boxes shorter than ``min_height``
            or with no pixels inside the frame.
        """
        frame = np.asarray(frame)
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise InvalidParameterException(
                f"AppearanceEmbedder.embed: frame must be (H, W, 3) uint8, got "
                f"{frame.shape} {frame.dtype}"
            )
        boxes = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
        out = np.full((len(boxes), self.dimension), np.nan, dtype=np.float32)
        h, w = frame.shape[:2]
        x1 = np.clip(np.floor(boxes[:, 0]), 0, w).astype(int)
        y1 = np.clip(np.floor(boxes[:, 1]), 0, h).astype(int)
        x2 = np.clip(np.ceil(boxes[:, 2]), 0, w).astype(int)
        y2 = np.clip(np.ceil(boxes[:, 3]), 0, h).astype(int)
        ok = np.flatnonzero((boxes[:, 3] - boxes[:, 1] >= self.min_height) & (x2 > x1) & (y2 > y1))
        for start in range(0, len(ok), self.max_batch):
            rows = ok[start : start + self.max_batch]
            batch = np.empty((len(rows), 3, _INPUT_H, _INPUT_W), dtype=np.float32)
            for k, i in enumerate(rows):
                crop = cv2.resize(
                    frame[y1[i] : y2[i], x1[i] : x2[i]],
                    (_INPUT_W, _INPUT_H),
                    interpolation=cv2.INTER_LINEAR,
                )
                batch[k] = (crop[:, :, ::-1] if rgb else crop).transpose(2, 0, 1)
            emb = np.asarray(self._compiled(batch)[0], dtype=np.float32)  # type: ignore[operator]
            emb /= np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
            out[rows] = emb
        return out

    def __repr__(self) -> str:
        return f"AppearanceEmbedder(model={self.model!r}, min_height={self.min_height})"


def _model_path(model: str | Path) -> Path:
    if isinstance(model, str) and model in REID_MODELS:
        stem, xml_sum, bin_sum = REID_MODELS[model]
        xml = _MODEL_DIR / f"{stem}.xml"
        for path, expected in ((xml, xml_sum), (xml.with_suffix(".bin"), bin_sum)):
            try:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
            except OSError as e:
                raise InternalServerError(f"re-id model file missing: {path} ({e})") from e
            if digest != expected:
                raise InternalServerError(
                    f"re-id model file {path.name} does not match its sha256 (got {digest}); "
                    "reinstall persontrack"
                )
        return xml
    if not isinstance(model, (str, Path)):
        raise InvalidParameterException(
            f"AppearanceEmbedder: model must be one of {sorted(REID_MODELS)} or a path, "
            f"got {type(model).__name__}"
        )
    path = Path(model)
    if path.suffix != ".xml" or not path.is_file() or not path.with_suffix(".bin").is_file():
        raise InvalidParameterException(
            f"AppearanceEmbedder: model must be one of {sorted(REID_MODELS)} or an existing "
            f"OpenVINO .xml file with its .bin beside it, got {str(model)!r}"
        )
    return path


def _compile(xml: Path, threads: int) -> object:
    """Compiled model with a dynamic batch size, shared by embedders of the same file."""
    key = (str(xml), threads)
    with _LOCK:
        if key not in _COMPILED:
            ov = openvino()

            core = ov.Core()
            net = core.read_model(str(xml))
            if len(net.inputs) != 1:
                raise InvalidParameterException(
                    f"AppearanceEmbedder: {xml.name} must have one input, has {len(net.inputs)}"
                )
            net.reshape({net.inputs[0]: ov.PartialShape([-1, 3, _INPUT_H, _INPUT_W])})
            _COMPILED[key] = core.compile_model(net, "CPU", compile_config(threads))
        return _COMPILED[key]
