"""Start ``persontrack serve`` as a real process on 127.0.0.1 and reach it with boto3."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from jobs_support import FAKE_TRACKER
from procs import reap

KEY_ID = "AKIDSERVETEST0001"
SECRET = "serve-test-secret/0001+x"
REGION = "eu-central-1"  # any region: the server accepts every region in the scope


class Server:
    """One ``persontrack serve`` process; ``url`` is where it listens."""

    def __init__(self, proc: subprocess.Popen[str], url: str, data_dir: Path) -> None:
        self.proc, self.url, self.data_dir = proc, url, data_dir

    def boto3(self, key_id: str = KEY_ID, secret: str = SECRET, **config: Any) -> Any:
        """A real boto3 Rekognition client for this server (no retries unless asked)."""
        config.setdefault("retries", {"mode": "standard", "max_attempts": 1})
        return boto3.client(
            "rekognition",
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
            config=Config(**config),
        )

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> tuple[int, str]:
        """Signal the server; return (exit status, what it wrote on stderr)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            _, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _, err = reap(self.proc)
            err = err or ""
        return self.proc.returncode, err


def start_server(
    data_dir: Path,
    bucket_root: Path,
    *args: str,
    settings: dict[str, Any] | None = None,
    keys: bool = True,
    env: dict[str, str] | None = None,
    timeout: float = 60,
    preexec: Any = None,
) -> Server:
    """Run ``persontrack serve --port 0`` and wait for its "listening on URL" line."""
    cmd = [
        sys.executable,
        "-m",
        "persontrack.cli",
        "serve",
        "--port",
        "0",
        "--data-dir",
        str(data_dir),
        "--bucket-root",
        str(bucket_root),
        "--settings",
        json.dumps(settings or {"rows": 50}),
        *args,
    ]
    full_env = {**os.environ, "PERSONTRACK_TRACKER": FAKE_TRACKER, **(env or {})}
    for name in ("PERSONTRACK_ACCESS_KEY_ID", "PERSONTRACK_SECRET_ACCESS_KEY"):
        full_env.pop(name, None)
    full_env.pop("PERSONTRACK_CREDENTIALS_FILE", None)
    if keys:
        full_env.update(PERSONTRACK_ACCESS_KEY_ID=KEY_ID, PERSONTRACK_SECRET_ACCESS_KEY=SECRET)
    full_env.update(env or {})
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=full_env,
        preexec_fn=preexec,
    )
    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    line = ""
    while time.monotonic() < deadline and proc.poll() is None:
        if sel.select(timeout=0.2):
            line = proc.stdout.readline()
            break
    sel.close()
    if not line.startswith("persontrack serve: listening on "):
        _, err = reap(proc)
        raise RuntimeError(f"persontrack serve did not start ({proc.returncode}): {line}{err}")
    return Server(proc, line.split()[-1], data_dir)


def wait_done(rek: Any, job_id: str, timeout: float = 60) -> dict[str, Any]:
    """Poll GetPersonTracking until the job is no longer IN_PROGRESS."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page = rek.get_person_tracking(JobId=job_id, MaxResults=1)
        if page["JobStatus"] != "IN_PROGRESS":
            return page
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still IN_PROGRESS after {timeout} s")


def all_pages(rek: Any, job_id: str, **kw: Any) -> list[dict[str, Any]]:
    pages: list[dict[str, Any]] = []
    token = None
    while True:
        args = dict(kw, JobId=job_id)
        if token:
            args["NextToken"] = token
        pages.append(rek.get_person_tracking(**args))
        token = pages[-1].get("NextToken")
        if not token:
            return pages
