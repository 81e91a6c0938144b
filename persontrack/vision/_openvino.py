"""How persontrack compiles OpenVINO networks for the CPU (one place for every model)."""

from __future__ import annotations

import contextlib
import os

from .models import model_cache_dir

CACHE_SUBDIR = "openvino"
"""Folder of :func:`persontrack.vision.models.model_cache_dir` holding OpenVINO's compiled
networks: a process then loads them instead of compiling (measured: 2.4 s -> 0.7 s for the
detector, re-id and landmark networks together, at every start of the CLI, a job runner
or a Dask worker)."""


def compile_config(threads: int | None, *, streams: int = 1) -> dict[str, object]:
    """OpenVINO CPU compile settings for ``threads`` inference threads (None: OpenVINO's
    choice, all cores), for low latency of one request at a time; with ``streams`` > 1,
    for that many requests at once, each on its own share of the threads.

    Threads are not pinned to cores: OpenVINO pins each network's threads from core 0
    upwards, so two single-thread processes (two Dask workers) or two networks running at
    once in one process (the box detector a frame ahead of the landmark network) would
    share core 0 while the other cores idle (measured: two one-thread segment tasks took
    2.3 s each side by side against 1.2 s alone). Compiled networks are cached in
    :data:`CACHE_SUBDIR` when that folder can be made.

    Examples
    --------
    >>> compile_config(1)["INFERENCE_NUM_THREADS"], compile_config(None)["ENABLE_CPU_PINNING"]
    (1, False)
    >>> compile_config(None, streams=2)["NUM_STREAMS"]
    2
    """
    config: dict[str, object] = {"PERFORMANCE_HINT": "LATENCY", "ENABLE_CPU_PINNING": False}
    if streams > 1:
        config.update(PERFORMANCE_HINT="THROUGHPUT", NUM_STREAMS=int(streams))
    if threads:
        config["INFERENCE_NUM_THREADS"] = int(threads)
    cache = model_cache_dir() / CACHE_SUBDIR
    with contextlib.suppress(OSError):
        cache.mkdir(parents=True, exist_ok=True)
    if os.access(cache, os.W_OK):
        config["CACHE_DIR"] = str(cache)
    return config
