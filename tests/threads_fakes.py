"""A tracking function for Dask tests: reports the thread settings it runs under."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any


def report_threads(
    source: str,
    settings: dict[str, Any] | None = None,
    *,
    progress: Any = None,
    start_ms: int = 0,
    end_ms: int | None = None,
) -> SimpleNamespace:
    """No rows; as metadata the thread budget, OpenCV's threads and the OpenVINO threads
    of a real person detector and re-id embedder compiled here."""
    import cv2
    import numpy as np

    from persontrack.schema import empty_frame
    from persontrack.threads import thread_budget
    from persontrack.vision.box_models import BoxModel
    from persontrack.vision.reid import AppearanceEmbedder

    box = BoxModel(None, input_size=256)
    box.detect(np.zeros((120, 160, 3), np.uint8), min_score=0.5)
    ((compiled, _),) = box._compiled.values()
    reid = AppearanceEmbedder("0287")._compiled
    return SimpleNamespace(
        frame=empty_frame(),
        metadata={
            "budget": thread_budget(),
            "cv2": cv2.getNumThreads(),
            "detector": int(compiled.get_property("INFERENCE_NUM_THREADS")),
            "reid": int(reid.get_property("INFERENCE_NUM_THREADS")),  # type: ignore[attr-defined]
        },
        settings={},
        versions={},
    )
