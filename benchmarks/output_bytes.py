"""The bytes a run writes, as sha256: the same before and after a change that must not
change behaviour.

Run from the repository root::

    .venv/bin/python benchmarks/output_bytes.py [--video data/sample.mp4] [--expect SHA256 ...]

It tracks the video with the default settings twice, through ``persontrack.track_video``
(the GetPersonTracking response with extensions, as JSON with sorted keys) and through
``persontrack track VIDEO -o OUT.json`` (the file's bytes), and prints one sha256 per
line. With ``--expect`` it exits 1 unless the printed hashes are those, in that order.
The figures recorded for ``data/sample.mp4`` are in docs/benchmarks/output_bytes.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import persontrack as pt


def hashes(video: Path) -> list[tuple[str, str]]:
    """(what, sha256) of the API's response and of the CLI's JSON file."""
    response = pt.track_video(video).to_response()
    api = json.dumps(response, sort_keys=True).encode()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.json"
        cli = [sys.executable, "-m", "persontrack.cli", "track", str(video), "-o", str(out)]
        subprocess.run(cli, check=True, timeout=600, stdout=subprocess.DEVNULL)
        file_bytes = out.read_bytes()
    return [
        ("track_video().to_response()", hashlib.sha256(api).hexdigest()),
        ("persontrack track -o OUT.json", hashlib.sha256(file_bytes).hexdigest()),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, default=Path("data/sample.mp4"))
    parser.add_argument("--expect", nargs="*", default=None)
    args = parser.parse_args()
    found = hashes(args.video)
    for what, digest in found:
        print(f"{digest}  {what}")
    if args.expect is not None and [d for _, d in found] != args.expect:
        print("the bytes differ from the expected ones", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
