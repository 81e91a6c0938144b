"""OpenVINO and MediaPipe, imported without telemetry, subprocesses or forks.

persontrack opens no connection its user did not ask for and forks no process from a
thread. Two of its libraries do both at import time unless stopped:

- ``import openvino`` imports its model converter (``openvino.tools.ovc``), whose
  ``__init__`` sends a usage event to Google Analytics through ``openvino_telemetry``: from
  a ``ThreadPoolExecutor`` thread, through a *forked* ``multiprocessing.Process``, after
  writing a client id under ``~/intel``. Only ``CI=true`` in the environment turns it off.
  The forked child can deadlock (it inherits locks of threads that do not exist in it) and
  then holds its parent's stdout open forever. OpenVINO's converter falls back to its own
  no-op stub (``openvino.tools.ovc.telemetry_stub``) when ``openvino_telemetry`` cannot be
  imported, so persontrack hides that one package while OpenVINO loads: the runtime and the
  converter work as before, nothing is sent, and nothing outside this process changes.
- ``import mediapipe`` imports its audio tasks, whose ``sounddevice`` looks for PortAudio
  with ``ctypes.util.find_library`` (about ten ``gcc``/``ld``/``ldconfig`` processes).
  mediapipe treats a missing ``sounddevice`` as "no microphone recording", so it is hidden
  the same way while mediapipe loads.

Every import of either library in persontrack goes through :func:`openvino` or
:func:`mediapipe`. ``tests/test_quiet.py`` runs the pipeline, the CLI on a stream and
``import persontrack`` under an audit hook with an empty ``HOME`` and ``CI`` unset, and
fails on any fork, subprocess or connection it did not ask for, or on a ``~/intel``.
"""

from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

_LOCK = threading.RLock()

_OPENVINO_HIDDEN = ("openvino_telemetry",)
"""Packages hidden while OpenVINO loads (its converter then uses its no-op stub)."""

_MEDIAPIPE_HIDDEN = ("sounddevice",)
"""Packages hidden while MediaPipe loads (its audio recorder then reports no sounddevice)."""


@contextmanager
def _hidden(names: tuple[str, ...]) -> Iterator[None]:
    """``import NAME`` raises ImportError inside the block, for each NAME not yet imported.

    A ``None`` in :data:`sys.modules` is Python's documented way to make an import fail;
    the entries are removed again afterwards, so a later import of NAME works as usual.
    """
    added = [name for name in names if name not in sys.modules]
    for name in added:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        for name in added:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


def _quiet_import(name: str, hidden: tuple[str, ...]) -> ModuleType:
    with _LOCK:
        module = sys.modules.get(name)
        if module is not None:
            return module
        with _hidden(hidden):
            return importlib.import_module(name)


def openvino() -> ModuleType:
    """The ``openvino`` module, imported without its telemetry.

    Examples
    --------
    >>> ov = openvino()
    >>> ov.Core().available_devices[:1]
    ['CPU']
    """
    return _quiet_import("openvino", _OPENVINO_HIDDEN)


def mediapipe() -> ModuleType:
    """The ``mediapipe`` module (optional: persontrack runs without it), imported without
    probing for audio libraries."""
    return _quiet_import("mediapipe", _MEDIAPIPE_HIDDEN)
