"""Person box detectors run by OpenVINO: the models shipped in the package, or a user's own.

:class:`BoxModel` reads one detector file (OpenVINO IR ``.xml`` with its ``.bin``, or
``.onnx``), scales each frame to the network's input and returns the person boxes in frame
pixels with the model's raw scores. The output layout is recognised from the outputs' shapes:

``"atss"``
    Two outputs, ``boxes`` (N, 5) ``[x1, y1, x2, y2, score]`` in input pixels and ``labels``
    (N,) class ids, as Open Model Zoo's ATSS/FCOS detectors (person-vehicle-bike-detection-2003,
    person-detection-0200..0203). Person label 1 by default.
``"ssd"``
    One output (1, 1, N, 7) ``[image_id, label, score, x1, y1, x2, y2]``, coordinates as
    fractions of the input, as Open Model Zoo's SSD detectors (person-vehicle-bike-detection-2000,
    person-detection-retail-0013). Person label 1 by default (set ``person_label`` for models
    whose person class is another id).
``"yolox"``
    One output (1, N, 5 + C): the raw YOLOX head (centre and log size per grid cell of strides
    8, 16, 32, objectness, then C class probabilities), as the official YOLOX ONNX exports
    (person is COCO class 0). Scores are objectness x person probability.

All take a BGR image with values 0-255, NCHW. The frame is resized so its longer side is
``input_size`` and both sides are multiples of 32 (the aspect ratio changes by at most a few
per cent: a 1920x1080 frame at 864 becomes the shipped model's native 864x480), so people
keep their shape whatever the frame's aspect ratio.

The shipped models (:data:`SHIPPED`) are checked against their sha256 before loading (see
``weights/PROVENANCE.md``); nothing is ever downloaded.

Examples
--------
>>> import numpy as np
>>> from persontrack.vision.box_models import BoxModel
>>> model = BoxModel(None, input_size=640)
>>> model.layout, model.person_label
('atss', 1)
>>> boxes, scores = model.detect(np.zeros((360, 640, 3), np.uint8), min_score=0.2)
>>> boxes.shape, scores.shape
((0, 4), (0,))
"""

from __future__ import annotations

import collections
import hashlib
import os
import threading
from collections.abc import Generator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidParameterException
from ..threads import thread_budget
from ._openvino import compile_config
from ._quiet import openvino

__all__ = ["DEFAULT_MODEL", "SHIPPED", "BoxModel", "shipped_model_path"]

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"

# Networks compiled in this process, shared by every detector of the same file and input
# size: compiling takes about a second, more than a Dask segment task's frames may take.
_COMPILED: dict[tuple[str, int, int, int, int, int | None, int], Any] = {}

DEFAULT_MODEL = "person-vehicle-bike-detection-2003"
"""The shipped model used when no model file is given."""


@dataclass(frozen=True)
class _Shipped:
    xml_sha256: str
    bin_sha256: str
    # Raw score -> precision of the model's person boxes at that score, measured on the 26
    # frames of ../shared/data/mot-frames (benchmarks/detection_mot_frames.py --calibration;
    # pairs of (raw, calibrated) points, linearly interpolated, flat beyond the ends).
    calibration: tuple[tuple[float, float], ...]


SHIPPED: dict[str, _Shipped] = {
    "person-vehicle-bike-detection-2003": _Shipped(
        "47c8bff6b743639b6d60cab292b64f6246b0f790eb4534d0392d09ada436a756",
        "0172364bf6770a45c61f0edfedd703746da021c6e8691056d376a0fac69439c0",
        # input_size 864: a box scoring 0.2 is a pedestrian 3 times in 10, 0.3: 8 in 10.
        (
            (0.107, 0.1),
            (0.124, 0.146),
            (0.148, 0.237),
            (0.188, 0.237),
            (0.288, 0.806),
            (0.374, 0.893),
            (0.478, 0.924),
            (0.613, 1.0),
        ),
    ),
}
"""The models inside the package, by name: checksums and score calibration."""

