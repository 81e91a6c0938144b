"""Where the benchmarks find the shared real data (footage, MOT sequences, street frames)."""

from __future__ import annotations

import os
from pathlib import Path


def shared_data() -> Path:
    """``$PERSONTRACK_SHARED_DATA``, else ``../shared/data`` beside the repository."""
    env = os.environ.get("PERSONTRACK_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


def shared_videos() -> Path:
    """The shared videos folder."""
    return shared_data() / "videos"
