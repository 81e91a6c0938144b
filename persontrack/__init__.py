"""persontrack: people, faces and paths from video.

A local replacement for Amazon Rekognition Video People Pathing.

The public names are written once, in ``__init__.pyi`` (read by type checkers and IDEs):
this module reads that stub to build ``__all__`` and loads each name's module on first
use, so that ``import persontrack`` (every CLI command, job runner and Dask worker) does
not import matplotlib, Dask or the models' runtimes it may never need.
"""

import ast as _ast
import importlib as _importlib
from pathlib import Path as _Path

# Light modules whose public names load with the package (the rest load on first use).
_EAGER = {m: _importlib.import_module(f".{m}", __name__) for m in ("_version", "errors")}


def _read_stub(path: _Path) -> dict[str, str]:
    """Public name -> its module (relative to the package), from the stub's imports."""
    names: dict[str, str] = {}
    for node in _ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, _ast.ImportFrom) and node.level == 1 and node.module:
            for alias in node.names:
                names[alias.asname or alias.name] = node.module
    return names


_PUBLIC = _read_stub(_Path(__file__).with_name("__init__.pyi"))
__all__ = sorted(_PUBLIC)
for _name, _module in _PUBLIC.items():
    if _module in _EAGER:
        globals()[_name] = getattr(_EAGER[_module], _name)
# public name -> its module, loaded on first use
_LAZY = {name: module for name, module in _PUBLIC.items() if module not in _EAGER}
del _name, _module

# Modules notebooks import by short name: `from persontrack import analytics, plot, widgets`.
_SUBMODULES = {
    "analytics": "persontrack.analysis.analytics",
    "plot": "persontrack.analysis.plot",
    "widgets": "persontrack.analysis.widgets",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        value = getattr(_importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value  # later lookups skip this function
        return value
    if name in _SUBMODULES:
        return _importlib.import_module(_SUBMODULES[name])
    if not name.startswith("__"):
        try:  # a module of the package not imported yet: `pt.pipeline.STAGES`
            return _importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as e:
            if e.name != f"{__name__}.{name}":
                raise
    raise AttributeError(f"module 'persontrack' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
