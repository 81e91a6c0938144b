"""16 concurrent boto3 clients paging a 1,000,000-row job through ``persontrack serve``.

Builds the same store as ``jobs_paging.py`` (a SUCCEEDED job of ``--rows`` synthetic rows),
starts ``persontrack serve`` on 127.0.0.1 as its own process, then runs ``--clients``
client processes at once, each with its own boto3 Rekognition client (SigV4, real HTTP),
asking ``--requests`` GetPersonTracking pages of 1000 at random places of the job, both sort
orders alternating. Prints requests/s and p50/p90/p99/max latency of one page as the client
sees it (signing, HTTP, server, and botocore parsing 1000 Persons), and the same for a raw
signed HTTP client that does not parse the page, and the CPU time the server's processes
spent per page (user + system, less affected than latency by the machine's other load).
The clients run on the same cores as the server: the raw figure is the server's, the
boto3 figure includes botocore parsing 1000 Persons per page in 16 processes.
Goal: p99 <= 100 ms, no errors.

Run::

    .venv/bin/python benchmarks/serve_paging.py                      # 1,000,000 rows
    .venv/bin/python benchmarks/serve_paging.py --keep /tmp/sp       # keep/reuse the store
    .venv/bin/python benchmarks/serve_paging.py --rows 100000 --requests 20
    .venv/bin/python benchmarks/serve_paging.py --keep /tmp/sp --workers 1   # one process
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import selectors
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from jobs_paging import build

from persontrack.jobs._store import _HAS_INDEX_COPY
from persontrack.jobs.client import client

KEY_ID, SECRET, REGION = "AKIDBENCH0000001", "bench-secret", "us-east-1"


def start_server(data_dir: Path, bucket_root: Path, options: list[str]) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "PERSONTRACK_ACCESS_KEY_ID": KEY_ID,
        "PERSONTRACK_SECRET_ACCESS_KEY": SECRET,
    }
    cmd = [sys.executable, "-m", "persontrack.cli", "serve", "--port", "0"]
    cmd += ["--data-dir", str(data_dir), "--bucket-root", str(bucket_root)]
    cmd += options
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    if not sel.select(timeout=120):
        proc.kill()
        raise SystemExit("persontrack serve did not start in 120 s")
    proc.url = proc.stdout.readline().split()[-1]  # type: ignore[attr-defined]
    return proc


def run_client(url: str, job_id: str, tokens: list[tuple[str, str]], start_at: float, raw: bool):
    """One client process: its pages' latencies in ms, and the errors it got."""
    import boto3
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.config import Config
    from botocore.credentials import Credentials

    rek = boto3.client(
        "rekognition",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
        config=Config(retries={"mode": "standard", "max_attempts": 1}, max_pool_connections=2),
    )
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    credentials = Credentials(KEY_ID, SECRET)

    def raw_page(sort_by: str, token: str) -> int:
        body = json.dumps(
            {"JobId": job_id, "MaxResults": 1000, "SortBy": sort_by, "NextToken": token}
        ).encode()
        request = AWSRequest(
            method="POST",
            url=url + "/",
            data=body,
            headers={
                "X-Amz-Target": "RekognitionService.GetPersonTracking",
                "Content-Type": "application/x-amz-json-1.1",
            },
        )
        SigV4Auth(credentials, "rekognition", REGION).add_auth(request)
        conn.request("POST", "/", body=body, headers=dict(request.headers.items()))
        response = conn.getresponse()
        data = response.read()
        if response.status != 200:
            raise RuntimeError(data[:200].decode())
        return len(data)

    # boto3's own clock of each call's HTTP exchange: from sending the signed request to
    # holding the whole response, before botocore parses it (the before-parse event)
    http_ms: list[float] = []
    sent: list[float] = []
    rek.meta.events.register(
        "before-send.rekognition.GetPersonTracking", lambda **_: sent.append(time.perf_counter())
    )
    rek.meta.events.register(
        "before-parse.rekognition.GetPersonTracking",
        lambda **_: http_ms.append((time.perf_counter() - sent.pop()) * 1000),
    )
    rek.get_person_tracking(JobId=job_id, MaxResults=1)  # connect before the clock starts
    http_ms.clear()
    while time.time() < start_at:
        time.sleep(0.005)
    times, errors = [], []
    began = time.time()  # a client slow to start (a loaded machine) is not counted idle
    for sort_by, token in tokens:
        t = time.perf_counter()
        try:
            if raw:
                raw_page(sort_by, token)
            else:
                page = rek.get_person_tracking(
                    JobId=job_id, MaxResults=1000, SortBy=sort_by, NextToken=token
                )
                assert len(page["Persons"]) == 1000
        except Exception as e:  # counted, not hidden
            errors.append(f"{type(e).__name__}: {e}"[:200])
            continue
        times.append((time.perf_counter() - t) * 1000)
    conn.close()
    return times, errors, began, time.time(), http_ms