_DEFAULT_LABEL = {"atss": 1, "ssd": 1, "yolox": 0}
_YOLOX_STRIDES = (8, 16, 32)
_STRIDE = 32  # input sides are rounded up to a multiple of this
_VERIFIED: set[str] = set()
_LOCK = threading.Lock()


def shipped_model_path(name: str = DEFAULT_MODEL) -> Path:
    """The ``.xml`` of a shipped model, after checking both files' sha256.

    Raises
    ------
    InvalidParameterException
        Unknown name.
    persontrack.errors.InternalServerError
        A file is missing or altered (a broken installation).

    Examples
    --------
    >>> from persontrack.vision.box_models import shipped_model_path
    >>> shipped_model_path().name
    'person-vehicle-bike-detection-2003.xml'
    """
    from ..errors import InternalServerError

    if name not in SHIPPED:
        raise InvalidParameterException(f"unknown shipped model {name!r}; known: {sorted(SHIPPED)}")
    spec = SHIPPED[name]
    xml = WEIGHTS_DIR / f"{name}.xml"
    with _LOCK:
        if name in _VERIFIED:
            return xml
        for path, expected in ((xml, spec.xml_sha256), (xml.with_suffix(".bin"), spec.bin_sha256)):
            try:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
            except OSError as e:
                raise InternalServerError(
                    f"the shipped detector file {str(path)!r} cannot be read ({e}); "
                    "reinstall persontrack"
                ) from e
            if digest != expected:
                raise InternalServerError(
                    f"the shipped detector file {str(path)!r} has sha256 {digest}, expected "
                    f"{expected} (see weights/PROVENANCE.md); reinstall persontrack"
                )
        _VERIFIED.add(name)
    return xml


def _layout(outputs: list[Any]) -> str:
    shapes = [o.get_partial_shape() for o in outputs]
    ranks = [s.rank.get_length() if s.rank.is_static else -1 for s in shapes]
    if len(outputs) == 2 and sorted(ranks) == [1, 2]:
        boxes = shapes[ranks.index(2)]
        if boxes[1].is_static and boxes[1].get_length() == 5:
            return "atss"
    if len(outputs) == 1 and ranks[0] == 4 and shapes[0][3].is_static:
        if shapes[0][3].get_length() == 7:
            return "ssd"
    if len(outputs) == 1 and ranks[0] == 3 and shapes[0][2].is_static:
        if shapes[0][2].get_length() > 5:
            return "yolox"
    raise InvalidParameterException(
        "the detector's outputs "
        + str([str(s) for s in shapes])
        + " match no known layout: 'atss' (boxes Nx5 + labels N), 'ssd' (1x1xNx7) or 'yolox' "
        "(1xNx(5+classes)); see persontrack.vision.box_models"
    )


