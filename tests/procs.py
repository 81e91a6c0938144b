"""Bounded clean-up of the subprocesses tests start (no test may hang on a child)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from typing import AnyStr


def reap(proc: subprocess.Popen[AnyStr], timeout: float = 10.0) -> tuple[AnyStr | None, ...]:
    """Kill ``proc`` if it still runs and collect what it wrote, waiting ``timeout`` s at most.

    ``communicate()`` reads the pipes to end-of-file, so it would wait forever on a
    grandchild that inherited them; then the pipes are closed and only the process itself is
    waited for. A process started with ``start_new_session=True`` has its whole group killed.

    Returns ``(stdout, stderr)``, each None where nothing could be read.
    """
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if os.getpgid(proc.pid) == proc.pid:
                os.killpg(proc.pid, signal.SIGKILL)
        proc.kill()
    try:
        return tuple(proc.communicate(timeout=timeout))
    except subprocess.TimeoutExpired:
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=timeout)
        return (None, None)
    except ValueError:  # the pipes were already read and closed
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=timeout)
        return (None, None)
