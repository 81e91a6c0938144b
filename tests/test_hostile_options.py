"""Hostile client options: every option is checked when the client is made.

Defect 5 of issue 14: ``heartbeat_timeout=-1`` failed every job after 0 s, ``token_ttl=-5``
expired every token, ``busy_timeout="x"`` raised a raw TypeError, unknown ``settings`` keys
and bad tracker names were accepted and failed each job later.
"""

from __future__ import annotations

import math
import threading

import pytest
from jobs_support import FAKE_TRACKER

import persontrack as pt
from persontrack.errors import InvalidParameterException

BAD_OPTIONS = [
    {"heartbeat_timeout": -1},
    {"heartbeat_timeout": 0},
    {"heartbeat_timeout": math.nan},
    {"heartbeat_timeout": math.inf},
    {"heartbeat_timeout": "60"},
    {"heartbeat_timeout": True},
    {"token_ttl": -5},
    {"token_ttl": 0},
    {"token_ttl": None},
    {"busy_timeout": "x"},
    {"busy_timeout": -1},
    {"busy_timeout": math.nan},
    {"max_jobs": 0},
    {"max_jobs": 2.5},
    {"max_jobs": "3"},
    {"max_workers": -1},
    {"max_workers": True},
    {"max_requests_per_second": 0},
    {"max_requests_per_second": -3},
    {"max_requests_per_second": "fast"},
    {"storage": "ftp"},
    {"storage": 3},
    {"s3_endpoint_url": "not a url"},
    {"s3_endpoint_url": 9000},
    {"sns_endpoint_url": "file:///etc/passwd"},
    {"region_name": "us east 1"},
    {"region_name": 1},
    {"settings": {"no_such_setting": 1}},
    {"settings": {"faces": "yes"}},
    {"settings": {"max_frames": 0}},
    {"settings": ["target_fps", 2]},
    {"settings": "fast"},
    {"tracker": "no.such.module:track"},
    {"tracker": "persontrack.pipeline:no_such_function"},
    {"tracker": "persontrack.pipeline:COLUMNS"},
    {"tracker": "no colon at all"},
    {"tracker": "/no/such/file.py:track"},
    {"tracker": 42},
    {"tracker": f"{FAKE_TRACKER}:extra"},
    {"settings": {"rows": object()}, "tracker": FAKE_TRACKER},
]


@pytest.mark.parametrize("options", BAD_OPTIONS, ids=lambda o: repr(o)[:60])
def test_bad_options_are_invalid_parameter_at_construction(tmp_path, options):
    threads = threading.active_count()
    with pytest.raises(InvalidParameterException) as e:
        pt.client(data_dir=tmp_path / "data", bucket_root=tmp_path, **options)
    name = next(iter(options))
    assert name in e.value.message, e.value.message
    assert threading.active_count() == threads, "no thread was started"
    assert not (tmp_path / "data" / "jobs.sqlite3").exists(), "nothing was created"


@pytest.mark.parametrize(
    "options",
    [
        {"data_dir": b"/tmp/bytes"},
        {"data_dir": "a\x00b"},
        {"bucket_root": 5},
    ],
    ids=repr,
)
def test_bad_folders_are_invalid_parameter(tmp_path, options):
    kwargs = {"data_dir": tmp_path / "data", "bucket_root": tmp_path, **options}
    with pytest.raises(InvalidParameterException):
        pt.client(**kwargs)


def test_unknown_option_is_a_type_error_naming_it(tmp_path):
    with pytest.raises(TypeError, match="heartbeat"):
        pt.client(data_dir=tmp_path, bucket_root=tmp_path, heartbeat=3)


def test_good_options_are_kept(tmp_path):
    c = pt.client(
        data_dir=tmp_path / "data",
        bucket_root=tmp_path,
        heartbeat_timeout=5,
        token_ttl=60.5,
        busy_timeout=0,
        max_requests_per_second=2.5,
        settings={"target_fps": 4},
        region_name="eu-west-1",
        s3_endpoint_url="http://127.0.0.1:9",
    )
    try:
        assert c.heartbeat_timeout == 5 and c.signer.ttl == 60.5
        assert c.settings == {"target_fps": 4}
    finally:
        c.close()
