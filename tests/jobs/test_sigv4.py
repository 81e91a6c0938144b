"""SigV4 verification against botocore's signer: signed requests pass, any change fails."""

from __future__ import annotations

import datetime
import time
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import given, settings
from hypothesis import strategies as st

from persontrack.jobs._sigv4 import AuthError, SignedRequest, verify

KEYS = {"AKIDEXAMPLE": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "AKIDOTHER": "other"}


def botocore_signed(url, body, headers=None, *, key="AKIDEXAMPLE", service="rekognition"):
    request = AWSRequest(method="POST", url=url, data=body, headers=dict(headers or {}))
    SigV4Auth(Credentials(key, KEYS.get(key, "nope")), service, "ap-south-1").add_auth(request)
    parts = urlsplit(url)
    sent = [(k.lower(), v) for k, v in request.headers.items()]
    if not any(k == "host" for k, _ in sent):
        sent.append(("host", parts.netloc))  # what the HTTP client adds
    return SignedRequest("POST", parts.path or "/", parts.query, sent, body)


def verify_now(request, **kw):
    return verify(request, KEYS, service="rekognition", **kw)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/",
        "http://localhost/",
        "http://127.0.0.1:9/a%20b/c~d/./e/../f",
        "http://127.0.0.1:9/?b=2&a=1&a=0&empty=&sp=x%20y&tilde=~&star=%2A",
    ],
)
def test_botocore_signatures_verify(url):
    headers = {
        "X-Amz-Target": "RekognitionService.GetPersonTracking",
        "Content-Type": "application/x-amz-json-1.1",
        "X-Custom": "  several   spaces  inside ",
    }
    request = botocore_signed(url, b'{"JobId": "a"}', headers)
    assert verify_now(request) == "AKIDEXAMPLE"


@given(body=st.binary(max_size=300), target=st.text(max_size=40))
@settings(max_examples=40, deadline=None)
def test_any_body_and_header_value_verify_and_any_change_fails(body, target):
    request = botocore_signed("http://127.0.0.1:1/", body, {"X-Amz-Target": target})
    assert verify_now(request) == "AKIDEXAMPLE"
    changed = SignedRequest(
        request.method, request.path, request.query, request.headers, body + b" "
    )
    with pytest.raises(AuthError) as e:
        verify_now(changed)
    assert e.value.code == "InvalidSignatureException"


def test_unsigned_headers_may_change_signed_ones_may_not():
    request = botocore_signed("http://127.0.0.1:1/", b"{}", {"X-Amz-Target": "A"})
    extra = [*request.headers, ("user-agent", "anything"), ("accept-encoding", "identity")]
    assert verify_now(SignedRequest("POST", "/", "", extra, b"{}")) == "AKIDEXAMPLE"
    swapped = [(k, "B" if k == "x-amz-target" else v) for k, v in request.headers]
    with pytest.raises(AuthError, match="does not match"):
        verify_now(SignedRequest("POST", "/", "", swapped, b"{}"))
    with pytest.raises(AuthError, match="does not match"):
        verify_now(SignedRequest("POST", "/other", "", request.headers, b"{}"))


def test_scope_key_and_time_errors_have_awss_codes():
    request = botocore_signed("http://127.0.0.1:1/", b"{}", key="AKIDUNKNOWN")
    with pytest.raises(AuthError) as e:
        verify_now(request)
    assert e.value.code == "UnrecognizedClientException"
    request = botocore_signed("http://127.0.0.1:1/", b"{}", service="s3")
    with pytest.raises(AuthError, match="correct service: 'rekognition'"):
        verify_now(request)
    request = botocore_signed("http://127.0.0.1:1/", b"{}")
    assert verify_now(request, now=time.time() + 14 * 60) == "AKIDEXAMPLE"
    with pytest.raises(AuthError, match="^Signature expired: .* - 15 min") as e:
        verify_now(request, now=time.time() + 16 * 60)
    assert e.value.code == "InvalidSignatureException"
    with pytest.raises(AuthError, match="^Signature not yet current"):
        verify_now(request, now=time.time() - 16 * 60)
    with pytest.raises(AuthError) as e:
        verify_now(SignedRequest("POST", "/", "", [("host", "x")], b""))
    assert e.value.code == "MissingAuthenticationTokenException"


@pytest.mark.parametrize(
    "authorization",
    [
        "AWS AKIDEXAMPLE:sig",
        "AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date, Signature=00",
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101, SignedHeaders=host, Signature=00",
    ],
)
def test_malformed_authorization_is_incomplete_signature(authorization):
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    headers = [("host", "x"), ("x-amz-date", stamp), ("authorization", authorization)]
    with pytest.raises(AuthError) as e:
        verify_now(SignedRequest("POST", "/", "", headers, b""))
    assert e.value.code == "IncompleteSignatureException"


def test_host_and_date_must_be_signed():
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    scope = f"AKIDEXAMPLE/{stamp[:8]}/us-east-1/rekognition/aws4_request"
    for signed, missing in (("x-amz-date", "Host"), ("host", "x-amz-date")):
        auth = f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders={signed}, Signature=00"
        headers = [("host", "x"), ("x-amz-date", stamp), ("authorization", auth)]
        with pytest.raises(AuthError, match=f"'{missing}' must be a"):
            verify_now(SignedRequest("POST", "/", "", headers, b""))


def test_headers_that_must_be_signed_are_refused_unsigned():
    signed = botocore_signed("http://127.0.0.1:1/", b"{}", {"X-Amz-Target": "A"})
    must = ("content-type", "x-amz-target")
    assert verify_now(signed, must_sign=must) == "AKIDEXAMPLE"  # absent content-type: fine
    bare = botocore_signed("http://127.0.0.1:1/", b"{}")
    added = SignedRequest("POST", "/", "", [*bare.headers, ("x-amz-target", "B")], b"{}")
    assert verify_now(added) == "AKIDEXAMPLE"  # what a server without must_sign accepted
    with pytest.raises(AuthError, match="'x-amz-target' must be a 'SignedHeader'") as e:
        verify_now(added, must_sign=must)
    assert e.value.code == "IncompleteSignatureException"
