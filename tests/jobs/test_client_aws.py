"""S3 input and SNS notifications through boto3, against an S3/SNS/SQS server on loopback.

The server is moto's (``moto[server]``), started by the tests on 127.0.0.1; the client and
its worker processes reach it over HTTP with boto3 exactly as they would reach AWS.
"""

from __future__ import annotations

import json
import time

import pytest

from persontrack.jobs.client import client

moto_server = pytest.importorskip("moto.server")
boto3 = pytest.importorskip("boto3")

REGION = "us-east-1"


@pytest.fixture(scope="module")
def aws():
    """An S3/SNS/SQS endpoint on loopback and credentials for it (inherited by workers)."""
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    with pytest.MonkeyPatch.context() as mp:
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
        }.items():
            mp.setenv(name, value)
        mp.delenv("AWS_PROFILE", raising=False)
        yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_video(aws, sample_video):
    """A versioned bucket holding two versions of the sample video; returns (bucket, versions)."""
    s3 = boto3.client("s3", endpoint_url=aws, region_name=REGION)
    bucket = f"videos-{time.time_ns()}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    data = sample_video.read_bytes()
    v1 = s3.put_object(Bucket=bucket, Key="cams/door.mp4", Body=data)["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="cams/door.mp4", Body=data + b"\0" * 10)["VersionId"]
    return bucket, (v1, v2)


def test_video_from_an_s3_compatible_server(clients, aws, s3_video):
    bucket, (v1, _) = s3_video
    c = clients(storage="s3", s3_endpoint_url=aws, region_name=REGION, settings={"rows": 40})
    video = {"S3Object": {"Bucket": bucket, "Name": "cams/door.mp4", "Version": v1}}
    job_id = c.start_person_tracking(Video=video)["JobId"]
    done = c.wait(job_id, timeout=60)
    assert done["JobStatus"] == "SUCCEEDED", done.get("StatusMessage")
    page = c.get_person_tracking(JobId=job_id)
    assert page["Video"] == video
    assert page["VideoMetadata"]["FrameWidth"] == 640
    assert len(page["Persons"]) == 40
    assert not list((clients.data_dir / "tmp").glob("*")), "the download was not removed"


@pytest.mark.parametrize(
    "s3",
    [
        {"Name": "cams/missing.mp4"},
        {"Name": "cams/door.mp4", "Version": "nosuchversion"},
        {"Bucket": "no-such-bucket-here", "Name": "cams/door.mp4"},
    ],
)
def test_missing_s3_objects_are_invalid_s3_object(clients, aws, s3_video, s3):
    bucket, _ = s3_video
    c = clients(storage="s3", s3_endpoint_url=aws, region_name=REGION)
    with pytest.raises(c.exceptions.InvalidS3ObjectException):
        c.start_person_tracking(Video={"S3Object": {"Bucket": bucket, **s3}})


def test_sns_notification_arrives_through_an_sqs_subscription(clients, aws):
    sns = boto3.client("sns", endpoint_url=aws, region_name=REGION)
    sqs = boto3.client("sqs", endpoint_url=aws, region_name=REGION)
    topic = sns.create_topic(Name=f"rekognition-done-{time.time_ns()}")["TopicArn"]
    queue_url = sqs.create_queue(QueueName=f"done-{time.time_ns()}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)

    c = clients(sns_endpoint_url=aws)
    job_id = c.start_person_tracking(
        Video={"S3Object": {"Bucket": "videos", "Name": "sample.mp4"}},
        JobTag="shop-door",
        NotificationChannel={
            "SNSTopicArn": topic,
            "RoleArn": "arn:aws:iam::123456789012:role/RekognitionSNS",
        },
    )["JobId"]
    c.wait(job_id, timeout=60)
    messages = []
    deadline = time.monotonic() + 20
    while not messages and time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1).get("Messages", [])
    assert messages, c.describe_job(job_id)["NotificationError"]
    envelope = json.loads(messages[0]["Body"])
    assert envelope["TopicArn"] == topic
    message = json.loads(envelope["Message"])
    assert message["JobId"] == job_id
    assert message["Status"] == "SUCCEEDED"
    assert message["API"] == "StartPersonTracking"
    assert message["JobTag"] == "shop-door"
    assert message["Video"] == {"S3ObjectName": "sample.mp4", "S3Bucket": "videos"}
    assert isinstance(message["Timestamp"], int)
    assert c.describe_job(job_id)["NotificationError"] is None


def test_unreachable_sns_is_recorded_not_fatal(clients):
    c = clients(sns_endpoint_url="http://127.0.0.1:9")
    job_id = c.start_person_tracking(
        Video={"S3Object": {"Bucket": "videos", "Name": "sample.mp4"}},
        NotificationChannel={
            "SNSTopicArn": "arn:aws:sns:us-east-1:123456789012:nowhere",
            "RoleArn": "arn:aws:iam::123456789012:role/r",
        },
    )["JobId"]
    described = c.wait(job_id, timeout=60)
    assert described["JobStatus"] == "SUCCEEDED"
    deadline = time.monotonic() + 30
    while c.describe_job(job_id)["NotificationError"] is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "Could not connect" in c.describe_job(job_id)["NotificationError"]


def test_client_reads_s3_when_only_an_endpoint_is_given(aws, tmp_path):
    c = client(data_dir=tmp_path, s3_endpoint_url=aws)
    assert c.storage.kind == "s3"
    c.close()
