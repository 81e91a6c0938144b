"""The notebooks as committed: no outputs except what nbval checks, portable, explained.

Running them is `pytest --nbval-lax notebooks/` (part of the test command); this file
checks what running cannot: how they are stored.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = [
    "01_quickstart.ipynb",
    "02_jobs_and_paging.ipynb",
    "03_path_analysis.ipynb",
    "04_migrating_from_rekognition.ipynb",
]
CHECK = "# NBVAL_CHECK_OUTPUT"


def test_the_four_notebooks_are_there():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_stored_without_outputs_but_the_checked_text(name):
    nb = json.loads((NOTEBOOKS / name).read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    checked = [c for c in code if "".join(c["source"]).startswith(CHECK)]
    assert checked, f"{name} marks no cell for nbval to check"
    for cell in code:
        if cell in checked:
            # nbval compares a checked cell's text with what it prints when run
            assert cell["outputs"] and cell["execution_count"] is not None
            assert all(
                o["output_type"] == "stream" and o["name"] == "stdout" for o in cell["outputs"]
            )
        else:
            assert cell["outputs"] == [] and cell["execution_count"] is None, cell["source"]


@pytest.mark.parametrize("name", NAMES)
def test_explains_itself_and_is_portable(name):
    nb = json.loads((NOTEBOOKS / name).read_text())
    first = nb["cells"][0]
    assert first["cell_type"] == "markdown"
    intro = "".join(first["source"])
    assert intro.startswith(f"# {name[:2]} ·") and "minute" in intro  # what, and how long
    text = "".join("".join(c["source"]) for c in nb["cells"])
    assert "/work/" not in text and "/tmp/" not in text  # only repository-relative paths
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
