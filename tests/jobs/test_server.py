"""``persontrack serve`` as a real process on 127.0.0.1, driven by boto3, the AWS CLI and raw HTTP.

The same checks the Python client's tests make (start, idempotency, errors, paging to the
end in both orders, SNS through moto's SNS→SQS), now over Rekognition's wire protocol with
SigV4; plus what only a server has: authentication failures, limits, health, shutdown and
key management. Jobs use the fast stand-in tracker of ``jobs_fakes.py``.
"""

from __future__ import annotations

import datetime
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from jobs_support import VIDEO, wait_state
from serve_support import KEY_ID, REGION, SECRET, all_pages, start_server, wait_done

from persontrack.convert import sort_results, validate_response

boto3 = pytest.importorskip("boto3")

CONTENT_TYPE = "application/x-amz-json-1.1"
START = "RekognitionService.StartPersonTracking"
GET = "RekognitionService.GetPersonTracking"


@pytest.fixture
def serve(clients):
    """Start servers on the ``clients`` store; all are stopped (and their workers) after."""
    started = []

    def start(*args, **kw):
        server = start_server(clients.data_dir, clients.bucket_root, *args, **kw)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def shared(tmp_path_factory, sample_video):
    """One server for the tests that start no job or only quick ones (its start is slow)."""
    from jobs_support import make_buckets

    base = tmp_path_factory.mktemp("shared")
    server = start_server(base / "data", make_buckets(base / "buckets", sample_video))
    server.bucket_root = base / "buckets"
    yield server
    returncode, err = server.stop()
    assert returncode == 0, err


def job_count(server) -> int:
    from persontrack.jobs.client import client

    c = client(data_dir=server.data_dir, bucket_root=server.bucket_root)
    try:
        return len(c.store.list_jobs())
    finally:
        c.close()


def code(exc_info):
    return exc_info.value.response["Error"]["Code"]


def status(exc_info):
    return exc_info.value.response["ResponseMetadata"]["HTTPStatusCode"]


# -- boto3: the migrating user's code ------------------------------------------------------


def test_boto3_start_idempotent_restart_and_page_to_the_end_in_both_orders(serve, clients):
    server = serve(settings={"rows": 2345})
    rek = server.boto3()
    first = rek.start_person_tracking(Video=VIDEO, ClientRequestToken="cam-1", JobTag="door")
    job_id = first["JobId"]
    assert len(job_id) == 64 and first["ResponseMetadata"]["HTTPStatusCode"] == 200
    again = rek.start_person_tracking(Video=VIDEO, ClientRequestToken="cam-1", JobTag="door")
    assert again["JobId"] == job_id
    with pytest.raises(rek.exceptions.IdempotentParameterMismatchException) as e:
        rek.start_person_tracking(Video=VIDEO, ClientRequestToken="cam-1", JobTag="other")
    assert status(e) == 400
    assert wait_done(rek, job_id)["JobStatus"] == "SUCCEEDED"

    frame = clients().get_dataframe(job_id)  # the store, read directly
    for sort_by in ("TIMESTAMP", "INDEX"):
        pages = all_pages(rek, job_id, SortBy=sort_by, MaxResults=1000)
        assert [len(p["Persons"]) for p in pages] == [1000, 1000, 345]
        assert "NextToken" not in pages[-1]
        persons = [p for page in pages for p in page["Persons"]]
        expected = sort_results(frame, sort_by)
        assert [(p["Timestamp"], p["Person"]["Index"]) for p in persons] == list(
            zip(expected["Timestamp"], expected["Index"], strict=True)
        )
        for page in pages:
            assert page["JobId"] == job_id and page["JobTag"] == "door"
            assert page["Video"] == VIDEO
            assert page["VideoMetadata"]["FrameWidth"] == 640
            page = {k: v for k, v in page.items() if k != "ResponseMetadata"}
            validate_response(page)
    # a NextToken of one order is not valid for the other
    token = rek.get_person_tracking(JobId=job_id, SortBy="INDEX")["NextToken"]
    with pytest.raises(rek.exceptions.InvalidPaginationTokenException):
        rek.get_person_tracking(JobId=job_id, SortBy="TIMESTAMP", NextToken=token)


