"""Completion notices: Rekognition's SNS message, a webhook POST, or a Python callable.

The message is the one Rekognition publishes::

    {"JobId": "...", "Status": "SUCCEEDED", "API": "StartPersonTracking",
     "JobTag": "...", "Timestamp": 1700000000000,
     "Video": {"S3ObjectName": "...", "S3Bucket": "..."}}

SNS and webhook notices are sent by the worker process when the job ends (so they arrive
even when the notebook that started the job is gone); a callable is called in the process
of the client that registered it.

Examples
--------
>>> from persontrack.jobs._notify import completion_message
>>> job = {"job_id": "j1", "state": "SUCCEEDED", "job_tag": None, "finished_at": 1.5,
...        "video": {"S3Object": {"Bucket": "b", "Name": "v.mp4"}}}
>>> completion_message(job)["Video"]
{'S3ObjectName': 'v.mp4', 'S3Bucket': 'b'}
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from typing import Any

WEBHOOK_TIMEOUT = 10.0
"""Seconds to wait for a webhook to answer."""


def completion_message(job: dict[str, Any]) -> dict[str, Any]:
    """Rekognition's completion message for a finished job row."""
    s3 = job["video"]["S3Object"]
    message: dict[str, Any] = {
        "JobId": job["job_id"],
        "Status": job["state"],
        "API": "StartPersonTracking",
    }
    if job.get("job_tag") is not None:
        message["JobTag"] = job["job_tag"]
    message["Timestamp"] = int(round((job.get("finished_at") or 0) * 1000))
    message["Video"] = {"S3ObjectName": s3["Name"], "S3Bucket": s3["Bucket"]}
    return message


def publish_sns(
    topic_arn: str,
    message: dict[str, Any],
    *,
    endpoint_url: str | None = None,
    region_name: str | None = None,
) -> None:
    """Publish ``message`` (as JSON) to an SNS topic through boto3."""
    import boto3

    region = region_name or _region_of(topic_arn)
    sns = boto3.client("sns", endpoint_url=endpoint_url, region_name=region)
    sns.publish(TopicArn=topic_arn, Message=json.dumps(message))


def post_webhook(url: str, message: dict[str, Any], *, timeout: float = WEBHOOK_TIMEOUT) -> None:
    """POST ``message`` as JSON to ``url``; raise on a non-2xx answer."""
    request = urllib.request.Request(
        url,
        data=json.dumps(message).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        if not 200 <= response.status < 300:
            raise OSError(f"webhook {url} answered HTTP {response.status}")


def send(channel: dict[str, Any], message: dict[str, Any]) -> None:
    """Deliver ``message`` through a stored channel (``sns`` or ``webhook``)."""
    if channel["kind"] == "sns":
        publish_sns(
            channel["SNSTopicArn"],
            message,
            endpoint_url=channel.get("endpoint_url"),
            region_name=channel.get("region_name"),
        )
    elif channel["kind"] == "webhook":
        post_webhook(channel["url"], message)
    elif channel["kind"] != "callable":  # callables are called by their client
        raise ValueError(f"unknown notification channel {channel['kind']!r}")


def call(callback: Callable[[dict[str, Any]], Any], message: dict[str, Any]) -> str | None:
    """Call a user callback; return the error text instead of raising."""
    try:
        callback(message)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def _region_of(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 and parts[3] else None
