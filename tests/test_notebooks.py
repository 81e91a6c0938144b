"""The notebooks as committed: no outputs, key results asserted, portable, explained.

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


def test_the_four_notebooks_are_there():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_stored_without_outputs_and_key_results_asserted(name):
    # nbval (--nbval-lax) runs every cell; the cells with key results assert them, so a
    # wrong result fails the run although no expected output is stored in the notebook.
    nb = json.loads((NOTEBOOKS / name).read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    for cell in code:
        assert cell["outputs"] == [] and cell["execution_count"] is None, cell["source"]
    asserting = [c for c in code if "\nassert " in "\n" + "".join(c["source"])]
    assert asserting, f"{name} asserts none of its results"


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
