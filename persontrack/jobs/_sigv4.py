"""AWS Signature Version 4 verification for the requests ``persontrack serve`` receives.

Implemented from AWS's published specification ("Create a signed AWS API request"): the
server rebuilds the canonical request from what arrived (method, path, query, the headers
the client listed in ``SignedHeaders``, and the SHA-256 of the body it actually read),
derives the signing key from the secret of the access key named in the credential scope,
and compares signatures in constant time (:func:`hmac.compare_digest`). A request is
accepted only if its ``X-Amz-Date`` (or ``Date``) is within :data:`MAX_CLOCK_SKEW` of
the server's clock, its credential scope names the service and ``aws4_request``, and the
``host`` header and every header of ``must_sign`` that the request carries are signed
(``persontrack serve``: ``X-Amz-Target``, which names the operation, and ``Content-Type``).

Failures raise :class:`AuthError` carrying the error code AWS's JSON services use:
``MissingAuthenticationTokenException``, ``IncompleteSignatureException``,
``UnrecognizedClientException`` (unknown access key) or ``InvalidSignatureException``
(wrong signature, wrong scope, ``Signature expired``/``Signature not yet current``).

Not supported: query-string (presigned URL) authentication, ``Authorization`` headers of
other algorithms (SigV4a, SigV2), session-token validation (``X-Amz-Security-Token`` is
only checked as a signed header; there are no temporary credentials to check it against).

Examples
--------
AWS's documented example (IAM ``ListUsers``, secret ``wJalr…EXAMPLEKEY``):

>>> req = SignedRequest(
...     method="GET",
...     path="/",
...     query="Action=ListUsers&Version=2010-05-08",
...     headers=[
...         ("content-type", "application/x-www-form-urlencoded; charset=utf-8"),
...         ("host", "iam.amazonaws.com"),
...         ("x-amz-date", "20150830T123600Z"),
...     ],
...     body=b"",
... )
>>> secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
>>> sig = signature(req, secret, ["content-type", "host", "x-amz-date"],
...                 "20150830T123600Z", "20150830/us-east-1/iam/aws4_request")
>>> sig[:16]
'5d672d79c15b1316'
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.utils import parsedate_tz
from urllib.parse import quote, unquote

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_CLOCK_SKEW = 15 * 60
"""Seconds a request's signing time may differ from the server's clock (AWS: 15 minutes)."""

_EXPIRED_HINT = "{signed} is now earlier than {limit} ({now} - 15 min.)"
_FUTURE_HINT = "{signed} is still later than {limit} ({now} + 15 min.)"
MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service "
    "documentation for details."
)


class AuthError(Exception):
    """A request that failed authentication; ``code`` is AWS's error name."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class SignedRequest:
    """What the signature covers, as received.

    Parameters
    ----------
    method : str
        HTTP method.
    path : str
        The request path as sent (still percent-encoded).
    query : str
        The raw query string (without ``?``).
    headers : sequence of (str, str)
        Header names in lower case with their values, repeated names allowed.
    body : bytes
        The whole request body.
    """

    method: str
    path: str
    query: str
    headers: Sequence[tuple[str, str]]
    body: bytes


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """The key derived from ``secret`` for one day, region and service."""
    key = _hmac(("AWS4" + secret).encode("utf-8"), date)
    key = _hmac(key, region)
    key = _hmac(key, service)
    return _hmac(key, "aws4_request")


def _canonical_path(path: str) -> str:
    # Remove dot segments and empty segments, then URI-encode once more: the path
    # arrives encoded, and services other than S3 sign it encoded twice.
    segments: list[str] = []
    for part in (path or "/").split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if segments:
                segments.pop()
            continue
        segments.append(part)
    text = "/" + "/".join(segments)
    if path.endswith("/") and segments:
        text += "/"
    return quote(text, safe="/~")


def _canonical_query(query: str) -> str:
    pairs = []
    for item in query.split("&") if query else []:
        key, _, value = item.partition("=")
        pairs.append(
            (quote(unquote(key), safe="-_.~"), quote(unquote(value.replace("+", " ")), safe="-_.~"))
        )
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def canonical_request(request: SignedRequest, signed_headers: Sequence[str]) -> str:
    """The canonical request of the specification, over ``signed_headers`` (lower case)."""
    values: dict[str, list[str]] = {}
    for name, value in request.headers:
        values.setdefault(name.lower(), []).append(" ".join(value.split()))
    header_lines = "".join(f"{h}:{','.join(values.get(h, []))}\n" for h in signed_headers)
    return "\n".join(
        [
            request.method.upper(),
            _canonical_path(request.path),
            _canonical_query(request.query),
            header_lines,
            ";".join(signed_headers),
            hashlib.sha256(request.body).hexdigest(),
        ]
    )


def signature(
    request: SignedRequest,
    secret: str,
    signed_headers: Sequence[str],
    amz_date: str,
    scope: str,
) -> str:
    """The hex signature of ``request`` for ``secret`` at ``amz_date`` in ``scope``."""
    date, region, service, _ = scope.split("/")
    digest = hashlib.sha256(canonical_request(request, signed_headers).encode("utf-8"))
    string_to_sign = "\n".join([ALGORITHM, amz_date, scope, digest.hexdigest()])
    key = signing_key(secret, date, region, service)
    return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def _parse_authorization(value: str) -> dict[str, str]:
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise AuthError(
            "IncompleteSignatureException",
            f"Unsupported signing algorithm {algorithm[:40]!r}: only {ALGORITHM} (Signature "
            "Version 4) is accepted.",
        )
    fields: dict[str, str] = {}
    for part in rest.split(","):
        key, sep, item = part.strip().partition("=")
        if sep:
            fields[key] = item
    missing = [k for k in ("Credential", "SignedHeaders", "Signature") if not fields.get(k)]
    if missing:
        raise AuthError(
            "IncompleteSignatureException",
            " ".join(f"Authorization header requires '{k}' parameter." for k in missing)
            + f" Authorization={value[:200]}",
        )
    return fields