@pytest.mark.parametrize(
    ("operation", "params", "expected"),
    [
        ("start_person_tracking", {}, "InvalidParameterException"),
        ("start_person_tracking", {"Video": {"S3Object": {"Bucket": "videos"}}}, None),
        ("start_person_tracking", {"Video": VIDEO, "JobTag": "bad tag!"}, None),
        ("start_person_tracking", {"Video": VIDEO, "ClientRequestToken": "x" * 65}, None),
        (
            "start_person_tracking",
            {"Video": VIDEO, "NotificationChannel": {"SNSTopicArn": "x", "RoleArn": "y"}},
            None,
        ),
        (
            "start_person_tracking",
            {"Video": {"S3Object": {"Bucket": "videos", "Name": "../../etc/passwd"}}},
            None,
        ),
        ("get_person_tracking", {"JobId": "a", "MaxResults": 0}, None),
        ("get_person_tracking", {"JobId": "a", "SortBy": "NAME"}, None),
        ("get_person_tracking", {"JobId": "no/slash"}, None),
        ("get_person_tracking", {"JobId": "a", "MaxResults": "10"}, None),
        ("get_person_tracking", {"JobId": "0" * 64}, "ResourceNotFoundException"),
        (
            "get_person_tracking",
            {"JobId": "0" * 64, "NextToken": "not-a-token"},
            "ResourceNotFoundException",
        ),
        (
            "start_person_tracking",
            {"Video": {"S3Object": {"Bucket": "videos", "Name": "missing.mp4"}}},
            "InvalidS3ObjectException",
        ),
    ],
)
def test_boto3_gets_rekognitions_error_for_each_bad_input(shared, operation, params, expected):
    server = shared
    before = job_count(server)
    # the SDK checks most of these itself; with its validation off the server must
    rek = server.boto3(parameter_validation=False)
    with pytest.raises(rek.exceptions.ClientError) as e:
        getattr(rek, operation)(**params)
    assert code(e) == (expected or "InvalidParameterException")
    assert status(e) == 400
    assert e.value.response["Error"]["Message"]
    assert job_count(server) == before  # nothing was started


def test_access_denied_is_400_on_the_wire_as_in_rekognitions_api_reference(shared, tmp_path):
    outside = tmp_path / "outside.mp4"
    outside.write_bytes(b"not inside the bucket root")
    (shared.bucket_root / "videos" / "link.mp4").symlink_to(outside)
    rek = shared.boto3()
    with pytest.raises(rek.exceptions.AccessDeniedException) as e:
        rek.start_person_tracking(Video={"S3Object": {"Bucket": "videos", "Name": "link.mp4"}})
    assert status(e) == 400  # the in-process client says 403; Rekognition's wire says 400


def test_a_webhook_url_is_not_accepted_over_the_wire(shared):
    before = job_count(shared)
    body = json.dumps({"Video": VIDEO, "NotificationChannel": "http://127.0.0.1:9/h"}).encode()
    status_, payload, _ = post(shared.url, sign(shared.url, START, body), body)
    assert status_ == 400 and payload["__type"] == "InvalidParameterException"
    assert "SNSTopicArn" in payload["Message"]
    assert job_count(shared) == before


def test_throttling_is_a_500_the_sdk_retries(serve):
    server = serve("--max-requests-per-second", "1")
    rek = server.boto3()
    with pytest.raises(rek.exceptions.ThrottlingException) as e:
        for _ in range(10):
            with pytest.raises(rek.exceptions.ResourceNotFoundException):
                rek.get_person_tracking(JobId="nope")
    assert status(e) == 500
    time.sleep(1.0)
    patient = server.boto3(retries={"mode": "standard", "max_attempts": 10})
    for _ in range(3):  # the SDK backs off and retries until the rate allows it
        with pytest.raises(patient.exceptions.ResourceNotFoundException):
            patient.get_person_tracking(JobId="nope")


