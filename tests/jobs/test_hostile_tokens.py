"""Hostile NextTokens: tampered, re-encoded, replayed on another job, replayed after a delete.

Defects 2 and 3 of issue 14: a deleted job's token was accepted by the next job (its store
key was reused), and many spellings of one token (inserted characters, padding, standard
base64) verified. Only the exact string issued, for the job that issued it, is valid.
"""

from __future__ import annotations

import base64
import sqlite3
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jobs_support import VIDEO

from persontrack.errors import InvalidPaginationTokenException
from persontrack.jobs._tokens import TokenSigner

SIGNER = TokenSigner(b"k" * 32)
JOB = "a" * 64
TOKEN = SIGNER.sign(job_id=JOB, job_key=7, generation=1, sort_by="INDEX", offset=1000)


def verify(token: str, job_id: str = JOB, job_key: int = 7) -> int:
    return SIGNER.verify(token, job_id=job_id, job_key=job_key, generation=1, sort_by="INDEX")


def test_the_issued_token_verifies():
    assert verify(TOKEN) == 1000


def _variants(token: str) -> list[str]:
    body, mac = token.split(".")
    std = token.replace("-", "+").replace("_", "/")
    return [
        token + "====",
        token + "=",
        body + "==." + mac,
        token[:4] + "!" + token[4:],
        token[:6] + "$$$$" + token[6:],
        token[:3] + " " + token[3:],
        token[:3] + "\n" + token[3:],
        " " + token,
        token + "\n",
        token + "\x00",
        std if std != token else token.replace("A", "+", 1),
        token.upper() if token.upper() != token else token.lower(),
        token.replace(".", ".."),
        body + "." + mac + "." + mac,
        token[:-1],
        token + "A",
        # a non-canonical encoding of the same bytes: the unused low bits of the last
        # base64 character changed
        body + "." + mac[:-1] + _flip_unused_bits(mac[-1], len(mac)),
    ]


def _flip_unused_bits(char: str, length: int) -> str:
    alphabet = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"
    unused = {2: 4, 3: 2}.get(length % 4, 0)  # 16-byte MAC: 22 chars, 4 unused bits
    if not unused:
        return "=" if char != "=" else "A"
    return alphabet[alphabet.index(char) ^ 1]


@pytest.mark.parametrize("variant", range(len(_variants(TOKEN))))
def test_only_the_exact_issued_string_verifies(variant):
    token = _variants(TOKEN)[variant]
    assert token != TOKEN
    with pytest.raises(InvalidPaginationTokenException):
        verify(token)


def test_a_token_is_bound_to_the_job_id_not_only_the_store_key():
    with pytest.raises(InvalidPaginationTokenException, match="another job"):
        verify(TOKEN, job_id="b" * 64)  # same store key, another job


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    position=st.integers(min_value=0, max_value=len(TOKEN)),
    insert=st.text(max_size=6),
    cut=st.integers(min_value=0, max_value=3),
)
def test_any_edit_of_a_token_is_rejected(position, insert, cut):
    token = TOKEN[:position] + insert + TOKEN[position + cut :]
    if token == TOKEN:
        assert verify(token) == 1000
        return
    with pytest.raises(InvalidPaginationTokenException):
        verify(token)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=300), st.binary(max_size=120).map(base64.b64encode)))
def test_random_strings_are_rejected(text):
    if isinstance(text, bytes):
        text = text.decode()
    with pytest.raises(InvalidPaginationTokenException):
        verify(text)


def test_a_deleted_jobs_token_does_not_page_the_next_job(clients):
    """Defect 2: delete the newest job, start another: it must not accept the old token."""
    c = clients(settings={"rows": 30})
    old = c.start_person_tracking(Video=VIDEO)["JobId"]
    c.wait(old, timeout=60)
    token = c.get_person_tracking(JobId=old, MaxResults=10)["NextToken"]
    old_key = c.store.get_job(old)["job_key"]
    c.delete_job(old)
    new = c.start_person_tracking(Video=VIDEO)["JobId"]
    c.wait(new, timeout=60)
    assert c.store.get_job(new)["job_key"] != old_key, "store keys are never reused"
    with pytest.raises(c.exceptions.InvalidPaginationTokenException, match="another job"):
        c.get_person_tracking(JobId=new, NextToken=token)
    with sqlite3.connect(clients.data_dir / "jobs.sqlite3") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_reused_store_key_still_rejects_the_old_token(clients):
    """Even on a store from before AUTOINCREMENT (keys may repeat) the JobId decides."""
    c = clients(settings={"rows": 30})
    old = c.start_person_tracking(Video=VIDEO)["JobId"]
    c.wait(old, timeout=60)
    job = c.store.get_job(old)
    token = c.get_person_tracking(JobId=old, MaxResults=10)["NextToken"]
    with pytest.raises(c.exceptions.InvalidPaginationTokenException, match="another job"):
        c.signer.verify(
            token,
            job_id="f" * 64,
            job_key=job["job_key"],
            generation=job["generation"],
            sort_by="TIMESTAMP",
        )
