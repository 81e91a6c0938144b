"""The package's shape: the public names, and imports that flow one way between subpackages."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import persontrack as pt

PACKAGE = Path(pt.__file__).parent

PUBLIC_API = [
    "AccessDeniedException", "COLUMNS", "Detections", "DetectorSettings", "FaceAnalyzer",
    "Frame", "INTERPOLATED_CONFIDENCE", "IdempotentParameterMismatchException",
    "InternalServerError", "InvalidPaginationTokenException", "InvalidParameterException",
    "InvalidS3ObjectException", "JobLauncher", "LANDMARK_TYPES", "LimitExceededException",
    "PRESETS", "PathExplorer", "PersonDetector", "PersonTrackError", "PersonTrackingClient",
    "annotate_video", "show_video", "redact_video", "track_stream", "StreamTracking",
    "ProvisionedThroughputExceededException", "ResourceNotFoundException", "ResultPager",
    "ThrottlingException", "Track", "TrackState", "Tracker", "TrackingResult",
    "TrackingSettings", "VIDEO_TRACKER_SETTINGS", "VideoMetadata", "VideoReader",
    "VideoTooLargeException", "__version__", "attach_faces", "body_landmarks_array", "box_iou",
    "client", "crossing_counts", "dataframe_to_persons", "dataframe_to_response", "empty_frame",
    "entries_exits", "face_detector_model", "frame_at", "get_person_tracking",
    "interpolate_tracks", "iter_frames", "iter_response_pages", "line_crossings", "link_tracks",
    "model_cache_dir", "nms", "open_video", "path_points", "people_present", "plot_frame",
    "plot_heatmap", "plot_paths", "plot_timeline", "plot_zones", "points_in_polygon",
    "read_metadata", "read_mot_detections", "read_mot_ground_truth",
    "read_results", "response_to_dataframe", "results_to_mot", "smooth_tracks", "sort_results",
    "start_person_tracking", "strip_extensions", "track_mot_detections", "track_video",
    "trajectory_summary", "validate_frame", "validate_response", "versions",
    "write_mot_tracks", "write_results", "zone_dwell",
    "compare_results", "spatial_analysis_events",
]  # fmt: skip

SUBPACKAGES = ("io", "vision", "tracking", "jobs", "analysis")
# Top-level private modules other subpackages may use on purpose.
SHARED_PRIVATE = {"_checks", "_shapes", "_version"}


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        name = ".".join(("persontrack", *parts))
        out[name.removesuffix(".__init__")] = path
    return out


def _imports(name: str, path: Path) -> list[tuple[str, list[str], bool]]:
    """(module imported, names imported, at module level) for each relative import."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    top_level = set(map(id, tree.body))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package.split(".")
            base = base[: len(base) - (node.level - 1)]
            target = ".".join(base + ([node.module] if node.module else []))
            found.append((target, [a.name for a in node.names], id(node) in top_level))
    return found


def _subpackage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[1] in SUBPACKAGES else None


def test_public_api_is_pinned():
    assert sorted(pt.__all__) == sorted(PUBLIC_API)
    for name in PUBLIC_API:
        assert getattr(pt, name) is not None, name


def test_concern_subpackages_exist():
    for sub in SUBPACKAGES:
        init = PACKAGE / sub / "__init__.py"
        assert init.is_file(), sub
        assert ast.get_docstring(ast.parse(init.read_text())), f"{sub} says what lives there"


def test_no_private_imports_across_subpackages():
    modules = _modules()
    offences = []
    for name, path in modules.items():
        here = _subpackage(name)
        for target, names, _ in _imports(name, path):
            there = _subpackage(target)
            if target in modules and there is None and target != "persontrack":
                # a top-level module: only the deliberate shared private ones
                leaf = target.rsplit(".", 1)[-1]
                if leaf.startswith("_") and leaf not in SHARED_PRIVATE:
                    offences.append(f"{name} -> {target}")
                continue
            if there is None or there == here:
                continue
            private_module = any(p.startswith("_") for p in target.split(".")[2:])
            private_names = [n for n in names if n.startswith("_")]
            if private_module or private_names:
                offences.append(f"{name} -> {target} {private_names}")
    assert offences == []


def test_every_relative_import_names_a_module():
    # Imports inside functions run late: a wrong one only fails when that code runs.
    modules = _modules()
    missing = [
        f"{name} -> {target}"
        for name, path in modules.items()
        for target, _, _ in _imports(name, path)
        if target not in modules
    ]
    assert missing == []


def test_no_import_cycles_at_module_level():
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        deps = set()
        for target, names, top in _imports(name, path):
            if not top:
                continue  # imports inside functions run late and cannot deadlock
            if target in modules:
                deps.add(target)
            for n in names:  # `from . import x` names a module
                if f"{target}.{n}" in modules:
                    deps.add(f"{target}.{n}")
        # a package's __init__ importing its own children is not a cycle
        graph[name] = {d for d in deps if not d.startswith(name + ".")}
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for dep in graph.get(node, ()):
            if state.get(dep) == 1 and not cycle:
                cycle.extend(stack[stack.index(dep) :] + [dep])
            elif dep not in state:
                visit(dep, [*stack, dep])
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node, [node])
    assert cycle == []