def test_too_many_jobs_is_limit_exceeded(serve, clients):
    server = serve("--max-jobs", "1", settings=clients.gated())
    rek = server.boto3()
    job_id = rek.start_person_tracking(Video=VIDEO)["JobId"]
    page = rek.get_person_tracking(JobId=job_id)
    assert page["JobStatus"] == "IN_PROGRESS" and page["Persons"] == []
    with pytest.raises(rek.exceptions.LimitExceededException) as e:
        rek.start_person_tracking(Video=VIDEO, JobTag="second")
    assert status(e) == 400
    clients.open_gate()
    assert wait_done(rek, job_id)["JobStatus"] == "SUCCEEDED"


# -- SNS through moto's SNS→SQS on loopback ------------------------------------------------


@pytest.fixture(scope="module")
def moto_url():
    moto_server = pytest.importorskip("moto.server")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def test_sns_notification_arrives_through_sqs(serve, moto_url):
    aws = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    sns = boto3.client("sns", endpoint_url=moto_url, region_name="us-east-1", **aws)
    sqs = boto3.client("sqs", endpoint_url=moto_url, region_name="us-east-1", **aws)
    topic = sns.create_topic(Name=f"done-{time.time_ns()}")["TopicArn"]
    queue = sqs.create_queue(QueueName=f"done-{time.time_ns()}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    # the server's workers publish with their own AWS credentials, not the endpoint's keys
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    server = serve("--sns-endpoint-url", moto_url, env=env)
    rek = server.boto3()
    job_id = rek.start_person_tracking(
        Video=VIDEO,
        JobTag="shop-door",
        NotificationChannel={
            "SNSTopicArn": topic,
            "RoleArn": "arn:aws:iam::123456789012:role/RekognitionSNS",
        },
    )["JobId"]
    assert wait_done(rek, job_id)["JobStatus"] == "SUCCEEDED"
    messages: list = []
    deadline = time.monotonic() + 30
    while not messages and time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages", [])
    assert messages
    message = json.loads(json.loads(messages[0]["Body"])["Message"])
    assert message["JobId"] == job_id and message["Status"] == "SUCCEEDED"
    assert message["API"] == "StartPersonTracking" and message["JobTag"] == "shop-door"
    assert message["Video"] == {"S3ObjectName": "sample.mp4", "S3Bucket": "videos"}


# -- the AWS CLI ---------------------------------------------------------------------------


def aws_cli(server, *args, check=True):
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    env.pop("AWS_PROFILE", None)
    cmd = [sys.executable, "-m", "awscli", "rekognition", *args, "--endpoint-url", server.url]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    if check:
        assert out.returncode == 0, out.stderr
    return out


def test_aws_cli_starts_pages_and_prints_awss_errors(serve):
    pytest.importorskip("awscli")
    server = serve(settings={"rows": 25})
    video = "S3Object={Bucket=videos,Name=sample.mp4}"
    start = ["start-person-tracking", "--video", video, "--client-request-token", "cli-1"]
    job_id = json.loads(aws_cli(server, *start).stdout)["JobId"]
    assert json.loads(aws_cli(server, *start).stdout)["JobId"] == job_id
    wait_done(server.boto3(), job_id)
    get = ["get-person-tracking", "--job-id", job_id, "--sort-by", "INDEX"]
    first = json.loads(aws_cli(server, *get, "--max-results", "20").stdout)
    assert first["JobStatus"] == "SUCCEEDED" and len(first["Persons"]) == 20
    rest = json.loads(aws_cli(server, *get, "--next-token", first["NextToken"]).stdout)
    assert len(rest["Persons"]) == 5 and "NextToken" not in rest
    indexes = [p["Person"]["Index"] for p in first["Persons"] + rest["Persons"]]
    assert indexes == sorted(indexes)

    out = aws_cli(server, "get-person-tracking", "--job-id", "nope", check=False)
    assert out.returncode != 0
    assert (
        "An error occurred (ResourceNotFoundException) when calling the GetPersonTracking "
        "operation: job nope does not exist"
    ) in out.stderr
    bad = "S3Object={Bucket=videos,Name=missing.mp4}"
    out = aws_cli(server, "start-person-tracking", "--video", bad, check=False)
    assert "(InvalidS3ObjectException)" in out.stderr


# -- raw HTTP: authentication and the protocol's own errors --------------------------------


def sign(url, target, body, *, key_id=KEY_ID, secret=SECRET, service="rekognition"):
    """Headers botocore's own SigV4 signer puts on this request."""
    request = AWSRequest(
        method="POST",
        url=url + "/",
        data=body,
        headers={"X-Amz-Target": target, "Content-Type": CONTENT_TYPE},
    )
    SigV4Auth(Credentials(key_id, secret), service, REGION).add_auth(request)
    return dict(request.headers.items())


def post(url, headers, body, path="/", method="POST"):
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        return response.status, json.loads(data), response
    finally:
        conn.close()


START_BODY = json.dumps({"Video": VIDEO, "ClientRequestToken": "raw-1"}).encode()


@pytest.fixture
def too_old(monkeypatch):
    """Make botocore's signer sign as if 16 (or ``minutes``) minutes had passed."""

    def shift(minutes):
        moment = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        moment += datetime.timedelta(minutes=minutes)
        monkeypatch.setattr("botocore.auth.get_current_datetime", lambda: moment)

    return shift


def test_a_correctly_signed_raw_request_is_accepted_and_may_be_repeated(shared):
    server = shared
    headers = sign(server.url, START, START_BODY)
    code1, body1, response = post(server.url, headers, START_BODY)
    assert code1 == 200, body1
    assert response.getheader("Content-Type") == CONTENT_TYPE
    assert response.getheader("x-amzn-RequestId")
    # within the 15 minutes the same signed request is valid again (idempotent token)
    code2, body2, _ = post(server.url, headers, START_BODY)
    assert (code2, body2) == (200, body1)


def test_a_page_on_the_wire_is_the_clients_response(shared):
    from persontrack.jobs.client import client

    server = shared
    rek = server.boto3()
    job_id = rek.start_person_tracking(Video=VIDEO, ClientRequestToken="raw-page")["JobId"]
    assert wait_done(rek, job_id)["JobStatus"] == "SUCCEEDED"
    body = json.dumps({"JobId": job_id, "MaxResults": 20, "SortBy": "INDEX"}).encode()
    code, page, _ = post(server.url, sign(server.url, GET, body), body)
    assert code == 200, page
    c = client(data_dir=server.data_dir, bucket_root=server.bucket_root)
    try:
        want = c.get_person_tracking(JobId=job_id, MaxResults=20, SortBy="INDEX")
    finally:
        c.close()
    del want["ResponseMetadata"]
    # tokens carry the second they were issued: both present, not compared as text
    assert page.pop("NextToken") and want.pop("NextToken")
    assert page == want and len(page["Persons"]) == 20  # every member, not only boto3's


@pytest.mark.parametrize(
    ("case", "error", "message"),
    [
        ("unsigned", "MissingAuthenticationTokenException", "Missing Authentication Token"),
        ("wrong secret", "InvalidSignatureException", "does not match"),
        ("body changed after signing", "InvalidSignatureException", "does not match"),
        ("target changed after signing", "InvalidSignatureException", "does not match"),
        ("unknown key", "UnrecognizedClientException", "security token"),
        ("signed 16 minutes ago", "InvalidSignatureException", "Signature expired"),
        ("signed 16 minutes ahead", "InvalidSignatureException", "Signature not yet current"),
        ("signed for s3", "InvalidSignatureException", "rekognition"),
        ("not SigV4", "IncompleteSignatureException", "AWS4-HMAC-SHA256"),
    ],
)
def test_bad_authentication_is_403_and_starts_nothing(shared, too_old, case, error, message):
    server = shared
    before = job_count(server)
    body = json.dumps({"Video": VIDEO, "ClientRequestToken": "auth-1"}).encode()
    if case == "signed 16 minutes ago":
        too_old(-16)
    if case == "signed 16 minutes ahead":
        too_old(16)
    headers = sign(
        server.url,
        START,
        body,
        secret="wrong" if case == "wrong secret" else SECRET,
        key_id="AKIDUNKNOWN00000" if case == "unknown key" else KEY_ID,
        service="s3" if case == "signed for s3" else "rekognition",
    )
    if case == "unsigned":
        headers = {"X-Amz-Target": START, "Content-Type": CONTENT_TYPE}
    if case == "body changed after signing":
        body = body.replace(b"auth-1", b"auth-2")
    if case == "target changed after signing":
        headers["X-Amz-Target"] = GET
        body = json.dumps({"JobId": "a"}).encode()
    if case == "not SigV4":
        headers["Authorization"] = "AWS " + KEY_ID + ":c2lnbmF0dXJl"
    code_, payload, response = post(server.url, headers, body)
    assert code_ == 403, payload
    assert payload["__type"] == error
    assert message in payload["message"]
    assert response.getheader("x-amzn-ErrorType") == error
    assert job_count(server) == before


@pytest.mark.parametrize("unsigned", ["X-Amz-Target", "Content-Type"])
def test_a_target_or_content_type_left_unsigned_is_refused(shared, unsigned):
    """Signed with SignedHeaders=host;x-amz-date (+ the other header), then the unsigned
    header set: the target could have been swapped on the way from Get… to Start…."""
    server = shared
    before = job_count(server)
    headers = {"X-Amz-Target": START, "Content-Type": CONTENT_TYPE}
    request = AWSRequest(
        method="POST",
        url=server.url + "/",
        data=START_BODY,
        headers={k: v for k, v in headers.items() if k != unsigned},
    )
    SigV4Auth(Credentials(KEY_ID, SECRET), "rekognition", REGION).add_auth(request)
    sent = {**dict(request.headers.items()), unsigned: headers[unsigned]}
    assert unsigned.lower() not in sent["Authorization"]
    code_, payload, response = post(server.url, sent, START_BODY)
    assert code_ == 403, payload
    assert payload["__type"] == "IncompleteSignatureException"
    assert f"'{unsigned.lower()}' must be a 'SignedHeader'" in payload["message"]
    assert job_count(server) == before


def test_a_request_signed_14_minutes_ago_still_passes(shared, too_old):
    server = shared
    too_old(-14)
    body = json.dumps({"JobId": "0" * 64}).encode()
    status_, payload, _ = post(server.url, sign(server.url, GET, body), body)
    assert status_ == 400 and payload["__type"] == "ResourceNotFoundException", payload
    too_old(14)
    status_, body, _ = post(server.url, sign(server.url, START, START_BODY), START_BODY)
    assert status_ == 200, body


@pytest.mark.parametrize(
    ("target", "body", "error"),
    [
        ("RekognitionService.DetectLabels", b"{}", "UnknownOperationException"),
        ("SomethingElse.GetPersonTracking", b"{}", "UnknownOperationException"),
        ("", b"{}", "UnknownOperationException"),
        (GET, b"{not json", "SerializationException"),
        (GET, b"[1, 2]", "SerializationException"),
        (GET, b"\xff\xfe", "SerializationException"),
        # nested past json's recursion limit: bad input, not a 500 that SDKs retry
        (GET, b'{"JobId":' + b"[" * 30000 + b"]" * 30000 + b"}", "SerializationException"),
        (START, b'{"Video":' + b'{"a":' * 17 + b"1" + b"}" * 18, "SerializationException"),
    ],
)
def test_protocol_errors_are_awss_codes(shared, target, body, error):
    server = shared
    status_, payload, _ = post(server.url, sign(server.url, target, body), body)
    assert status_ == 400 and payload["__type"] == error, payload


def test_body_size_limit_health_and_unknown_paths(shared):
    server = shared
    big = json.dumps({"JobId": "a", "NextToken": "x" * 70_000}).encode()
    status_, payload, _ = post(server.url, sign(server.url, GET, big), big)
    assert status_ == 413 and payload["__type"] == "RequestEntityTooLargeException"
    status_, payload, _ = post(server.url, {}, None, path="/health", method="GET")
    assert status_ == 200 and payload["status"] == "ok"
    status_, payload, _ = post(server.url, {}, None, path="/nowhere", method="GET")
    assert status_ == 404 and payload["__type"] == "UnknownOperationException"


def workers_of(server) -> list[int]:
    """Pids of the server's worker processes (it has started no job runner)."""
    import psutil

    return sorted(p.pid for p in psutil.Process(server.proc.pid).children())


def test_workers_share_the_port_a_dead_one_is_replaced_and_all_stop_cleanly(serve):
    import psutil

    server = serve("--workers", "2")
    rek = server.boto3()
    first = workers_of(server)
    assert len(first) == 2
    for _ in range(20):  # each on a new connection, answered by a worker
        status_, payload, _ = post(server.url, {}, None, path="/health", method="GET")
        assert status_ == 200 and payload["pid"] in first
        with pytest.raises(rek.exceptions.ResourceNotFoundException):
            rek.get_person_tracking(JobId="nope")
    os.kill(first[0], signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(set(workers_of(server)) - {first[0]}) < 2:
        with pytest.raises(rek.exceptions.ResourceNotFoundException):  # still answered
            rek.get_person_tracking(JobId="nope")
        time.sleep(0.2)
    now = workers_of(server)
    assert len(now) == 2 and first[0] not in now and first[1] in now
    returncode, err = server.stop()
    assert returncode == 0 and "persontrack serve: stopped" in err, err
    assert "worker 0 ended" in err and "Traceback" not in err
    assert not any(psutil.pid_exists(p) for p in now)


def test_a_rate_limit_is_kept_by_one_process(serve):
    with pytest.raises(RuntimeError, match="workers=1"):
        serve("--workers", "2", "--max-requests-per-second", "5")
    with pytest.raises(RuntimeError, match="workers must be an integer >= 1"):
        serve("--workers", "0")
    server = serve("--max-requests-per-second", "5")  # the default is then one process
    assert workers_of(server) == []


def test_concurrency_limit_and_slow_body_timeout(serve):
    server = serve("--max-concurrent-requests", "1", "--body-timeout", "1.5")
    parts = urlsplit(server.url)
    slow = socket.create_connection((parts.hostname, parts.port), timeout=30)
    try:
        slow.sendall(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.1\r\n"
            b'Content-Length: 100\r\n\r\n{"JobId"'
        )
        time.sleep(0.5)  # the slow request now holds the only slot
        rek = server.boto3()
        with pytest.raises(rek.exceptions.ThrottlingException) as e:
            rek.get_person_tracking(JobId="a")
        assert status(e) == 500
        answer = slow.recv(4096).decode()
        assert answer.startswith("HTTP/1.1 408") and "RequestTimeoutException" in answer
    finally:
        slow.close()
    with pytest.raises(rek.exceptions.ResourceNotFoundException):  # the slot is free again
        rek.get_person_tracking(JobId="a")


def test_idle_and_half_sent_connections_are_closed_and_requests_still_served(serve):
    """600 connections held open (half with a request head never finished): a signed
    request is still answered, and the server closes them all after the idle timeout."""
    import selectors

    server = serve("--workers", "1")  # default idle timeout (5 s) and connections (2048)
    parts = urlsplit(server.url)
    rek = server.boto3()
    held = []
    try:
        opened = time.monotonic()
        for k in range(600):
            s = socket.create_connection((parts.hostname, parts.port), timeout=10)
            if k % 2:
                s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: appl")
            held.append(s)
        with pytest.raises(rek.exceptions.ResourceNotFoundException):  # served, not a 503
            rek.get_person_tracking(JobId="0" * 64)
        status_, payload, _ = post(server.url, {}, None, path="/health", method="GET")
        assert status_ == 200 and payload["status"] == "ok"
        assert time.monotonic() - opened < 5, "the check ran while they were all still open"
        sel = selectors.DefaultSelector()
        for s in held:
            sel.register(s, selectors.EVENT_READ)
        closed, deadline = 0, time.monotonic() + 20
        while closed < len(held) and time.monotonic() < deadline:
            for key, _ in sel.select(timeout=0.5):
                try:
                    data = key.fileobj.recv(4096)
                except ConnectionError:
                    data = b""
                assert data == b"", data  # closed without an answer
                sel.unregister(key.fileobj)
                closed += 1
        sel.close()
        assert closed == len(held), f"{closed} of {len(held)} closed"
        assert time.monotonic() - opened > 4, "closed before the idle timeout"
    finally:
        for s in held:
            s.close()
    with pytest.raises(rek.exceptions.ResourceNotFoundException):
        rek.get_person_tracking(JobId="0" * 64)


# -- lifecycle and keys --------------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_shutdown_is_clean_and_jobs_in_flight_finish(serve, clients, sig):
    server = serve(settings=clients.gated(rows=30))
    rek = server.boto3()
    job_id = rek.start_person_tracking(Video=VIDEO)["JobId"]
    assert rek.get_person_tracking(JobId=job_id)["JobStatus"] == "IN_PROGRESS"
    returncode, err = server.stop(sig)
    assert returncode == 0, err
    assert "persontrack serve: stopped" in err and "Traceback" not in err
    clients.open_gate()  # the job's worker outlived the server
    assert clients().wait(job_id, timeout=60)["JobStatus"] == "SUCCEEDED"
    again = serve(settings=clients.gated(rows=30)).boto3()
    pages = all_pages(again, job_id)
    assert pages[0]["JobStatus"] == "SUCCEEDED" and len(pages[0]["Persons"]) == 30


def gone(pid: int, timeout: float) -> bool:
    """Whether process ``pid`` has ended and been reaped (a zombie still exists) in time."""
    import psutil

    deadline = time.monotonic() + timeout
    while psutil.pid_exists(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not psutil.pid_exists(pid)


def test_job_runners_are_reaped_as_they_end_not_at_the_next_job_check(serve, clients):
    import psutil

    server = serve("--workers", "1", settings=clients.gated(rows=30))
    rek = server.boto3()
    job = rek.start_person_tracking(Video=VIDEO)["JobId"]
    wait_state(clients(), job, {"RUNNING"})  # claimed: a runner killed now fails the job
    (runner,) = psutil.Process(server.proc.pid).children()
    runner.send_signal(signal.SIGTERM)  # a runner stopped from outside, mid-job
    assert gone(runner.pid, 10), f"runner {runner.pid} is {runner.status()} (not reaped)"
    failed = wait_done(rek, job)
    assert failed["JobStatus"] == "FAILED" and "died" in failed["StatusMessage"]
    clients.open_gate()
    again = rek.start_person_tracking(Video=VIDEO)["JobId"]
    assert wait_done(rek, again)["JobStatus"] == "SUCCEEDED"
    for child in psutil.Process(server.proc.pid).children():  # it ends with nothing to do
        assert gone(child.pid, 30), f"runner {child.pid} is {child.status()} (not reaped)"
    returncode, err = server.stop()
    assert returncode == 0 and "Traceback" not in err, err


def test_keys_are_generated_once_private_and_usable_by_profile(serve, clients, monkeypatch):
    first = serve(keys=False)
    returncode, err = first.stop()
    path = clients.data_dir / "credentials"
    assert returncode == 0 and str(path) in err and "generated key" in err
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    text = path.read_text()
    server = serve(keys=False)
    assert path.read_text() == text  # kept, not regenerated
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(path))
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    session = boto3.Session(profile_name="persontrack")
    rek = session.client("rekognition", endpoint_url=server.url, region_name=REGION)
    with pytest.raises(rek.exceptions.ResourceNotFoundException):
        rek.get_person_tracking(JobId="nope")
    with pytest.raises(rek.exceptions.ClientError) as e:
        server.boto3().get_person_tracking(JobId="nope")  # the env key is not configured here
    assert code(e) == "UnrecognizedClientException" and status(e) == 403


def test_a_credentials_file_gives_several_keys_and_must_be_private(serve, tmp_path):
    file = tmp_path / "keys.ini"
    file.write_text(
        "[alice]\naws_access_key_id = AKIDALICE0000001\naws_secret_access_key = a-secret\n"
        "[bob]\naws_access_key_id = AKIDBOB000000002\naws_secret_access_key = b-secret\n"
    )
    file.chmod(0o644)
    with pytest.raises(RuntimeError, match="chmod 600"):
        serve("--credentials", str(file), keys=False)
    file.chmod(0o600)
    server = serve("--credentials", str(file), keys=False)
    for key_id, secret in (("AKIDALICE0000001", "a-secret"), ("AKIDBOB000000002", "b-secret")):
        rek = server.boto3(key_id=key_id, secret=secret)
        with pytest.raises(rek.exceptions.ResourceNotFoundException):
            rek.get_person_tracking(JobId="nope")
    with pytest.raises(rek.exceptions.ClientError) as e:
        server.boto3(key_id="AKIDALICE0000001", secret="b-secret").get_person_tracking(JobId="x")
    assert code(e) == "InvalidSignatureException" and status(e) == 403


def test_a_request_over_its_time_is_a_500_and_a_retry_with_its_token_gets_the_job(serve, clients):
    import sqlite3

    server = serve("--request-timeout", "1")
    rek = server.boto3()
    blocker = sqlite3.connect(clients.data_dir / "jobs.sqlite3", isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # the start waits for the store's write lock
    try:
        t0 = time.monotonic()
        with pytest.raises(rek.exceptions.InternalServerError) as e:
            rek.start_person_tracking(Video=VIDEO, ClientRequestToken="slow-1")
        assert status(e) == 500 and time.monotonic() - t0 < 5
        assert "ClientRequestToken" in e.value.response["Error"]["Message"]
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    deadline = time.monotonic() + 30
    while not clients().store.list_jobs() and time.monotonic() < deadline:
        time.sleep(0.1)  # the first start completes in its thread once the lock is free
    job_id = rek.start_person_tracking(Video=VIDEO, ClientRequestToken="slow-1")["JobId"]
    assert [j["job_id"] for j in clients().store.list_jobs()] == [job_id]


def test_a_request_in_progress_at_sigterm_is_answered_before_the_server_exits(serve, clients):
    import sqlite3
    import threading

    server = serve()
    rek = server.boto3()
    blocker = sqlite3.connect(clients.data_dir / "jobs.sqlite3", isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # holds the start inside the server
    answers: list = []
    caller = threading.Thread(
        target=lambda: answers.append(rek.start_person_tracking(Video=VIDEO)["JobId"])
    )
    caller.start()
    time.sleep(1.0)
    server.proc.send_signal(signal.SIGTERM)
    time.sleep(1.0)
    assert server.proc.poll() is None  # still draining the request in progress
    blocker.execute("ROLLBACK")
    blocker.close()
    caller.join(timeout=30)
    returncode, err = server.stop()
    assert returncode == 0, err
    assert len(answers) == 1
    assert [j["job_id"] for j in clients().store.list_jobs()] == answers
