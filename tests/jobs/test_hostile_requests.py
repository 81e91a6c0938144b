"""Hostile requests: bucket and object names that abuse the local storage, wrong-typed and
unknown parameters, tampered NextTokens, through the Python client and the CLI.

Every case answers with its named Rekognition error, creates no job and leaves the store
intact (``PRAGMA integrity_check``).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest
from jobs_support import FAKE_TRACKER, VIDEO, Clients, make_buckets

from persontrack.errors import PersonTrackError


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, sample_video):
    root = tmp_path_factory.mktemp("hostile-requests")
    made = Clients(root / "data", make_buckets(root / "buckets", sample_video), root / "gate")
    videos = made.bucket_root / "videos"
    (videos / "sub").mkdir()
    outside = root / "outside.mp4"
    outside.write_bytes(b"secret")
    (videos / "out.mp4").symlink_to(outside)
    (videos / "dirlink").symlink_to(root, target_is_directory=True)
    (videos / "loop.mp4").symlink_to(videos / "loop.mp4")
    (videos / "dev.mp4").symlink_to("/dev/zero")
    os.mkfifo(videos / "fifo.mp4")
    (videos / "unreadable.mp4").write_bytes(b"x")
    (videos / "unreadable.mp4").chmod(0)
    (made.bucket_root / "outlink").symlink_to(root, target_is_directory=True)
    c = made(settings=made.gated(), max_workers=1)
    yield made, c
    made.shutdown()


def s3(bucket, name):
    return {"Video": {"S3Object": {"Bucket": bucket, "Name": name}}}


NAMES = [
    # (bucket, name, error)
    ("videos", "../videos/sample.mp4", "InvalidParameterException"),
    ("videos", "sub/../sample.mp4", "InvalidParameterException"),
    ("videos", "./sample.mp4", "InvalidParameterException"),
    ("videos", "/etc/passwd", "InvalidParameterException"),
    ("videos", "a\x00b", "InvalidParameterException"),
    ("videos", "..\\..\\x.mp4", "InvalidParameterException"),
    ("videos", "", "InvalidParameterException"),
    ("videos", "x" * 1025, "InvalidParameterException"),
    ("videos", "sub", "InvalidS3ObjectException"),
    ("videos", "sub/", "InvalidS3ObjectException"),
    ("videos", "missing.mp4", "InvalidS3ObjectException"),
    ("videos", "line\nbreak.mp4", "InvalidS3ObjectException"),
    ("videos", "ünï 名前.mp4", "InvalidS3ObjectException"),
    ("videos", "fifo.mp4", "InvalidS3ObjectException"),
    ("videos", "loop.mp4", "InvalidS3ObjectException"),
    ("videos", "out.mp4", "AccessDeniedException"),
    ("videos", "dev.mp4", "AccessDeniedException"),
    ("videos", "dirlink/outside.mp4", "AccessDeniedException"),
    ("outlink", "outside.mp4", "AccessDeniedException"),
    ("..", "sample.mp4", "InvalidParameterException"),
    (".", "sample.mp4", "InvalidParameterException"),
    ("a/b", "sample.mp4", "InvalidParameterException"),
    ("vi", "sample.mp4", "InvalidParameterException"),
    ("videos\x00", "sample.mp4", "InvalidParameterException"),
    ("ünïcode", "sample.mp4", "InvalidParameterException"),
    ("x" * 300, "sample.mp4", "InvalidParameterException"),
    ("nobucket", "sample.mp4", "InvalidS3ObjectException"),
]
if os.geteuid() != 0:  # root reads files whatever their mode
    NAMES.append(("videos", "unreadable.mp4", "AccessDeniedException"))


def integrity(made) -> str:
    with sqlite3.connect(made.data_dir / "jobs.sqlite3") as db:
        return db.execute("PRAGMA integrity_check").fetchone()[0]


@pytest.mark.parametrize(("bucket", "name", "error"), NAMES, ids=lambda v: repr(v)[:30])
def test_name_abuse_is_a_named_error_and_no_job(hostile, bucket, name, error):
    made, c = hostile
    before = len(c.store.list_jobs())
    with pytest.raises(PersonTrackError) as e:
        c.start_person_tracking(**s3(bucket, name))
    assert type(e.value).__name__ == error, e.value.message
    assert len(c.store.list_jobs()) == before
    assert integrity(made) == "ok"


BAD_REQUESTS = [
    ({}, "InvalidParameterException"),
    ({"Video": None}, "InvalidParameterException"),
    ({"Video": "s3://videos/sample.mp4"}, "InvalidParameterException"),
    ({"Video": {"S3Object": ["videos", "sample.mp4"]}}, "InvalidParameterException"),
    (s3(5, "sample.mp4"), "InvalidParameterException"),
    (s3("videos", b"sample.mp4"), "InvalidParameterException"),
    (s3("videos", 1.5), "InvalidParameterException"),
    ({**s3("videos", "sample.mp4"), "JobTag": 7}, "InvalidParameterException"),
    ({**s3("videos", "sample.mp4"), "JobTag": "bad tag!"}, "InvalidParameterException"),
    ({**s3("videos", "sample.mp4"), "ClientRequestToken": ""}, "InvalidParameterException"),
    ({**s3("videos", "sample.mp4"), "ClientRequestToken": "x" * 65}, "InvalidParameterException"),
    ({**s3("videos", "sample.mp4"), "ClientRequestToken": "a b"}, "InvalidParameterException"),
    ({**s3("videos", "sample.mp4"), "MaxResults": 5}, "InvalidParameterException"),
    ({**s3("videos", "sample.mp4"), "NotificationChannel": 3}, "InvalidParameterException"),
    ({**s3("videos", "sample.mp4"), "NotificationChannel": {}}, "InvalidParameterException"),
    ({"Video": {"S3Object": {"Bucket": "videos"}}}, "InvalidParameterException"),
    ({"Video": {"S3Object": {"Name": "sample.mp4"}}}, "InvalidParameterException"),
]


@pytest.mark.parametrize(("kwargs", "error"), BAD_REQUESTS, ids=lambda v: repr(v)[:40])
def test_wrong_typed_and_unknown_start_parameters(hostile, kwargs, error):
    made, c = hostile
    before = len(c.store.list_jobs())
    with pytest.raises(PersonTrackError) as e:
        c.start_person_tracking(**kwargs)
    assert type(e.value).__name__ == error
    assert len(c.store.list_jobs()) == before


BAD_GETS = [
    ({"JobId": None}, "InvalidParameterException"),
    ({"JobId": 12}, "InvalidParameterException"),
    ({"JobId": ["a"]}, "InvalidParameterException"),
    ({"JobId": "a" * 64, "MaxResults": "7"}, "InvalidParameterException"),
    # above 1000 is read as 1000, as Rekognition does: the unknown job is what fails
    ({"JobId": "a" * 64, "MaxResults": 2**70}, "ResourceNotFoundException"),
    ({"JobId": "a" * 64, "MaxResults": float("nan")}, "InvalidParameterException"),
    ({"JobId": "a" * 64, "SortBy": None, "Foo": 1}, "InvalidParameterException"),
    ({"JobId": "a" * 64, "NextToken": 5}, "InvalidParameterException"),
    ({"JobId": "a" * 64}, "ResourceNotFoundException"),
    ({"JobId": "%00"}, "InvalidParameterException"),
]


@pytest.mark.parametrize(("kwargs", "error"), BAD_GETS, ids=lambda v: repr(v)[-40:])
def test_wrong_typed_and_unknown_get_parameters(hostile, kwargs, error):
    _, c = hostile
    with pytest.raises(PersonTrackError) as e:
        c.get_person_tracking(**kwargs)
    assert type(e.value).__name__ == error


def test_tampered_tokens_on_a_real_job(hostile):
    made, c = hostile
    made.open_gate()
    job = c.start_person_tracking(Video=VIDEO)["JobId"]
    c.wait(job, timeout=60)
    token = c.get_person_tracking(JobId=job, MaxResults=10)["NextToken"]
    body, mac = token.split(".")
    for bad in (
        token + "====",
        token[:4] + "!" + token[4:],
        token[:6] + "$$$$" + token[6:],
        token.replace("-", "+").replace("_", "/") if "-" in token or "_" in token else "+" + token,
        token[:3] + "\n" + token[3:],
        mac + "." + body,
        "",
        " ",
    ):
        with pytest.raises(c.exceptions.InvalidPaginationTokenException):
            c.get_person_tracking(JobId=job, NextToken=bad)
    assert len(c.get_person_tracking(JobId=job, NextToken=token)["Persons"]) == 40


def _cli(made, *args):
    cmd = [sys.executable, "-m", "persontrack.cli", *args]
    cmd += ["--data-dir", str(made.data_dir), "--bucket-root", str(made.bucket_root)]
    env = {**os.environ, "PERSONTRACK_TRACKER": FAKE_TRACKER}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)


def test_cli_hostile_names_and_tokens(hostile):
    made, c = hostile
    jobs_before = len(c.store.list_jobs())
    run = _cli(made, "start", "--bucket", "videos", "--name", "../../etc/passwd")
    assert run.returncode == 2
    assert run.stderr.startswith("persontrack: InvalidParameterException: ")
    run = _cli(made, "start", "--bucket", "videos", "--name", "out.mp4")
    assert run.returncode == 2
    assert run.stderr.startswith("persontrack: AccessDeniedException: ")
    run = _cli(made, "get", "a" * 64, "--next-token", "$$$$", "--max-results", "-3")
    assert run.returncode == 2
    assert run.stderr.startswith("persontrack: InvalidParameterException: ")
    assert len(c.store.list_jobs()) == jobs_before
    assert integrity(made) == "ok"