def test_every_module_imports_on_its_own():
    code = "import importlib, sys\nfor m in sys.argv[1:]: importlib.import_module(m)"
    names = sorted(_modules())
    subprocess.run([sys.executable, "-c", code, *names], check=True, timeout=300)


def test_import_loads_only_what_is_used():
    # `import persontrack` (every CLI command, job runner, Dask worker) stays light; the
    # public names load their module on first use, and the names type checkers see are
    # the ones loaded lazily.
    code = (
        "import sys, persontrack as pt\n"
        "heavy = ('matplotlib', 'dask', 'openvino', 'cv2', 'pandas')\n"
        "heavy = [m for m in heavy if m in sys.modules]\n"
        "assert heavy == [], heavy\n"
        "pt.track_video\n"
        "assert 'persontrack.pipeline' in sys.modules and 'matplotlib' not in sys.modules\n"
        "assert 'persontrack.jobs.client' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    # The public names are written once, in the stub type checkers read; each is
    # re-exported `as` itself (PEP 484) and is in __all__, loaded eagerly or lazily.
    stub = ast.parse((PACKAGE / "__init__.pyi").read_text())
    imports = [n for n in stub.body if isinstance(n, ast.ImportFrom)]
    assert len(imports) == len(stub.body) - 1  # the docstring, then imports only
    aliases = [a for n in imports for a in n.names]
    assert all(a.asname == a.name for a in aliases)
    typed = {a.name for a in aliases}
    assert len(typed) == len(aliases) == len(pt.__all__)
    assert typed == set(pt.__all__) == set(PUBLIC_API)
    assert set(pt._LAZY) == {a.name for n in imports if n.module not in pt._EAGER for a in n.names}
    for n in imports:
        for a in n.names:
            assert pt._PUBLIC[a.name] == n.module


# The layers, lowest first: a module imports only from its own layer or lower ones, at
# module level, inside functions and under TYPE_CHECKING alike (docs/architecture.md).
LAYERS = (
    ("base", {"_version", "errors", "_checks", "_shapes", "geometry", "schema", "threads"}),
    ("domain", {"convert", "io", "vision", "tracking"}),
    ("engine", {"pipeline", "settings", "result", "rows", "boxes_ahead", "segments", "stream"}),
    ("service", {"jobs"}),
    ("front", {"analysis", "cli"}),
)


def _layer(module: str) -> int:
    parts = module.split(".")
    if len(parts) == 1:
        return len(LAYERS) - 1  # persontrack/__init__.py: the public names, over all
    for rank, (_, tops) in enumerate(LAYERS):
        if parts[1] in tops:
            return rank
    raise AssertionError(f"{module} is in no layer: add it to LAYERS")


def _import_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports, relative or absolute, at any depth of
    its code (module level, functions, TYPE_CHECKING blocks)."""
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text())
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        deps = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                found = [target, *(f"{target}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                found = [a.name for a in node.names]
            else:
                continue
            deps.update(t for t in found if t in modules)
        # a package's __init__ importing its own children is not a cycle
        graph[name] = {d for d in deps if d != name and not d.startswith(name + ".")}
    return graph


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for dep in graph[todo.pop()]:
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return seen


def test_every_module_is_in_a_layer_and_imports_only_downward():
    graph = _import_graph()
    upward = [
        f"{name} ({LAYERS[_layer(name)][0]}) -> {dep} ({LAYERS[_layer(dep)][0]})"
        for name, deps in sorted(graph.items())
        for dep in sorted(deps)
        if _layer(dep) > _layer(name)
    ]
    assert upward == []


def test_the_engine_never_reaches_the_jobs_service():
    # at any depth: not through a helper module, not inside a function
    graph = _import_graph()
    engine = [m for m in graph if _layer(m) <= _layer("persontrack.pipeline")]
    reached = {
        name: sorted(d for d in _reachable(graph, name) if d.startswith("persontrack.jobs"))
        for name in engine
    }
    assert {name: jobs for name, jobs in reached.items() if jobs} == {}
    assert "persontrack.segments" in engine and "persontrack.stream" in engine


def test_no_import_cycles_at_any_depth():
    # imports inside functions too: a cycle there is two modules that cannot be
    # understood (or moved) one without the other
    graph = _import_graph()
    cycles = sorted(
        " -> ".join([name, *path]) for name in graph for path in _cycles_from(graph, name)
    )
    assert cycles == []


def _cycles_from(graph: dict[str, set[str]], name: str) -> list[list[str]]:
    """A shortest import path from ``name`` back to itself, if there is one."""
    parents: dict[str, str] = {}
    todo = [name]
    while todo:
        nxt = []
        for node in todo:
            for dep in sorted(graph[node]):
                if dep == name:
                    path = [dep]
                    while node != name:
                        path.insert(0, node)
                        node = parents[node]
                    return [path]
                if dep not in parents:
                    parents[dep] = node
                    nxt.append(dep)
        todo = nxt
    return []
