"""Idle connections against ``persontrack serve``: their memory, and a request served meanwhile.

Starts ``persontrack serve --workers 1`` on 127.0.0.1 as its own process, opens
``--connections`` TCP connections that send nothing (half of them a partial request head),
and prints: the server's RSS per idle connection, the latency of a signed
GetPersonTracking (boto3) while they are held, how many of them the server has closed
after ``--idle-timeout`` (+1 s), and the time a plain request head takes to arrive from
boto3 (what the idle timeout must leave room for).

Run::

    .venv/bin/python benchmarks/serve_idle.py
    .venv/bin/python benchmarks/serve_idle.py --connections 2000 --idle-timeout 5
"""

from __future__ import annotations

import argparse
import os
import selectors
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import psutil

KEY_ID, SECRET, REGION = "AKIDBENCH0000001", "bench-secret", "us-east-1"


def start_server(data_dir: Path, options: list[str]) -> tuple[subprocess.Popen[str], str]:
    env = {
        **os.environ,
        "PERSONTRACK_ACCESS_KEY_ID": KEY_ID,
        "PERSONTRACK_SECRET_ACCESS_KEY": SECRET,
    }
    cmd = [sys.executable, "-m", "persontrack.cli", "serve", "--port", "0", "--workers", "1"]
    cmd += ["--data-dir", str(data_dir), "--bucket-root", str(data_dir), *options]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    if not sel.select(timeout=120):
        proc.kill()
        raise SystemExit("persontrack serve did not start in 120 s")
    return proc, proc.stdout.readline().split()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--idle-timeout", type=float, default=5.0)
    args = parser.parse_args()

    import boto3
    from botocore.config import Config

    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_server(Path(tmp), ["--idle-timeout", str(args.idle_timeout)])
        parts = urlsplit(url)
        rek = boto3.client(
            "rekognition",
            endpoint_url=url,
            region_name=REGION,
            aws_access_key_id=KEY_ID,
            aws_secret_access_key=SECRET,
            config=Config(retries={"mode": "standard", "max_attempts": 1}),
        )
        socks: list[socket.socket] = []
        try:
            with_a_head = 0
            t = time.perf_counter()
            for _ in range(50):  # a request head from boto3, connection made each time
                try:
                    rek.get_person_tracking(JobId="0" * 64)
                except rek.exceptions.ResourceNotFoundException:
                    pass
            per_request = (time.perf_counter() - t) / 50 * 1000
            server = psutil.Process(proc.pid)
            time.sleep(0.5)
            before = server.memory_info().rss
            opened = time.monotonic()
            for k in range(args.connections):
                s = socket.create_connection((parts.hostname, parts.port), timeout=30)
                if k % 2:
                    s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")  # a head never finished
                    with_a_head += 1
                socks.append(s)
            time.sleep(0.5)
            rss_each = (server.memory_info().rss - before) / args.connections / 1024
            t = time.perf_counter()
            try:
                rek.get_person_tracking(JobId="0" * 64)
                answer = "200"
            except rek.exceptions.ResourceNotFoundException:
                answer = "ResourceNotFoundException (served)"
            except Exception as e:
                answer = f"{type(e).__name__}: {e}"
            held_ms = (time.perf_counter() - t) * 1000
            time.sleep(max(0.0, opened + args.idle_timeout + 1 - time.monotonic()))
            closed = 0
            for s in socks:
                s.settimeout(0.01)
                try:
                    closed += s.recv(1) == b""
                except ConnectionError:
                    closed += 1
                except TimeoutError:
                    pass
            print(f"idle timeout {args.idle_timeout:g} s, {args.connections} connections held "
                  f"({with_a_head} with a partial request head)")  # fmt: skip
            print(f"  boto3 GetPersonTracking, new connection each: {per_request:.1f} ms")
            print(f"  server RSS per idle connection: {rss_each:.1f} KiB")
            print(f"  signed request while they are held: {answer} in {held_ms:.0f} ms")
            print(f"  closed by the server {args.idle_timeout + 1:g} s after opening: "
                  f"{closed} of {args.connections}")  # fmt: skip
        finally:
            for s in socks:
                s.close()
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


if __name__ == "__main__":
    main()