def server_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of the server process and its worker processes so far."""
    proc = psutil.Process(pid)
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            t = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += t.user + t.system
    return total


def phase(
    args: argparse.Namespace, server: subprocess.Popen[str], c: Any, job_id: str, raw: bool
) -> None:
    url = server.url  # type: ignore[attr-defined]
    job = c.store.get_job(job_id)
    rng = np.random.default_rng(7 if raw else 8)
    pages = max(1, job["result_count"] // 1000 - 1)
    plans = []
    for i in range(args.clients):
        plan = []
        for k in range(args.requests):
            sort_by = ("TIMESTAMP", "INDEX")[(i + k) % 2]
            offset = int(rng.integers(0, pages)) * 1000
            token = c.signer.sign(
                job_id=job_id,
                job_key=job["job_key"],
                generation=job["generation"],
                sort_by=sort_by,
                offset=offset,
            )
            plan.append((sort_by, token))
        plans.append(plan)
    start_at = time.time() + 3.0 + 0.2 * args.clients
    with ProcessPoolExecutor(args.clients) as pool:
        futures = [pool.submit(run_client, url, job_id, p, start_at, raw) for p in plans]
        while time.time() < start_at:
            time.sleep(0.005)
        cpu = server_cpu_seconds(server.pid)
        results = [f.result() for f in futures]
    wall = max(r[3] for r in results) - min(r[2] for r in results)
    cpu = server_cpu_seconds(server.pid) - cpu
    times = [t for r in results for t in r[0]]
    errors = [e for r in results for e in r[1]]
    kind = "raw signed HTTP, page not parsed" if raw else "boto3, page parsed"
    print(
        f"{args.clients} clients x {args.requests} pages of 1000 ({kind}): "
        f"{len(times) / wall:.1f} requests/s, p50 {np.percentile(times, 50):.0f} ms, "
        f"p90 {np.percentile(times, 90):.0f} ms, p99 {np.percentile(times, 99):.0f} ms, "
        f"max {max(times):.0f} ms, errors {len(errors)}"
        + (f" (first: {errors[0]})" if errors else "")
        + f"; server CPU {cpu * 1000 / max(1, len(times) + len(errors)):.1f} ms per page; "
        f"the last client began {max(r[2] for r in results) - start_at:.1f} s late"
    )
    http = [t for r in results for t in r[4]]
    if http:
        print(
            f"  the same calls' HTTP exchange (boto3 sending the signed request to holding "
            f"the response, before parsing it): p50 {np.percentile(http, 50):.0f} ms, "
            f"p90 {np.percentile(http, 90):.0f} ms, p99 {np.percentile(http, 99):.0f} ms, "
            f"max {max(http):.0f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=30, help="pages per client")
    parser.add_argument("--threads", type=int, help="server threads (default: the server's)")
    parser.add_argument(
        "--workers", type=int, help="server processes (default: the server's, one per CPU)"
    )
    parser.add_argument("--keep", type=Path, help="build the store here, or reuse it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = args.keep or Path(tmp)
        data, buckets = base / "data", base / "buckets"
        if (data / "jobs.sqlite3").exists():
            c = client(data_dir=data, bucket_root=buckets)
            job_id = c.store.list_jobs()[-1]["job_id"]
            print(f"reusing the store in {base}")
            job = c.store.get_job(job_id)
            if not c.store._read(_HAS_INDEX_COPY, (job["job_key"],)):
                print("  (built before store schema 3: SortBy=INDEX pages come from the slower")
                print("  scattered rows; build a new store for current figures)")
        else:
            c, job_id = build(data, buckets, args.rows)
        rows = c.store.get_job(job_id)["result_count"]
        print(f"job of {rows:,} rows; {os.cpu_count()} CPUs; load {os.getloadavg()[0]:.1f}")
        options = [] if args.threads is None else ["--threads", str(args.threads)]
        options += [] if args.workers is None else ["--workers", str(args.workers)]
        server = start_server(data, buckets, options)
        try:
            for raw in (True, False):
                phase(args, server, c, job_id, raw)
        finally:
            server.terminate()
            server.wait(timeout=60)
            c.close()
        print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
