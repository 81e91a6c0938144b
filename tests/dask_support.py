"""A real Dask cluster for tests: ``dask scheduler`` and ``dask worker`` processes on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path


class DaskProcesses:
    """One scheduler and ``n`` single-threaded workers without nannies (a kill is final)."""

    def __init__(self, folder: Path, workers: int = 2) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.log = open(folder / "dask.log", "ab")
        file = folder / "scheduler.json"
        self.scheduler = self._start(
            "distributed.cli.dask_scheduler",
            "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
            "--scheduler-file", str(file),
        )  # fmt: skip
        deadline = time.monotonic() + 60
        # the scheduler may have created the file but not yet written it
        while time.monotonic() < deadline:
            try:
                self.address = json.loads(file.read_text())["address"]
                break
            except (OSError, ValueError, KeyError):
                time.sleep(0.1)
        else:
            raise RuntimeError(f"no Dask scheduler address in {file} after 60 s")
        self.workers = [self.add_worker(k) for k in range(workers)]
        self.wait_for_workers(workers)

    def _start(self, module: str, *args: str) -> subprocess.Popen[bytes]:
        env = dict(os.environ)
        env.pop("PERSONTRACK_DASK_SCHEDULER", None)
        return subprocess.Popen(
            [sys.executable, "-m", module, *args],
            stdout=self.log,
            stderr=self.log,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )

    def add_worker(self, k: int) -> subprocess.Popen[bytes]:
        return self._start(
            "distributed.cli.dask_worker", self.address,
            "--host", "127.0.0.1", "--nthreads", "1", "--no-nanny", "--no-dashboard",
            "--name", f"w{k}-{time.monotonic_ns()}",
            "--local-directory", str(self.folder / f"w{k}"),
        )  # fmt: skip

    def wait_for_workers(self, n: int, timeout: float = 60) -> None:
        from distributed import Client

        with Client(self.address, timeout="30s") as c:
            c.wait_for_workers(n, timeout=timeout)

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    def stop(self) -> None:
        for proc in [*self.workers, self.scheduler]:
            if proc.poll() is None:
                proc.terminate()
        for proc in [*self.workers, self.scheduler]:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill(proc)
        self.log.close()
