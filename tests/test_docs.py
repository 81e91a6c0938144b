"""Every module and repository path the README and the docs pages name exists."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
TOP = ("persontrack", "benchmarks", "tests", "docs", "data", "notebooks")
# a path of this repository: not a part of a longer path (../shared/…, a URL)
PATH = re.compile(r"(?<![\w./-])((?:" + "|".join(TOP) + r")/[\w./-]*[\w/])")
MODULE = re.compile(r"(?<![\w./-])(persontrack(?:\.\w+)+)")
LINK = re.compile(r"\]\(([^)#:\s]+)(?:#[^)]*)?\)")


def _named(text: str) -> tuple[set[str], set[str]]:
    paths = {m.group(1) for m in PATH.finditer(text)}
    modules = {m.group(1).rstrip(".") for m in MODULE.finditer(text)}
    return paths, modules


def _resolves(dotted: str) -> bool:
    """A module, or a name inside one (``persontrack.segments.LOCAL_WORKER_CONFIG``)."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attr in parts[cut:]:
            if not hasattr(obj, attr):
                return False
            obj = getattr(obj, attr)
        return True
    return False


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_path_and_module_a_page_names_exists(page):
    text = page.read_text()
    paths, modules = _named(text)
    missing = sorted(p for p in paths if not (ROOT / p.split("::")[0]).exists())
    missing += sorted(m for m in modules if not _resolves(m))
    missing += sorted(
        link
        for link in (m.group(1) for m in LINK.finditer(text))
        if not link.startswith(("http", "mailto")) and not (page.parent / link).exists()
    )
    assert missing == []


def test_the_readme_is_for_users():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 400
    pages = sorted(p.stem for p in (ROOT / "docs" / "benchmarks").glob("*.md"))
    assert len(pages) >= 3 and (ROOT / "docs" / "architecture.md").is_file()
    for stem in pages:  # each write-up is reachable from the README's Measured table
        assert f"docs/benchmarks/{stem}.md" in readme, stem


@pytest.mark.parametrize(
    "page", sorted((ROOT / "docs" / "benchmarks").glob("*.md")), ids=lambda p: p.stem
)
def test_each_benchmark_page_gives_the_command_that_printed_it(page):
    text = page.read_text()
    assert "benchmarks/" in text and ".py" in text, page.name
    script = ROOT / "benchmarks" / f"{page.stem}.py"
    assert script.is_file() or page.stem == "idle_machine", page.name


def test_the_demo_runs_on_the_one_attributed_clip():
    # make demo tracks real footage; the one clip in data/ carries its CC BY attribution,
    # and data/sample.mp4 (generated) stays for the core tests
    makefile = (ROOT / "Makefile").read_text()
    demo = re.search(r"^DEMO_VIDEO \?= (\S+)$", makefile, re.M)
    assert demo is not None and (ROOT / demo.group(1)).is_file()
    clip = Path(demo.group(1)).name
    notes = (ROOT / "data" / "README.md").read_text()
    section = notes[notes.index(f"## {clip}") :].split("\n## ")[0]
    assert "CC BY" in section and "Intel" in section
    videos = sorted(p.name for p in (ROOT / "data").iterdir() if p.suffix in (".mp4", ".mkv"))
    assert videos == sorted([clip, "sample.mp4"])
