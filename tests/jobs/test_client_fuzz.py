"""Fuzzed requests: whatever a caller sends, the answer is a response or a named error."""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jobs_support import Clients, make_buckets

from persontrack.errors import PersonTrackError


@pytest.fixture(scope="module")
def fuzz_client(tmp_path_factory, sample_video):
    root = tmp_path_factory.mktemp("fuzz")
    made = Clients(root / "data", make_buckets(root / "buckets", sample_video), root / "gate")
    (made.bucket_root / "videos" / "sub").mkdir()
    # jobs stay queued behind one held worker; the 21st is LimitExceededException
    c = made(settings=made.gated(), max_workers=1)
    yield c
    made.shutdown()


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True),
    st.text(max_size=40),
    st.text(alphabet=string.ascii_letters + string.digits + "-_.:/+=", min_size=1, max_size=80),
    st.just("x" * 65),
    st.just("x" * 1025),
    st.binary(max_size=8),
)
anything = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=8,
)
names = st.one_of(
    st.sampled_from(
        ["sample.mp4", "missing.mp4", "sub", "../sample.mp4", "/etc/passwd", "a\x00b", "x" * 1024]
    ),
    st.text(max_size=60),
)
buckets = st.one_of(st.sampled_from(["videos", "nobucket", "..", "a/b"]), st.text(max_size=20))
token_text = st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=1, max_size=64)
tag_text = st.text(
    alphabet=string.ascii_letters + string.digits + "_.-:+=/", min_size=1, max_size=64
)
# mostly well-formed requests with one or two fields off, so every check is reached
s3_objects = st.fixed_dictionaries(
    {
        "Bucket": st.one_of(st.just("videos"), st.just("videos"), buckets, anything),
        "Name": st.one_of(st.just("sample.mp4"), st.just("sample.mp4"), names, anything),
    },
    optional={"Version": st.one_of(st.text(max_size=10), anything), "Other": anything},
)
videos = st.one_of(
    st.fixed_dictionaries({"S3Object": s3_objects}),
    st.fixed_dictionaries({"S3Object": s3_objects}),
    anything,
)
channels = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "SNSTopicArn": st.one_of(
                st.just("arn:aws:sns:us-east-1:123456789012:t"), st.text(max_size=40)
            ),
            "RoleArn": st.one_of(st.just("arn:aws:iam::123456789012:role/r"), st.text(max_size=40)),
        },
    ),
    st.just("http://127.0.0.1:9/hook"),
    st.builds("http://{}".format, st.text(max_size=20)),
    anything,
)
start_requests = st.fixed_dictionaries(
    {"Video": videos},
    optional={
        "ClientRequestToken": st.one_of(token_text, token_text, st.text(max_size=70), anything),
        "JobTag": st.one_of(tag_text, tag_text, st.text(max_size=30), anything),
        "NotificationChannel": channels,
        "Bogus": anything,
    },
)
get_requests = st.fixed_dictionaries(
    {},
    optional={
        "JobId": st.one_of(token_text, st.text(max_size=70), anything),
        "MaxResults": st.one_of(st.integers(min_value=-5, max_value=5000), anything),
        "NextToken": st.one_of(st.text(max_size=300), anything),
        "SortBy": st.one_of(st.sampled_from(["INDEX", "TIMESTAMP", "index"]), anything),
        "Bogus": anything,
    },
)

FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(request=start_requests)
def test_start_answers_or_raises_a_named_error(fuzz_client, request):
    try:
        response = fuzz_client.start_person_tracking(**request)
    except PersonTrackError as exc:
        assert exc.response["Error"]["Code"] == type(exc).__name__
        assert exc.message
    else:
        assert len(response["JobId"]) == 64


@FUZZ
@given(request=get_requests)
def test_get_answers_or_raises_a_named_error(fuzz_client, request):
    try:
        response = fuzz_client.get_person_tracking(**request)
    except PersonTrackError as exc:
        assert exc.response["Error"]["Code"] == type(exc).__name__
    else:
        assert response["JobStatus"] in ("IN_PROGRESS", "SUCCEEDED", "FAILED")