class BoxModel:
    """One OpenVINO person box detector.

    Parameters
    ----------
    model : str, path or None
        ``None`` or the name of a shipped model (:data:`SHIPPED`); or a path to an OpenVINO IR
        ``.xml`` (its ``.bin`` beside it) or an ``.onnx`` file with one of the layouts of the
        module's text.
    input_size : int or None
        Longer side of the network input in pixels (>= 64); ``None`` keeps the model's own
        input size (the frame is then stretched to it).
    max_upscale : float or None
        With ``input_size``: most a smaller frame is enlarged (1.0: never; ``None``: up to
        ``input_size`` always).
    person_label : int or None
        Class id of people; ``None`` takes the layout's default (1 for Open Model Zoo layouts,
        0 for YOLOX on COCO).
    threads : int or None
        OpenVINO inference threads; ``None``: the process's thread budget when the
        network is compiled (:func:`persontrack.threads.thread_budget`, e.g. 1 in a Dask
        task), else OpenVINO chooses (all cores).

    Raises
    ------
    InvalidParameterException
        The file is missing, unreadable, not a model, or of an unknown output layout.
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | None,
        *,
        input_size: int | None = None,
        max_upscale: float | None = None,
        person_label: int | None = None,
        threads: int | None = None,
    ) -> None:
        ov = openvino()

        self.name: str | None = None
        if model is None or (isinstance(model, str) and model in SHIPPED):
            self.name = DEFAULT_MODEL if model is None else str(model)
            path = shipped_model_path(self.name)
        else:
            path = _check_user_model(model)
        self.path = path
        self._core = ov.Core()
        try:
            self._model = self._core.read_model(str(path))
        except (RuntimeError, ValueError) as e:
            raise InvalidParameterException(
                f"{str(path)!r} is not an OpenVINO-readable detector (IR .xml + .bin, or "
                f".onnx): {str(e).splitlines()[0] if str(e) else e}"
            ) from e
        if len(self._model.inputs) != 1:
            raise InvalidParameterException(
                f"{str(path)!r}: a detector must have one image input, "
                f"it has {len(self._model.inputs)}"
            )
        shape = self._model.inputs[0].get_partial_shape()
        if shape.rank.is_dynamic or shape.rank.get_length() != 4:
            raise InvalidParameterException(
                f"{str(path)!r}: the input must be an NCHW image, got shape {shape}"
            )
        if shape[2].is_static and shape[3].is_static:
            self.native_size: tuple[int, int] | None = (
                shape[2].get_length(),
                shape[3].get_length(),
            )
        else:
            self.native_size = None
        if input_size is None and self.native_size is None:
            raise InvalidParameterException(
                f"{str(path)!r} has a dynamic input size: give input_size"
            )
        self.layout = _layout(list(self._model.outputs))
        self.person_label = _DEFAULT_LABEL[self.layout] if person_label is None else person_label
        self.input_size = input_size
        self.max_upscale = max_upscale
        self.threads = threads
        self._input_name = self._model.inputs[0].get_any_name()
        # (compiled network, this detector's own infer request) by input (H, W) and streams
        self._compiled: dict[tuple[int, int, int], tuple[Any, Any]] = {}
        self.calibration = SHIPPED[self.name].calibration if self.name else None

    def _network(
        self, height: int, width: int, streams: int = 1
    ) -> tuple[tuple[Any, Any], int, int]:
        """The compiled model for frames of this size (running ``streams`` requests at
        once), an infer request of this detector's own, and the input (H, W)."""
        if self.input_size is None:
            assert self.native_size is not None
            in_h, in_w = self.native_size
        else:
            scale = self.input_size / max(height, width)
            if self.max_upscale is not None:
                scale = min(scale, self.max_upscale)
            in_h = max(int(round(height * scale / _STRIDE)) * _STRIDE, _STRIDE)
            in_w = max(int(round(width * scale / _STRIDE)) * _STRIDE, _STRIDE)
        key = (in_h, in_w, streams)
        if key not in self._compiled:
            stat = self.path.stat()
            threads = self.threads or thread_budget()
            cache_key = (
                str(self.path),
                stat.st_mtime_ns,
                stat.st_size,
                in_h,
                in_w,
                threads,
                streams,
            )
            compiled = _COMPILED.get(cache_key)
            if compiled is None:
                model = self._model.clone()
                if self.native_size != (in_h, in_w):
                    try:
                        model.reshape({self._input_name: [1, 3, in_h, in_w]})
                    except RuntimeError as e:
                        raise InvalidParameterException(
                            f"{str(self.path)!r} cannot take a {in_w}x{in_h} input ({e}); "
                            "give input_size=None to use its own input size"
                        ) from e
                config = compile_config(threads, streams=streams)
                compiled = _COMPILED[cache_key] = self._core.compile_model(model, "CPU", config)
            self._compiled[key] = (compiled, compiled.create_infer_request())
        return self._compiled[key], in_h, in_w

    def _input(self, image: np.ndarray, in_h: int, in_w: int, rgb: bool) -> np.ndarray:
        """The network's input blob for ``image``."""
        import cv2

        canvas = cv2.resize(image, (in_w, in_h), interpolation=cv2.INTER_LINEAR)
        if rgb:
            canvas = canvas[:, :, ::-1]
        return np.ascontiguousarray(canvas.transpose(2, 0, 1)[None], dtype=np.float32)

    def detect(
        self, image: np.ndarray, *, min_score: float, rgb: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """Person boxes ``[x1, y1, x2, y2]`` (pixels of ``image``) and raw scores.

        Parameters
        ----------
        image : numpy.ndarray
            (H, W, 3) uint8, RGB (or BGR with ``rgb=False``). Not modified.
        min_score : float
            Least raw score kept.

        Returns
        -------
        tuple of numpy.ndarray
            (N, 4) boxes clipped to the image and (N,) scores, in the model's order (no
            non-maximum suppression here).
        """
        height, width = image.shape[:2]
        (compiled, request), in_h, in_w = self._network(height, width)
        result = request.infer(self._input(image, in_h, in_w, rgb))
        outs = [np.asarray(result[o]) for o in compiled.outputs]
        return self._boxes_of(outs, in_h, in_w, height, width, min_score)

    def detect_many(
        self,
        images: Iterable[np.ndarray],
        *,
        min_score: float,
        rgb: bool = True,
        streams: int = 2,
    ) -> Generator[tuple[np.ndarray, np.ndarray], None, None]:
        """:meth:`detect` on a sequence of images, ``streams`` of them in the network at
        once.

        The network is compiled for throughput: each request runs on its own share of
        the threads (one each when ``streams`` is the thread count), and the next image
        is read and prepared while the network runs on the ones before. On 2 cores that
        takes less CPU per image than one request at a time on both cores, whose two
        threads wait for each other (``benchmarks/speed_ceiling.py``,
        docs/benchmarks/idle_machine.md); and the boxes are those of a one-thread network,
        as in a Dask segment task, to the last bit.

        Parameters
        ----------
        images : iterable of numpy.ndarray
            (H, W, 3) uint8 images, all of one size; read one at a time, up to
            ``streams`` ahead of the results.
        min_score, rgb
            As for :meth:`detect`.
        streams : int, default 2
            Images in the network at once (1: one at a time, as :meth:`detect`).

        Yields
        ------
        tuple of numpy.ndarray
            Each image's boxes and scores, as :meth:`detect` returns them, in order.

        Examples
        --------
        >>> import numpy as np
        >>> from persontrack.vision.box_models import BoxModel
        >>> model = BoxModel(None, input_size=640)
        >>> frames = (np.zeros((360, 640, 3), np.uint8) for _ in range(3))
        >>> [len(s) for _, s in model.detect_many(frames, min_score=0.2)]
        [0, 0, 0]
        """
        if isinstance(streams, bool) or not isinstance(streams, int) or streams < 1:
            raise InvalidParameterException(f"streams must be an integer >= 1, got {streams!r}")
        waiting: collections.deque[tuple[Any, int, int]] = collections.deque()
        compiled: Any = None
        requests: list[Any] = []
        size = (0, 0)
        try:
            for k, image in enumerate(images):
                height, width = image.shape[:2]
                if compiled is None:
                    size = (height, width)
                    (compiled, own), in_h, in_w = self._network(height, width, streams)
                    requests = [own] + [compiled.create_infer_request() for _ in range(streams - 1)]
                elif size != (height, width):
                    raise InvalidParameterException(
                        f"detect_many: images must share one size, got {width}x{height} "
                        f"after {size[1]}x{size[0]}"
                    )
                if len(waiting) == streams:
                    yield self._collect(compiled, waiting.popleft(), size, min_score)
                request = requests[k % streams]
                request.start_async(self._input(image, in_h, in_w, rgb))
                waiting.append((request, in_h, in_w))
            while waiting:
                yield self._collect(compiled, waiting.popleft(), size, min_score)
        finally:
            for request, _, _ in waiting:  # stopped early: let the network finish
                request.wait()

    def _collect(
        self, compiled: Any, job: tuple[Any, int, int], size: tuple[int, int], min_score: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """The boxes and scores of a request started by :meth:`detect_many`."""
        request, in_h, in_w = job
        request.wait()
        outs = [np.array(request.get_tensor(o).data) for o in compiled.outputs]
        return self._boxes_of(outs, in_h, in_w, size[0], size[1], min_score)

    def _boxes_of(
        self,
        outs: list[np.ndarray],
        in_h: int,
        in_w: int,
        height: int,
        width: int,
        min_score: float,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Boxes in image pixels and raw scores from the network's outputs."""
        sx, sy = in_w / width, in_h / height
        if self.layout == "atss":
            boxes_out = next(o for o in outs if o.ndim == 2)
            labels = next(o for o in outs if o.ndim == 1)
            scores = boxes_out[:, 4].astype(np.float64)
            boxes = boxes_out[:, :4].astype(np.float64)
            person = labels.astype(np.int64) == self.person_label
        elif self.layout == "ssd":
            rows = outs[0].reshape(-1, 7).astype(np.float64)
            rows = rows[rows[:, 0] >= 0]  # image_id -1 ends the list
            scores = rows[:, 2]
            boxes = rows[:, 3:7] * [in_w, in_h, in_w, in_h]
            person = rows[:, 1].astype(np.int64) == self.person_label
        else:
            boxes, scores = _decode_yolox(outs[0][0], in_h, in_w, self.person_label)
            person = np.ones(len(scores), bool)
        keep = person & (scores >= min_score)
        boxes = boxes[keep] / [sx, sy, sx, sy]
        boxes = np.clip(boxes, 0, [width, height, width, height])
        ok = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        return boxes[ok], scores[keep][ok]


def _decode_yolox(
    raw: np.ndarray, in_h: int, in_w: int, label: int
) -> tuple[np.ndarray, np.ndarray]:
    """Boxes (input pixels) and person scores from a raw YOLOX head (N, 5 + C)."""
    grids, strides = [], []
    for stride in _YOLOX_STRIDES:
        gh, gw = in_h // stride, in_w // stride
        ys, xs = np.mgrid[0:gh, 0:gw]
        grids.append(np.column_stack([xs.ravel(), ys.ravel()]))
        strides.append(np.full(gh * gw, stride))
    grid = np.concatenate(grids).astype(np.float64)
    stride_col = np.concatenate(strides).astype(np.float64)[:, None]
    if len(grid) != len(raw):
        raise InvalidParameterException(
            f"YOLOX output has {len(raw)} cells, expected {len(grid)} for a {in_w}x{in_h} input "
            "with strides 8, 16, 32"
        )
    if not 0 <= label < raw.shape[1] - 5:
        raise InvalidParameterException(f"person_label {label} is not a class of this model")
    raw = raw.astype(np.float64)
    centre = (raw[:, :2] + grid) * stride_col
    size = np.exp(np.clip(raw[:, 2:4], -10, 10)) * stride_col
    scores = raw[:, 4] * raw[:, 5 + label]
    boxes = np.column_stack([centre - size / 2, centre + size / 2])
    return boxes, scores


def _check_user_model(model: Any) -> Path:
    if not isinstance(model, (str, os.PathLike)):
        raise InvalidParameterException(
            f"model must be a file path or None, got {type(model).__name__}"
        )
    path = Path(model)
    if path.suffix.lower() not in (".xml", ".onnx"):
        raise InvalidParameterException(
            f"detector model {str(path)!r} must be an OpenVINO IR .xml or an .onnx file "
            f"(or one of the shipped models {sorted(SHIPPED)})"
        )
    if not path.is_file():
        raise InvalidParameterException(f"detector model file {str(path)!r} does not exist")
    if path.suffix.lower() == ".xml" and not path.with_suffix(".bin").is_file():
        raise InvalidParameterException(
            f"detector model {str(path)!r} needs its weights {path.with_suffix('.bin').name!r} "
            "beside it"
        )
    return path


def calibrate(scores: np.ndarray, table: tuple[tuple[float, float], ...] | None) -> np.ndarray:
    """Raw scores mapped through a calibration table (identity without one).

    Examples
    --------
    >>> import numpy as np
    >>> calibrate(np.array([0.1, 0.3, 0.9]), ((0.2, 0.5), (0.4, 0.9))).round(2).tolist()
    [0.5, 0.7, 0.9]
    """
    scores = np.asarray(scores, dtype=np.float64)
    if table is None:
        return scores
    raw, cal = np.array(table, dtype=np.float64).T
    return np.interp(scores, raw, cal)
