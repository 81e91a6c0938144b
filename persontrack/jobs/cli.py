"""``persontrack start | get | jobs [delete | purge] | serve``: wrappers over the jobs client.

:func:`add_job_commands` registers the commands on an argparse sub-parser object; each
sets ``func`` (returning the exit status) as ``persontrack.cli`` expects. Output is the
client's response as JSON (``jobs``: a table, or JSON lines with ``--json``); ``serve``
runs the Rekognition endpoint of :mod:`persontrack.jobs.server` until SIGTERM/SIGINT.

Examples
--------
>>> import argparse
>>> parser = argparse.ArgumentParser(prog="persontrack")
>>> add_job_commands(parser.add_subparsers(dest="command"))
>>> parser.parse_args(["get", "JOB", "--sort-by", "INDEX"]).sort_by
'INDEX'
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def _common(p: argparse.ArgumentParser, default: Any = None) -> None:
    # default=argparse.SUPPRESS on a sub-command of `jobs`: it then keeps the value given
    # before the sub-command (`jobs --data-dir D delete JOB`)
    p.add_argument(
        "--data-dir",
        default=default,
        help="job store folder (default: $PERSONTRACK_DATA_DIR or ~/.persontrack)",
    )
    p.add_argument(
        "--bucket-root",
        default=default,
        help="folder whose sub-folders are the buckets (default: $PERSONTRACK_BUCKET_ROOT "
        "or DATA_DIR/buckets)",
    )
    p.add_argument(
        "--s3-endpoint-url",
        default=default,
        help="read videos from S3 (or this S3-compatible URL)",
    )
    p.add_argument(
        "--sns-endpoint-url", default=default, help="SNS endpoint for --sns-topic notifications"
    )
    p.add_argument("--region", default=default, help="AWS region for S3 and SNS")


def _client(args: argparse.Namespace, **options: Any) -> Any:
    from .client import client

    if args.s3_endpoint_url and not args.bucket_root:
        options["storage"] = "s3"
    return client(
        args.data_dir,
        args.bucket_root,
        s3_endpoint_url=args.s3_endpoint_url,
        sns_endpoint_url=args.sns_endpoint_url,
        region_name=args.region,
        **options,
    )


def _print(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def _start(args: argparse.Namespace) -> int:
    s3: dict[str, Any] = {"Bucket": args.bucket, "Name": args.name}
    if args.version:
        s3["Version"] = args.version
    request: dict[str, Any] = {"Video": {"S3Object": s3}}
    if args.token:
        request["ClientRequestToken"] = args.token
    if args.tag:
        request["JobTag"] = args.tag
    if args.sns_topic or args.role_arn:
        request["NotificationChannel"] = {"SNSTopicArn": args.sns_topic, "RoleArn": args.role_arn}
    elif args.webhook:
        request["NotificationChannel"] = args.webhook
    client = _client(args)
    response = client.start_person_tracking(**request)
    if not args.wait:
        _print({"JobId": response["JobId"]})
        return 0
    done = client.wait(response["JobId"], progress=True)
    _print({k: done[k] for k in ("JobId", "JobStatus", "StatusMessage") if done.get(k)})
    return 0 if done["JobStatus"] == "SUCCEEDED" else 1


def _get(args: argparse.Namespace) -> int:
    request: dict[str, Any] = {"JobId": args.job_id, "SortBy": args.sort_by}
    if args.max_results is not None:
        request["MaxResults"] = args.max_results
    if args.next_token:
        request["NextToken"] = args.next_token
    client = _client(args)
    response = client.get_person_tracking(**request)
    page = response
    full = args.max_results or 1000
    # a live stream's job always has a NextToken while it runs: --all stops at the rows
    # stored so far and prints the token that gives the rows appended after them
    while args.all and page.get("NextToken") and len(page["Persons"]) >= full:
        page = client.get_person_tracking(**{**request, "NextToken": page["NextToken"]})
        response["Persons"] += page["Persons"]
        response["NextToken"] = page.get("NextToken")
        response["JobStatus"] = page["JobStatus"]
    if not response.get("NextToken"):
        response.pop("NextToken", None)
    response.pop("ResponseMetadata", None)
    _print(response)
    return 0


def _jobs(args: argparse.Namespace) -> int:
    frame = _client(args).list_jobs()
    if args.json:
        for record in frame.to_dict(orient="records"):
            sys.stdout.write(json.dumps(record, default=str) + "\n")
    elif len(frame):
        shown = frame[["JobId", "JobStatus", "Progress", "JobTag", "Bucket", "Name"]]
        sys.stdout.write(shown.to_string(index=False) + "\n")
    return 0


def _delete(args: argparse.Namespace) -> int:
    rek = _client(args)
    try:
        rek.delete_job(JobId=args.job_id)
    finally:
        rek.close()
    _print({"JobId": args.job_id, "Deleted": True})
    return 0


def _purge(args: argparse.Namespace) -> int:
    rek = _client(args)
    try:
        deleted = rek.purge_jobs(OlderThanDays=args.older_than)
    finally:
        rek.close()
    _print({"Deleted": deleted})
    return 0


def _settings(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    from ..errors import InvalidParameterException

    try:
        value = json.loads(text)
    except ValueError as e:
        raise InvalidParameterException(f"--settings must be a JSON object: {e}") from None
    if not isinstance(value, dict):
        raise InvalidParameterException("--settings must be a JSON object")
    return value


def _serve(args: argparse.Namespace) -> int:
    from . import _keys, server

    options: dict[str, Any] = {"settings": _settings(args.settings)}
    if args.max_jobs is not None:
        options["max_jobs"] = args.max_jobs
    if args.max_requests_per_second is not None:
        options["max_requests_per_second"] = args.max_requests_per_second
    rek = _client(args, **options)
    try:
        keys, path, generated = _keys.load_access_keys(
            rek.data_dir, credentials_file=args.credentials
        )
        limits = server.Limits(
            max_body_bytes=args.max_body_bytes,
            max_concurrent_requests=args.max_concurrent_requests,
            threads=args.threads,
            body_timeout=args.body_timeout,
            request_timeout=args.request_timeout,
            keep_alive=args.idle_timeout,
            max_connections=args.max_connections,
        )
        workers = args.workers
        if workers is None:  # a rate limit is counted in one process
            workers = 1 if args.max_requests_per_second else server.default_workers()
        server.serve(
            rek,
            keys,
            host=args.host,
            port=args.port,
            limits=limits,
            workers=workers,
            access_log=args.access_log,
            on_ready=lambda url: _keys.announce(url, path, generated, sorted(keys)),
        )
    finally:
        rek.close()
    print("persontrack serve: stopped", file=sys.stderr)
    return 0


def add_job_commands(subparsers: Any) -> None:
    """Register ``start``, ``get`` and ``jobs`` on ``parser.add_subparsers()``."""
    s = subparsers.add_parser("start", help="start a People Pathing job (StartPersonTracking)")
    s.add_argument("--bucket", required=True, help="bucket (a folder under the bucket root)")
    s.add_argument("--name", required=True, help="object name of the video in the bucket")
    s.add_argument("--version", help="S3 object version")
    s.add_argument("--token", help="ClientRequestToken (idempotency)")
    s.add_argument("--tag", help="JobTag")
    s.add_argument("--sns-topic", help="SNS topic ARN to notify on completion")
    s.add_argument("--role-arn", help="IAM role ARN for the SNS notification")
    s.add_argument("--webhook", help="URL to POST the completion message to")
    s.add_argument(
        "--wait",
        action="store_true",
        help="wait for the job to end (progress on stderr); exit 1 if it FAILED",
    )
    _common(s)
    s.set_defaults(func=_start)

    g = subparsers.add_parser("get", help="one page of a job's results (GetPersonTracking)")
    g.add_argument("job_id", metavar="JOB_ID")
    g.add_argument("--max-results", type=int, help="Persons per page (1-1000, default 1000)")
    g.add_argument(
        "--all",
        action="store_true",
        help="follow NextToken: every page in one (a running stream's job: every row so far, "
        "and the NextToken of the rows to come)",
    )
    g.add_argument("--next-token", help="NextToken from the previous page")
    g.add_argument("--sort-by", default="TIMESTAMP", choices=("INDEX", "TIMESTAMP"))
    _common(g)
    g.set_defaults(func=_get)

    j = subparsers.add_parser("jobs", help="list the jobs in the store (or delete, purge)")
    j.add_argument("--json", action="store_true", help="one JSON object per line")
    _common(j)
    j.set_defaults(func=_jobs)
    js = j.add_subparsers(dest="jobs_command")
    jd = js.add_parser(
        "delete", help="delete a finished job: nothing of it is left in the data dir"
    )
    jd.add_argument("job_id", metavar="JOB_ID")
    _common(jd, argparse.SUPPRESS)
    jd.set_defaults(func=_delete)
    jp = js.add_parser(
        "purge", help="delete every finished job older than DAYS (a retention policy for cron)"
    )
    jp.add_argument(
        "--older-than",
        type=float,
        required=True,
        metavar="DAYS",
        help="jobs that ended more than DAYS days ago",
    )
    _common(jp, argparse.SUPPRESS)
    jp.set_defaults(func=_purge)

    from .server import Limits

    d = Limits()
    v = subparsers.add_parser(
        "serve",
        help="serve Rekognition's API (AWS JSON 1.1, SigV4) for boto3, the AWS CLI, any SDK",
    )
    v.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    v.add_argument("--port", type=int, default=8080, help="port (default 8080; 0: any free)")
    v.add_argument(
        "--credentials",
        metavar="FILE",
        help="accepted access keys, AWS shared-credentials format (default: "
        "$PERSONTRACK_CREDENTIALS_FILE; with neither it nor PERSONTRACK_ACCESS_KEY_ID/"
        "PERSONTRACK_SECRET_ACCESS_KEY: DATA_DIR/credentials, generated if missing)",
    )
    v.add_argument("--settings", metavar="JSON", help="tracking settings of the jobs, as JSON")
    v.add_argument(
        "--max-jobs", type=int, metavar="N", help="jobs running or waiting at once (default 20)"
    )
    v.add_argument(
        "--max-requests-per-second",
        type=float,
        metavar="RATE",
        help="ThrottlingException above this rate (default: no limit)",
    )
    v.add_argument(
        "--max-body-bytes",
        type=int,
        default=d.max_body_bytes,
        metavar="N",
        help=f"larger request bodies get 413 (default {d.max_body_bytes})",
    )
    v.add_argument(
        "--max-concurrent-requests",
        type=int,
        default=d.max_concurrent_requests,
        metavar="N",
        help=f"more at once get ThrottlingException (default {d.max_concurrent_requests})",
    )
    v.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="server processes sharing the port (default: one per CPU; 1 with "
        "--max-requests-per-second)",
    )
    v.add_argument(
        "--threads",
        type=int,
        default=d.threads,
        metavar="N",
        help=f"threads answering requests in each process (default {d.threads})",
    )
    v.add_argument(
        "--body-timeout",
        type=float,
        default=d.body_timeout,
        metavar="SECONDS",
        help=f"time to receive a request body, else 408 (default {d.body_timeout:g})",
    )
    v.add_argument(
        "--request-timeout",
        type=float,
        default=d.request_timeout,
        metavar="SECONDS",
        help=f"time to answer a request, else InternalServerError (default {d.request_timeout:g})",
    )
    v.add_argument(
        "--idle-timeout",
        type=float,
        default=d.keep_alive,
        metavar="SECONDS",
        help="a connection without a whole request head this long is closed "
        f"(default {d.keep_alive:g})",
    )
    v.add_argument(
        "--max-connections",
        type=int,
        default=d.max_connections,
        metavar="N",
        help=f"open connections per server process, then a bare 503 (default {d.max_connections})",
    )
    v.add_argument("--access-log", action="store_true", help="log one line per request")
    _common(v)
    v.set_defaults(func=_serve)
