"""The process's thread budget: how many cores the native libraries may use.

By default (no budget) OpenVINO, OpenCV and the video decoders each size their thread pools
to the machine: one tracking run keeps every core busy. A Dask worker is given a budget
instead (:func:`persontrack.segments.run_segment` sets one thread per task, as Dask
itself sets ``OMP_NUM_THREADS=1`` in its workers): N single-threaded workers then use N
cores without fighting over them. Inside :func:`limit_threads`:

- the person detector (:class:`~persontrack.vision.box_models.BoxModel`) and the re-id
  embedder (:class:`~persontrack.vision.reid.AppearanceEmbedder`) compile their OpenVINO
  networks with ``INFERENCE_NUM_THREADS`` = the budget unless given ``threads=``
  (compiled networks are cached per process and per thread count);
- ``cv2.setNumThreads(budget)`` (restored on exit);
- the video decoders opened meanwhile (PyAV's ``thread_count``, decord's ``num_threads``);
  ``open_video(backend="auto")`` then reads with PyAV, as decord keeps more than one core
  busy even at ``num_threads=1`` (:data:`persontrack.io.video.DECORD_CORES_AT_ONE_THREAD`).

MediaPipe (body landmarks, faces) offers no thread setting in its Python API: its graph
runs calculators on a pool sized to the machine's cores. A worker process is bounded as a
whole by its CPU affinity (:func:`pin_process`, which the LocalCluster of
:func:`persontrack.segments.dask_client` applies to each of its workers).

Examples
--------
>>> from persontrack.threads import limit_threads, thread_budget
>>> thread_budget() is None
True
>>> with limit_threads(1):
...     thread_budget()
1
>>> thread_budget() is None
True
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

from .errors import InvalidParameterException

__all__ = ["limit_threads", "pin_process", "thread_budget"]

# budgets in force, latest last: (token, threads); tasks running at once in one Dask
# worker each hold one, and the process keeps a budget until the last of them ends
_ACTIVE: list[tuple[object, int]] = []
_CV2_BEFORE: list[int] = []
_LOCK = threading.Lock()


def thread_budget() -> int | None:
    """Threads each native library may use in this process (None: as many as it likes)."""
    active = _ACTIVE  # a list read is atomic; the lock guards changes
    return active[-1][1] if active else None


@contextlib.contextmanager
def limit_threads(threads: int | None) -> Iterator[None]:
    """Use at most ``threads`` threads per native library while the block runs.

    ``None`` leaves things as they are. The budget is process-wide: blocks entered by
    several threads at once (a Dask worker running several tasks) keep the latest one
    until the last of them ends.
    """
    if threads is None:
        yield
        return
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise InvalidParameterException(f"threads must be an integer >= 1, got {threads!r}")
    import cv2

    token = object()
    with _LOCK:
        if not _ACTIVE:
            _CV2_BEFORE[:] = [cv2.getNumThreads()]
        _ACTIVE.append((token, threads))
        cv2.setNumThreads(threads)
    try:
        yield
    finally:
        with _LOCK:
            _ACTIVE[:] = [a for a in _ACTIVE if a[0] is not token]
            cv2.setNumThreads(_ACTIVE[-1][1] if _ACTIVE else _CV2_BEFORE[0])


def pin_process(cores: list[int], pid: int = 0) -> list[int]:
    """Restrict process ``pid`` (0: this one) to the given CPU cores; the cores it got.

    Cores this process may not use are dropped; with none left (or on a system without
    CPU affinity) nothing changes and the current cores are returned.

    Examples
    --------
    >>> import os
    >>> mine = sorted(os.sched_getaffinity(0))
    >>> pin_process(mine) == mine
    True
    """
    if not hasattr(os, "sched_setaffinity"):  # macOS, Windows
        return []
    allowed = os.sched_getaffinity(pid)
    wanted = {c for c in cores if c in allowed}
    if wanted:
        os.sched_setaffinity(pid, wanted)
    return sorted(os.sched_getaffinity(pid))
