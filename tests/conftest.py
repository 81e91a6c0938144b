"""Shared fixtures.

``shared_data`` is the real footage folder ``../shared/data`` beside the repository (or
``$PERSONTRACK_SHARED_DATA``). Where ``PERSONTRACK_REQUIRE_SHARED_DATA`` is set (``.ci/run``
sets it; CI itself runs the suite with ``CI`` unset, as a user's machine has it) or ``CI`` is,
a missing folder is an error, so the tests that read real footage always run there; on a
fresh clone elsewhere they skip.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _shared_dir() -> Path:
    env = os.environ.get("PERSONTRACK_SHARED_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = _shared_dir()
    if not (path / "videos").is_dir():
        if os.environ.get("PERSONTRACK_REQUIRE_SHARED_DATA") or os.environ.get("CI"):
            pytest.fail(f"CI must have the real footage at {path} (set PERSONTRACK_SHARED_DATA)")
        pytest.skip(f"real footage not found at {path}")
    return path


@pytest.fixture(scope="session")
def sample_video() -> Path:
    """The sample video the repository ships (made by data/make_sample.py)."""
    path = REPO / "data" / "sample.mp4"
    assert path.is_file(), "data/sample.mp4 is missing: run `python data/make_sample.py`"
    return path


@pytest.fixture(scope="session")
def grace_hopper():
    """A real photograph of a person shipped by matplotlib, as an RGB uint8 array."""
    import numpy as np
    from matplotlib import cbook
    from PIL import Image

    with cbook.get_sample_data("grace_hopper.jpg") as f:
        return np.asarray(Image.open(f).convert("RGB"))


@pytest.fixture(scope="session")
def dask_cluster(tmp_path_factory):
    """A Dask scheduler and two worker processes on 127.0.0.1, shared by the session's job
    tests (a cluster per test would cost seconds each); stopped at the end."""
    from dask_support import DaskProcesses

    cluster = DaskProcesses(tmp_path_factory.mktemp("dask"), workers=2)
    yield cluster
    cluster.stop()


@pytest.fixture
def clients(tmp_path, sample_video, dask_cluster, monkeypatch):
    """Job clients on one store in ``tmp_path`` with the sample video in a local bucket,
    running their jobs on the session's Dask cluster (also for CLI subprocesses)."""
    from jobs_support import Clients, make_buckets

    monkeypatch.setenv("PERSONTRACK_DASK_SCHEDULER", dask_cluster.address)

    made = Clients(
        tmp_path / "data", make_buckets(tmp_path / "buckets", sample_video), tmp_path / "gate"
    )
    yield made
    made.shutdown()


@pytest.fixture(scope="session")
def pedestrian_run(shared_data) -> dict:
    """A real persontrack run on ``pedestrian_survaillance.mp4`` (body landmarks off), as its
    GetPersonTracking response; shared by the compare and Spatial Analysis events tests."""
    import persontrack as pt

    video = shared_data / "videos" / "pedestrian_survaillance.mp4"
    return pt.track_video(video, {"landmarks": False}).to_response()