def _iso(seconds: float) -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(seconds))


def _request_time(headers: Mapping[str, str]) -> tuple[str, float]:
    """(the signing time as sent, as seconds since the epoch) from X-Amz-Date or Date."""
    if "x-amz-date" in headers:
        text = headers["x-amz-date"]
        try:
            return text, float(calendar.timegm(time.strptime(text, "%Y%m%dT%H%M%SZ")))
        except ValueError:
            raise AuthError(
                "IncompleteSignatureException",
                f"X-Amz-Date must be in the ISO8601 basic format (YYYYMMDD'T'HHMMSS'Z'), "
                f"got {text[:40]!r}.",
            ) from None
    if "date" in headers:
        parsed = parsedate_tz(headers["date"])
        if parsed is not None:
            seconds = calendar.timegm(parsed[:9]) - (parsed[9] or 0)
            return _iso(seconds), float(seconds)
    raise AuthError(
        "IncompleteSignatureException",
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
    )


def verify(
    request: SignedRequest,
    secrets: Mapping[str, str],
    *,
    service: str,
    now: float | None = None,
    max_skew: float = MAX_CLOCK_SKEW,
    must_sign: Sequence[str] = (),
) -> str:
    """Check ``request``'s Signature Version 4; return the access key id that signed it.

    Parameters
    ----------
    request : SignedRequest
        The request as received.
    secrets : mapping of str to str
        Secret access key by access key id: the keys this server accepts.
    service : str
        The service name the credential scope must carry (``"rekognition"``).
    now : float, optional
        The server's time (seconds since the epoch; default: now).
    max_skew : float, default MAX_CLOCK_SKEW
        Seconds the signing time may be off.
    must_sign : sequence of str, default ()
        Header names (lower case) that must be among ``SignedHeaders`` when the request
        carries them: a header left unsigned could be changed on the way, so a request
        that does not sign one is refused with ``IncompleteSignatureException``.

    Raises
    ------
    AuthError
        With AWS's code and message for the first problem found.
    """
    headers: dict[str, str] = {}
    for name, value in request.headers:
        headers.setdefault(name.lower(), value)
    authorization = headers.get("authorization")
    if not authorization:
        raise AuthError("MissingAuthenticationTokenException", "Missing Authentication Token")
    fields = _parse_authorization(authorization)
    scope_parts = fields["Credential"].split("/")
    if len(scope_parts) != 5 or not all(scope_parts):
        raise AuthError(
            "IncompleteSignatureException",
            "Credential must have exactly 5 slash-delimited elements, e.g. "
            f"keyid/date/region/service/aws4_request, got '{fields['Credential'][:200]}'.",
        )
    key_id, date, region, scope_service, terminator = scope_parts
    secret = secrets.get(key_id)
    if secret is None:
        raise AuthError(
            "UnrecognizedClientException", "The security token included in the request is invalid."
        )
    signed_headers = fields["SignedHeaders"].split(";")
    if signed_headers != sorted(set(signed_headers)) or any(
        h != h.lower() or not h for h in signed_headers
    ):
        raise AuthError(
            "InvalidSignatureException",
            "SignedHeaders must be lower-case header names, sorted and separated by ';'.",
        )
    if "host" not in signed_headers:
        raise AuthError("InvalidSignatureException", "'Host' must be a 'SignedHeader'.")
    unsigned = [h for h in must_sign if h in headers and h not in signed_headers]
    if unsigned:
        raise AuthError(
            "IncompleteSignatureException",
            f"'{unsigned[0]}' must be a 'SignedHeader' (SignedHeaders="
            f"{fields['SignedHeaders'][:200]}): an unsigned header could be changed on the way.",
        )
    amz_date, signed_at = _request_time(headers)
    date_header = "x-amz-date" if "x-amz-date" in headers else "date"
    if date_header not in signed_headers:
        raise AuthError("InvalidSignatureException", f"'{date_header}' must be a 'SignedHeader'.")
    clock = time.time() if now is None else now
    if signed_at < clock - max_skew:
        raise AuthError(
            "InvalidSignatureException",
            "Signature expired: "
            + _EXPIRED_HINT.format(signed=amz_date, limit=_iso(clock - max_skew), now=_iso(clock)),
        )
    if signed_at > clock + max_skew:
        raise AuthError(
            "InvalidSignatureException",
            "Signature not yet current: "
            + _FUTURE_HINT.format(signed=amz_date, limit=_iso(clock + max_skew), now=_iso(clock)),
        )
    if date != amz_date[:8]:
        raise AuthError(
            "InvalidSignatureException",
            f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            f"from HTTP: '{date}' != '{amz_date[:8]}', from '{amz_date}'.",
        )
    if scope_service != service:
        raise AuthError(
            "InvalidSignatureException",
            f"Credential should be scoped to correct service: '{service}'.",
        )
    if terminator != "aws4_request":
        raise AuthError(
            "InvalidSignatureException",
            f"Credential should be scoped with a valid terminator: 'aws4_request', "
            f"not '{terminator}'.",
        )
    scope = "/".join([date, region, scope_service, terminator])
    expected = signature(request, secret, signed_headers, amz_date, scope)
    if not hmac.compare_digest(expected.encode(), fields["Signature"].encode()):
        raise AuthError("InvalidSignatureException", MISMATCH)
    return key_id
