"""The data directory is its owner's alone: folders 0700, files 0600, whatever the umask.

The job store holds every tracked person's boxes, faces and body landmarks, and the logs
name the videos: no other local user may read them (as with ``credentials`` and
``signing.key``, always 0600); a deleted job leaves no line naming it in the logs
(:func:`forget_in_logs`).

Examples
--------
>>> import os, tempfile
>>> from persontrack.jobs._private import private_dir, private_file
>>> old = os.umask(0o022)
>>> root = private_dir(tempfile.mkdtemp() + "/data")
>>> private_file(root / "a.log").close()
>>> _ = os.umask(old)
>>> oct(root.stat().st_mode & 0o777), oct((root / "a.log").stat().st_mode & 0o777)
('0o700', '0o600')
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import IO

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: str | os.PathLike[str]) -> Path:
    """Make ``path`` (and missing parents) and set it to 0700 if this user owns it."""
    p = Path(path)
    p.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    make_private(p, DIR_MODE)
    return p


def make_private(path: str | os.PathLike[str], mode: int = FILE_MODE) -> None:
    """``chmod`` an existing file or folder of this user to ``mode`` (others' are left)."""
    with contextlib.suppress(FileNotFoundError, PermissionError):
        st = os.stat(path)
        if st.st_uid == os.getuid() and st.st_mode & 0o777 != mode:
            os.chmod(path, mode)


def private_file(path: str | os.PathLike[str], mode: str = "ab") -> IO[bytes]:
    """Open ``path`` for appending (binary), created 0600 and kept 0600."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC
    flags |= os.O_APPEND if "a" in mode else os.O_TRUNC
    fd = os.open(path, flags, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    except OSError:
        pass
    return os.fdopen(fd, mode)


def forget_in_logs(logs: Path, job_ids: list[str]) -> None:
    """Remove the lines naming any of ``job_ids`` (or their 12-character task prefix)
    from the logs under ``logs``, rewriting each file in place."""
    if not job_ids or not logs.is_dir():
        return
    marks = [m.encode() for j in job_ids for m in (j, f"job-{j[:12]}")]
    for path in logs.iterdir():
        if not path.is_file():
            continue
        with contextlib.suppress(OSError), open(path, "r+b") as f:
            lines = f.read().splitlines(keepends=True)
            kept = [line for line in lines if not any(m in line for m in marks)]
            if len(kept) != len(lines):
                f.seek(0)
                f.writelines(kept)
                f.truncate()
