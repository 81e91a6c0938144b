"""Property-based fuzzing of ``persontrack serve`` over HTTP: request bodies, NextTokens and
authentication headers, against one real server process on 127.0.0.1.

Whatever arrives, the answer is 200 or an AWS-shaped error (``__type`` a Rekognition or
protocol error code, the matching ``x-amzn-ErrorType`` header), never a 500, never a hang
(every request has a 30 s socket timeout), and the server and its store stay healthy.
"""

from __future__ import annotations

import json
import sqlite3
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jobs_support import VIDEO, make_buckets
from serve_support import KEY_ID, start_server, wait_done
from test_server import GET, START, post, sign

from persontrack.errors import ERRORS

PROTOCOL_ERRORS = {
    "UnknownOperationException",
    "SerializationException",
    "RequestEntityTooLargeException",
}
AUTH_ERRORS = {
    "MissingAuthenticationTokenException",
    "InvalidSignatureException",
    "IncompleteSignatureException",
    "UnrecognizedClientException",
}
ANSWERS = (set(ERRORS) - {"InternalServerError"}) | PROTOCOL_ERRORS

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def server(tmp_path_factory, sample_video):
    base = tmp_path_factory.mktemp("hostile-http")
    buckets = make_buckets(base / "buckets", sample_video)
    srv = start_server(base / "data", buckets, settings={"rows": 30})
    rek = srv.boto3()
    job = rek.start_person_tracking(Video=VIDEO, ClientRequestToken="fuzz-job")["JobId"]
    wait_done(rek, job)
    srv.job_id = job
    srv.token = rek.get_person_tracking(JobId=job, MaxResults=10)["NextToken"]
    yield srv
    returncode, err = srv.stop()
    assert returncode == 0, err
    with sqlite3.connect(base / "data" / "jobs.sqlite3") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def call(server, target, body: bytes, headers=None):
    status, payload, response = post(server.url, headers or sign(server.url, target, body), body)
    if status != 200:
        assert payload["__type"] == response.getheader("x-amzn-ErrorType"), payload
        assert payload.get("message") or payload.get("Message"), payload
    return status, payload


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(["videos", "sample.mp4", "INDEX", "TIMESTAMP", "../x", "a" * 64, "x" * 300]),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.one_of(
                st.sampled_from(
                    [
                        "Video",
                        "S3Object",
                        "Bucket",
                        "Name",
                        "Version",
                        "JobId",
                        "MaxResults",
                        "NextToken",
                        "SortBy",
                        "JobTag",
                        "ClientRequestToken",
                        "NotificationChannel",
                        "SNSTopicArn",
                        "RoleArn",
                    ]
                ),
                st.text(max_size=8),
            ),
            inner,
            max_size=4,
        ),
    ),
    max_leaves=10,
)


@FUZZ
@given(target=st.sampled_from([START, GET]), body=json_values)
def test_fuzzed_json_bodies_get_a_named_answer(server, target, body):
    status, payload = call(server, target, json.dumps(body).encode())
    assert status in (200, 400), payload
    if status == 400:
        assert payload["__type"] in ANSWERS, payload


@FUZZ
@given(target=st.sampled_from([START, GET]), body=st.binary(max_size=200))
def test_fuzzed_raw_bodies_get_a_named_answer(server, target, body):
    status, payload = call(server, target, body)
    assert status in (200, 400), payload
    if status == 400:
        assert payload["__type"] in ANSWERS, payload


@FUZZ
@given(
    position=st.integers(min_value=0, max_value=63),
    insert=st.text(max_size=5),
    cut=st.integers(min_value=0, max_value=3),
)
def test_fuzzed_next_tokens_over_http(server, position, insert, cut):
    token = server.token[:position] + insert + server.token[position + cut :]
    body = json.dumps({"JobId": server.job_id, "NextToken": token}).encode()
    status, payload = call(server, GET, body)
    if token == server.token:
        assert status == 200 and len(payload["Persons"]) == 20
    else:
        assert status == 400, payload
        assert payload["__type"] in {
            "InvalidPaginationTokenException",
            "InvalidParameterException",  # the model's length limit on NextToken
        }, payload


@FUZZ
@given(
    authorization=st.one_of(
        st.text(alphabet=string.printable.strip() + " ", max_size=120),
        st.builds(
            "AWS4-HMAC-SHA256 Credential={}/20260101/eu-central-1/rekognition/aws4_request, "
            "SignedHeaders={}, Signature={}".format,
            st.sampled_from([KEY_ID, "", "AKID/X"]),
            st.text(alphabet=string.ascii_lowercase + ";-", max_size=30),
            st.text(alphabet="0123456789abcdef", max_size=64),
        ),
    )
)
def test_fuzzed_authorization_headers_are_403(server, authorization):
    body = json.dumps({"Video": VIDEO, "ClientRequestToken": "never-started"}).encode()
    headers = sign(server.url, START, body)
    headers["Authorization"] = authorization
    try:
        status, payload = call(server, START, body, headers)
    except ValueError:  # http.client refuses header values with control characters
        return
    assert status == 403, payload
    assert payload["__type"] in AUTH_ERRORS, payload


def test_the_server_survived_the_fuzzing(server):
    status, payload, _ = post(server.url, {}, None, path="/health", method="GET")
    assert status == 200 and payload["status"] == "ok"
    rek = server.boto3()
    with pytest.raises(rek.exceptions.ResourceNotFoundException):
        rek.get_person_tracking(JobId="0" * 64)
    # nothing the fuzzers sent with the never-started token made a job
    with pytest.raises(rek.exceptions.IdempotentParameterMismatchException):
        rek.start_person_tracking(Video=VIDEO, ClientRequestToken="fuzz-job", JobTag="other")
