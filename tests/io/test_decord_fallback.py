"""A decord that breaks at import (a build for another numpy) falls back to PyAV, clearly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import warnings, persontrack as pt
from persontrack.errors import InvalidParameterException
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    with pt.open_video({video!r}) as reader:
        n = sum(1 for _ in reader.frames(every_n=20))
        print("backend", reader.backend, "frames", n)
print("warned", [str(w.message) for w in caught if "decord" in str(w.message)])
try:
    pt.open_video({video!r}, backend="decord")
except InvalidParameterException as e:
    print("refused", e)
"""


def test_broken_decord_falls_back_to_pyav(tmp_path: Path, sample_video: Path) -> None:
    fake = tmp_path / "decord"
    fake.mkdir()
    (fake / "__init__.py").write_text(
        "raise RuntimeError('module compiled against ABI version 0x1000009 but this version "
        "of numpy is 0x2000000')\n"
    )
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(video=str(sample_video))],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    assert "backend pyav frames" in out and "frames 0" not in out
    assert "decord cannot be imported: RuntimeError: module compiled against ABI" in out
    assert "videos are read with PyAV" in out
    assert "refused" in out and "backend='decord' but decord cannot be imported" in out
