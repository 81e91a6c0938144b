"""Signed, expiring ``NextToken`` values for GetPersonTracking.

A token carries the job's store key, the job's result generation, the sort order, the
offset of the next page and the time it was issued, authenticated with HMAC-SHA256 under
a key kept in the data directory (created once, mode 0600). The MAC also covers the
JobId (not carried in the token), so a token verifies only for the job that issued it,
even if a store key were ever reused. It is opaque to the user, tied to one job and one
sort order, tamper-evident and valid for 24 hours by default.

Decoding is strict: only the exact string issued verifies. Characters outside the
URL-safe base64 alphabet, padding, standard-base64 ``+/`` and non-canonical encodings
(other values of a last character's unused bits) are all InvalidPaginationTokenException.

Examples
--------
>>> from persontrack.jobs._tokens import TokenSigner
>>> signer = TokenSigner(b"k" * 32)
>>> token = signer.sign(job_id="j1", job_key=7, generation=1, sort_by="INDEX", offset=1000)
>>> signer.verify(token, job_id="j1", job_key=7, generation=1, sort_by="INDEX")
1000
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
import struct
import time
from pathlib import Path

from ..errors import InternalServerError, InvalidPaginationTokenException

TOKEN_TTL_SECONDS = 24 * 3600
"""How long a NextToken stays valid."""

KEY_FILE = "signing.key"
_VERSION = 2  # 2: the MAC covers the JobId
_SORTS = ("TIMESTAMP", "INDEX")
# version, job key, generation, sort, offset, issued (unix seconds)
_LAYOUT = struct.Struct(">BQIBQQ")
_MAC_BYTES = 16
# the exact shape of an issued token: unpadded URL-safe base64 of the payload and the MAC
_SHAPE = re.compile(
    f"[A-Za-z0-9_-]{{{-(-_LAYOUT.size * 4 // 3)}}}[.][A-Za-z0-9_-]{{{-(-_MAC_BYTES * 4 // 3)}}}",
    re.ASCII,
)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    """Decode unpadded URL-safe base64; only the canonical encoding of the bytes passes."""
    data = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    if _b64(data) != text:
        raise ValueError("not the canonical encoding")
    return data


def load_or_create_key(data_dir: Path) -> bytes:
    """Read the signing key from ``data_dir``, creating it (mode 0600) the first time.

    Concurrent first calls agree on one key: the file is created exclusively and a loser
    of the race reads the winner's key.
    """
    path = Path(data_dir) / KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(100):
            key = path.read_bytes()
            if len(key) == 32:
                return key
            time.sleep(0.01)  # the creator is still writing it
        raise InternalServerError(
            f"{path} is not a 32-byte signing key (its creator was interrupted?); delete it "
            "and a new one is made (NextTokens issued so far become invalid)"
        ) from None
    key = secrets.token_bytes(32)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    return key


class TokenSigner:
    """Issue and check NextToken values.

    Parameters
    ----------
    key : bytes
        The HMAC key (see :func:`load_or_create_key`).
    ttl : float, default 86400
        Seconds a token stays valid after it was issued.
    """

    def __init__(self, key: bytes, ttl: float = TOKEN_TTL_SECONDS) -> None:
        self._key = key
        self.ttl = ttl

    def _mac(self, payload: bytes, job_id: str) -> bytes:
        message = payload + job_id.encode("utf-8", "surrogatepass")
        return hmac.new(self._key, message, hashlib.sha256).digest()[:_MAC_BYTES]

    def sign(
        self,
        *,
        job_id: str,
        job_key: int,
        generation: int,
        sort_by: str,
        offset: int,
        issued: float | None = None,
    ) -> str:
        """Return a token for the page starting at ``offset``."""
        issued = time.time() if issued is None else issued
        payload = _LAYOUT.pack(
            _VERSION, job_key, generation, _SORTS.index(sort_by), offset, int(issued)
        )
        return _b64(payload) + "." + _b64(self._mac(payload, job_id))

    def verify(
        self,
        token: str,
        *,
        job_id: str,
        job_key: int,
        generation: int,
        sort_by: str,
        now: float | None = None,
    ) -> int:
        """Return the offset a valid token points at.

        Raises
        ------
        InvalidPaginationTokenException
            When the token is malformed, altered, expired, from another job or another
            result generation of this job, or was issued for another SortBy.
        """
        try:
            if not isinstance(token, str) or not _SHAPE.fullmatch(token):
                raise ValueError("not the shape of a token")
            body, mac = token.split(".")
            payload, mac_bytes = _unb64(body), _unb64(mac)
            fields = _LAYOUT.unpack(payload)
        except (ValueError, binascii.Error, struct.error):
            raise InvalidPaginationTokenException(
                "NextToken is not a token issued by GetPersonTracking", "GetPersonTracking"
            ) from None
        if not hmac.compare_digest(mac_bytes, self._mac(payload, job_id)):
            raise InvalidPaginationTokenException(
                "NextToken belongs to another job or has been altered (signature mismatch)",
                "GetPersonTracking",
            )
        version, t_job, t_gen, t_sort, offset, issued = fields
        if version != _VERSION or t_sort >= len(_SORTS):
            raise InvalidPaginationTokenException(
                "NextToken has an unknown format", "GetPersonTracking"
            )
        if t_job != job_key or t_gen != generation:
            raise InvalidPaginationTokenException(
                "NextToken belongs to another job (or to earlier results of this job)",
                "GetPersonTracking",
            )
        if _SORTS[t_sort] != sort_by:
            raise InvalidPaginationTokenException(
                f"NextToken was issued for SortBy={_SORTS[t_sort]}, not SortBy={sort_by}",
                "GetPersonTracking",
            )
        now = time.time() if now is None else now
        if now - issued > self.ttl:
            raise InvalidPaginationTokenException(
                f"NextToken expired ({(now - issued) / 3600:.1f} h old; tokens last "
                f"{self.ttl / 3600:g} h)",
                "GetPersonTracking",
            )
        return int(offset)
