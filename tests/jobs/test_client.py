"""The Jobs API as a migrating boto3 user drives it: real store, real worker processes.

The tracking step is the stand-in from ``jobs_fakes.py`` (these tests are about the API,
the store and the workers); ``test_client_e2e.py`` runs the real pipeline.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import sys
import time

import pandas as pd
import pytest
from botocore.exceptions import ClientError
from jobs_support import VIDEO, wait_state

from persontrack.convert import sort_results, validate_response
from persontrack.errors import ERRORS
from persontrack.jobs.client import PersonTrackingClient


def code_of(exc_info) -> str:
    return exc_info.value.response["Error"]["Code"]


def all_pages(c, job_id, **kw):
    pages, token = [], None
    while True:
        args = dict(kw, JobId=job_id)
        if token:
            args["NextToken"] = token
        page = c.get_person_tracking(**args)
        pages.append(page)
        token = page.get("NextToken")
        if not token:
            return pages


# -- the happy path ---------------------------------------------------------------------


def test_start_returns_at_once_then_job_succeeds_with_rekognition_response(clients):
    c = clients(settings={"rows": 2500})
    t0 = time.monotonic()
    job = c.start_person_tracking(Video=VIDEO, JobTag="door-cam", ClientRequestToken="t-1")
    assert time.monotonic() - t0 < 2.0  # the worker does the work
    assert set(job) == {"JobId", "ResponseMetadata"}
    assert len(job["JobId"]) == 64
    described = c.wait(job["JobId"], timeout=60)
    assert described["JobStatus"] == "SUCCEEDED", described["StatusMessage"]
    assert described["ResultCount"] == 2500
    assert described["Versions"] == {"persontrack": "test", "tracker": "fake"}

    pages = all_pages(c, job["JobId"])
    assert [len(p["Persons"]) for p in pages] == [1000, 1000, 500]
    for page in pages:
        validate_response(page)
        assert page["JobStatus"] == "SUCCEEDED"
        assert page["VideoMetadata"]["FrameWidth"] == 640  # on every page
        assert page["VideoMetadata"]["DurationMillis"] == 5000
        assert page["JobId"] == job["JobId"] and page["JobTag"] == "door-cam"
        assert page["Video"] == VIDEO
        assert page["ResponseMetadata"]["HTTPStatusCode"] == 200
        assert "StatusMessage" not in page
    assert "NextToken" not in pages[-1]


@pytest.mark.parametrize("sort_by", ["TIMESTAMP", "INDEX"])
def test_pages_follow_the_sort_order_and_rebuild_the_dataframe(clients, sort_by):
    c = clients(settings={"rows": 1234})
    job_id = c.start_person_tracking(Video=VIDEO)["JobId"]
    c.wait(job_id, timeout=60)
    frame = c.get_dataframe(job_id)
    assert len(frame) == 1234
    assert frame["BodyLandmarks"].notna().sum() > 0  # extensions survive the store
    assert frame["FrameNumber"].notna().all()
    expected = sort_results(frame, sort_by)
    pages = all_pages(c, job_id, SortBy=sort_by, MaxResults=500)
    persons = [p for page in pages for p in page["Persons"]]
    assert [(p["Timestamp"], p["Person"]["Index"]) for p in persons] == list(
        zip(expected["Timestamp"], expected["Index"], strict=True)
    )
    boxes = pd.DataFrame([p["Person"]["BoundingBox"] for p in persons])
    assert boxes["Left"].to_numpy() == pytest.approx(expected["Left"].to_numpy())


def test_the_wire_body_is_the_response_without_its_metadata(clients):
    c = clients(settings={"rows": 2345})
    done = c.start_person_tracking(Video=VIDEO, JobTag="door")["JobId"]
    failed = clients(settings={"fail": "decoder exploded"}).start_person_tracking(Video=VIDEO)
    assert c.wait(done, timeout=60)["JobStatus"] == "SUCCEEDED"
    assert c.wait(failed["JobId"], timeout=60)["JobStatus"] == "FAILED"
    bodies = 0
    for request in (
        {"JobId": done},
        {"JobId": done, "SortBy": "INDEX", "MaxResults": 700},
        {"JobId": failed["JobId"]},
    ):
        token = None
        while True:
            args = dict(request, **({"NextToken": token} if token else {}))
            body = json.loads(c.get_person_tracking_json(**args))
            page = c.get_person_tracking(**args)
            del page["ResponseMetadata"]
            assert list(body) == list(page)  # Rekognition's member order
            # tokens carry the second they were issued: same page, not the same text
            token = page.pop("NextToken", None)
            assert (body.pop("NextToken", None) is None) == (token is None)
            assert body == page
            bodies += 1
            if token is None:
                break
    assert bodies == 3 + 4 + 1


def test_max_results_above_1000_gives_1000(clients):
    c = clients(settings={"rows": 1500})
    job_id = c.start_person_tracking(Video=VIDEO)["JobId"]
    c.wait(job_id, timeout=60)
    assert len(c.get_person_tracking(JobId=job_id, MaxResults=5000)["Persons"]) == 1000
    assert len(c.get_person_tracking(JobId=job_id, MaxResults=1)["Persons"]) == 1


def test_in_progress_job_has_no_persons_and_reports_progress(clients, capsys):
    c = clients(settings=clients.gated())
    job_id = c.start_person_tracking(Video=VIDEO, JobTag="x")["JobId"]
    page = c.get_person_tracking(JobId=job_id)
    assert page["JobStatus"] == "IN_PROGRESS"
    assert page["Persons"] == [] and "NextToken" not in page
    validate_response(page)
    wait_state(c, job_id, {"RUNNING"})
    deadline = time.monotonic() + 30
    while c.get_progress(job_id) < 0.5 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert c.get_progress(job_id) == 0.5
    assert c.list_jobs().set_index("JobId").loc[job_id, "JobStatus"] == "IN_PROGRESS"
    with pytest.raises(c.exceptions.InvalidParameterException, match="IN_PROGRESS"):
        c.delete_job(job_id)
    with pytest.raises(c.exceptions.InvalidParameterException, match="IN_PROGRESS"):
        c.get_dataframe(job_id)
    clients.open_gate()
    assert c.wait(job_id, timeout=60, progress=True)["JobStatus"] == "SUCCEEDED"
    assert c.get_progress(job_id) == 1.0
    assert "100/100" in capsys.readouterr().err  # the bar reached the end


def test_results_survive_a_new_client_in_a_new_process(clients, tmp_path):
    c = clients()
    job_id = c.start_person_tracking(Video=VIDEO)["JobId"]
    c.wait(job_id, timeout=60)
    first = c.get_person_tracking(JobId=job_id, SortBy="INDEX")
    import subprocess
    import sys

    code = (
        "import json, persontrack as pt;"
        f"c = pt.client(data_dir={str(clients.data_dir)!r}, bucket_root={str(tmp_path)!r});"
        f"r = c.get_person_tracking(JobId={job_id!r}, SortBy='INDEX');"
        "r.pop('ResponseMetadata'); print(json.dumps(r))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    again = json.loads(out.stdout)
    first.pop("ResponseMetadata")
    assert again == first


def test_list_describe_and_delete_jobs(clients):
    c = clients()
    a = c.start_person_tracking(Video=VIDEO, JobTag="a")["JobId"]
    b = c.start_person_tracking(Video=VIDEO, JobTag="b", ClientRequestToken="tok")["JobId"]
    c.wait(a, timeout=60)
    c.wait(b, timeout=60)
    jobs = c.list_jobs()
    assert list(jobs["JobId"]) == [a, b]
    assert list(jobs["JobTag"]) == ["a", "b"]
    assert (jobs["JobStatus"] == "SUCCEEDED").all()
    assert (jobs["CompletionTime"] >= jobs["CreationTime"]).all()
    c.delete_job(b)
    assert list(c.list_jobs()["JobId"]) == [a]
    with pytest.raises(c.exceptions.ResourceNotFoundException):
        c.get_person_tracking(JobId=b)
    with pytest.raises(c.exceptions.ResourceNotFoundException):
        c.delete_job(b)
    # the token is free again
    assert c.start_person_tracking(Video=VIDEO, ClientRequestToken="tok")["JobId"] != b


# -- idempotency ------------------------------------------------------------------------


def test_token_reuse_same_parameters_same_job_different_parameters_error(clients):
    c = clients()
    first = c.start_person_tracking(Video=VIDEO, ClientRequestToken="abc-1", JobTag="t")
    again = c.start_person_tracking(Video=VIDEO, ClientRequestToken="abc-1", JobTag="t")
    assert again["JobId"] == first["JobId"]
    with pytest.raises(c.exceptions.IdempotentParameterMismatchException) as e:
        c.start_person_tracking(Video=VIDEO, ClientRequestToken="abc-1", JobTag="other")
    assert code_of(e) == "IdempotentParameterMismatchException"
    other = clients(settings={"rows": 51})  # other settings are other parameters
    with pytest.raises(ClientError) as e:
        other.start_person_tracking(Video=VIDEO, ClientRequestToken="abc-1", JobTag="t")
    assert code_of(e) == "IdempotentParameterMismatchException"


def test_fifty_parallel_calls_with_one_token_give_one_job(clients):
    from concurrent.futures import ThreadPoolExecutor

    c = clients(settings=clients.gated())
    barrier = __import__("threading").Barrier(50)

    def call(_):
        barrier.wait(timeout=60)
        return c.start_person_tracking(Video=VIDEO, ClientRequestToken="same")["JobId"]

    with ThreadPoolExecutor(50) as pool:
        ids = set(pool.map(call, range(50)))
    assert len(ids) == 1
    assert len(c.store.list_jobs()) == 1


# -- limits and failures ----------------------------------------------------------------


def test_twenty_jobs_at_once_then_limit_exceeded(clients):
    c = clients(settings=clients.gated(), max_workers=1)
    first = c.start_person_tracking(Video=VIDEO, ClientRequestToken="first")["JobId"]
    ids = [first] + [c.start_person_tracking(Video=VIDEO)["JobId"] for _ in range(19)]
    assert len(set(ids)) == 20
    with pytest.raises(c.exceptions.LimitExceededException) as e:
        c.start_person_tracking(Video=VIDEO)
    assert "20" in str(e.value)
    # a reused token still answers with its job when the limit is reached
    assert c.start_person_tracking(Video=VIDEO, ClientRequestToken="first")["JobId"] == first
    assert c.describe_job(first)["JobStatus"] == "IN_PROGRESS"
    small = clients(settings=clients.gated(), max_jobs=2, max_workers=1)
    with pytest.raises(small.exceptions.LimitExceededException):
        small.start_person_tracking(Video=VIDEO)


def test_a_failing_job_is_failed_with_a_useful_status_message(clients):
    c = clients(settings={"fail": "decoder exploded"})
    job_id = c.start_person_tracking(Video=VIDEO)["JobId"]
    assert c.wait(job_id, timeout=60)["JobStatus"] == "FAILED"
    page = c.get_person_tracking(JobId=job_id)
    assert page["JobStatus"] == "FAILED"
    assert "decoder exploded" in page["StatusMessage"]
    assert page["Persons"] == []
    validate_response(page)
    with pytest.raises(c.exceptions.InvalidParameterException, match="FAILED"):
        c.get_dataframe(job_id)


def test_unreadable_video_fails_the_job_with_the_real_pipeline(clients):
    (clients.bucket_root / "videos" / "junk.mp4").write_bytes(b"not a video at all" * 100)
    c = clients(tracker="persontrack.pipeline:track_video", settings=None)
    job_id = c.start_person_tracking(Video={"S3Object": {"Bucket": "videos", "Name": "junk.mp4"}})[
        "JobId"
    ]
    described = c.wait(job_id, timeout=120)
    assert described["JobStatus"] == "FAILED"
    assert described["StatusMessage"].startswith("InvalidS3ObjectException")
    assert "junk.mp4" in described["StatusMessage"]


def test_killed_worker_leaves_a_failed_job_and_an_intact_store(clients):
    c = clients(settings=clients.gated(), max_workers=1)
    done = c.start_person_tracking(Video=VIDEO, JobTag="before")["JobId"]
    wait_state(c, done, {"RUNNING"})
    clients.open_gate()
    c.wait(done, timeout=60)
    clients.gate.unlink()
    victim = c.start_person_tracking(Video=VIDEO, JobTag="victim")["JobId"]
    job = wait_state(c, victim, {"RUNNING"})
    os.kill(job["worker_pid"], signal.SIGKILL)
    deadline = time.monotonic() + 30
    while c.describe_job(victim)["JobStatus"] == "IN_PROGRESS" and time.monotonic() < deadline:
        time.sleep(0.1)
    page = c.get_person_tracking(JobId=victim)
    assert page["JobStatus"] == "FAILED"
    assert "died" in page["StatusMessage"]
    db = sqlite3.connect(clients.data_dir / "jobs.sqlite3")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
    # earlier results are untouched and new jobs still run
    assert len(c.get_person_tracking(JobId=done)["Persons"]) == 50
    clients.open_gate()
    after = c.start_person_tracking(Video=VIDEO)["JobId"]
    assert c.wait(after, timeout=60)["JobStatus"] == "SUCCEEDED"


def test_new_client_recovers_a_job_whose_worker_died(clients):
    c = clients(settings=clients.gated(), max_workers=1)
    job_id = c.start_person_tracking(Video=VIDEO)["JobId"]
    job = wait_state(c, job_id, {"RUNNING"})
    os.kill(job["worker_pid"], signal.SIGKILL)
    for child in c._children:
        child.wait(timeout=10)  # reaped by its parent, as a notebook kernel would
    fresh = clients()
    assert fresh.describe_job(job_id)["JobStatus"] == "FAILED"
    assert "died" in fresh.describe_job(job_id)["StatusMessage"]


# -- errors named as in the API reference -----------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"Video": {}},
        {"Video": {"S3Object": {"Bucket": "videos"}}},
        {"Video": {"S3Object": {"Name": "sample.mp4"}}},
        {"Video": {"S3Object": {"Bucket": "vi", "Name": "sample.mp4"}}},
        {"Video": {"S3Object": {"Bucket": "videos", "Name": ""}}},
        {"Video": {"S3Object": {"Bucket": "videos", "Name": 7}}},
        {"Video": "s3://videos/sample.mp4"},
        {"Video": VIDEO, "ClientRequestToken": ""},
        {"Video": VIDEO, "ClientRequestToken": "x" * 65},
        {"Video": VIDEO, "ClientRequestToken": "has space"},
        {"Video": VIDEO, "JobTag": ""},
        {"Video": VIDEO, "JobTag": "x" * 1025},
        {"Video": VIDEO, "JobTag": "bad tag!"},
        {"Video": VIDEO, "NotificationChannel": {"SNSTopicArn": "arn:aws:sns:us-east-1:1:t"}},
        {
            "Video": VIDEO,
            "NotificationChannel": {
                "SNSTopicArn": "arn:aws:sns:us-east-1:123:t",
                "RoleArn": "arn:aws:iam::123456789012:role/r",
            },
        },
        {
            "Video": VIDEO,
            "NotificationChannel": {
                "SNSTopicArn": "arn:aws:sns:us-east-1:123456789012:t",
                "RoleArn": "arn:aws:iam::123456789012:user/r",
            },
        },
        {"Video": VIDEO, "NotificationChannel": "ftp://example.com/hook"},
        {"Video": VIDEO, "NotificationChannel": "http://"},
        {"Video": VIDEO, "NotificationChannel": "http://host\ud800/"},
        {"Video": VIDEO, "Unknown": 1},
        {"Video": {"S3Object": {"Bucket": "videos", "Name": "../buckets/videos/sample.mp4"}}},
        {"Video": {"S3Object": {"Bucket": "videos", "Name": "/etc/passwd"}}},
        {"Video": {"S3Object": {"Bucket": "..", "Name": "sample.mp4"}}},
    ],
)
def test_start_rejects_invalid_parameters(clients, kwargs):
    c = clients()
    with pytest.raises(c.exceptions.InvalidParameterException) as e:
        c.start_person_tracking(**kwargs)
    assert code_of(e) == "InvalidParameterException"
    assert isinstance(e.value, ClientError)
    assert c.store.list_jobs() == []


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"JobId": ""},
        {"JobId": "x" * 65},
        {"JobId": "no/slash"},
        {"JobId": "a", "MaxResults": 0},
        {"JobId": "a", "MaxResults": -5},
        {"JobId": "a", "MaxResults": "10"},
        {"JobId": "a", "MaxResults": 1.5},
        {"JobId": "a", "MaxResults": True},
        {"JobId": "a", "SortBy": "NAME"},
        {"JobId": "a", "SortBy": "index"},
        {"JobId": "a", "NextToken": "x" * 256},
        {"JobId": "a", "Extra": 1},
    ],
)
def test_get_rejects_invalid_parameters(clients, kwargs):
    c = clients()
    with pytest.raises(c.exceptions.InvalidParameterException):
        c.get_person_tracking(**kwargs)


def test_unknown_job_is_resource_not_found(clients):
    c = clients()
    with pytest.raises(ClientError) as e:
        c.get_person_tracking(JobId="0" * 64)
    assert code_of(e) == "ResourceNotFoundException"


@pytest.mark.parametrize(
    "s3",
    [
        {"Bucket": "videos", "Name": "missing.mp4"},
        {"Bucket": "nobucket", "Name": "sample.mp4"},
        {"Bucket": "videos", "Name": "sample.mp4", "Version": "v2"},
        {"Bucket": "videos", "Name": "sub"},
    ],
)
def test_missing_objects_are_invalid_s3_object(clients, s3):
    (clients.bucket_root / "videos" / "sub").mkdir()
    c = clients()
    with pytest.raises(c.exceptions.InvalidS3ObjectException) as e:
        c.start_person_tracking(Video={"S3Object": s3})
    assert code_of(e) == "InvalidS3ObjectException"


def test_symlink_out_of_the_root_is_access_denied(clients, sample_video, tmp_path):
    outside = tmp_path / "outside.mp4"
    outside.write_bytes(sample_video.read_bytes())
    (clients.bucket_root / "videos" / "link.mp4").symlink_to(outside)
    c = clients()
    with pytest.raises(c.exceptions.AccessDeniedException) as e:
        c.start_person_tracking(Video={"S3Object": {"Bucket": "videos", "Name": "link.mp4"}})
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_video_over_10_gb_is_too_large(clients):
    big = clients.bucket_root / "videos" / "big.mp4"
    with open(big, "wb") as f:  # sparse: takes no disk space
        f.truncate(10 * 1024**3 + 1)
    c = clients()
    with pytest.raises(c.exceptions.VideoTooLargeException, match="GB"):
        c.start_person_tracking(Video={"S3Object": {"Bucket": "videos", "Name": "big.mp4"}})


def test_video_over_6_hours_is_too_large(clients):
    import av
    import numpy as np

    path = clients.bucket_root / "videos" / "long.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=1)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        stream.codec_context.time_base = __import__("fractions").Fraction(1, 1)
        for pts in (0, 6 * 3600 + 60):
            frame = av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")
            frame.pts = pts
            frame.time_base = stream.codec_context.time_base
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    assert path.stat().st_size < 100_000
    c = clients()
    with pytest.raises(c.exceptions.VideoTooLargeException, match="h"):
        c.start_person_tracking(Video={"S3Object": {"Bucket": "videos", "Name": "long.mp4"}})


def test_too_many_requests_per_second_is_throttled(clients):
    c = clients(max_requests_per_second=3)
    with pytest.raises(c.exceptions.ThrottlingException) as e:
        for _ in range(10):
            try:
                c.get_person_tracking(JobId="nope")
            except c.exceptions.ResourceNotFoundException:
                pass
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    time.sleep(1.0)
    with pytest.raises(c.exceptions.ResourceNotFoundException):  # allowed again
        c.get_person_tracking(JobId="nope")


def test_a_locked_store_is_provisioned_throughput_exceeded(clients):
    c = clients(busy_timeout=0.2)
    blocker = sqlite3.connect(clients.data_dir / "jobs.sqlite3", isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(c.exceptions.ProvisionedThroughputExceededException):
            c.start_person_tracking(Video=VIDEO)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert c.start_person_tracking(Video=VIDEO)["JobId"]


def test_a_corrupt_store_is_internal_server_error(clients):
    clients.data_dir.mkdir(parents=True)
    (clients.data_dir / "jobs.sqlite3").write_bytes(b"this is not a database" * 100)
    with pytest.raises(PersonTrackingClient.exceptions.InternalServerError) as e:
        clients()
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500


def test_every_rekognition_error_is_on_client_exceptions(clients):
    c = clients()
    for name, cls in ERRORS.items():
        assert getattr(c.exceptions, name) is cls
        assert issubclass(cls, ClientError)
    assert c.exceptions.ClientError is ClientError


# -- pagination tokens ------------------------------------------------------------------


def test_next_token_is_tied_to_job_sort_and_time(clients):
    c = clients(settings={"rows": 30})
    a = c.start_person_tracking(Video=VIDEO)["JobId"]
    b = c.start_person_tracking(Video=VIDEO)["JobId"]
    c.wait(a, timeout=60)
    c.wait(b, timeout=60)
    token = c.get_person_tracking(JobId=a, MaxResults=10)["NextToken"]
    assert len(token) <= 255
    assert len(c.get_person_tracking(JobId=a, NextToken=token)["Persons"]) == 20

    def bad(**kw):
        with pytest.raises(c.exceptions.InvalidPaginationTokenException) as e:
            c.get_person_tracking(**kw)
        assert code_of(e) == "InvalidPaginationTokenException"
        return str(e.value)

    assert "another job" in bad(JobId=b, NextToken=token)
    assert "SortBy" in bad(JobId=a, NextToken=token, SortBy="INDEX")
    flipped = token[:5] + ("A" if token[5] != "A" else "B") + token[6:]
    bad(JobId=a, NextToken=flipped)
    bad(JobId=a, NextToken="garbage")
    bad(JobId=a, NextToken="")
    job = c.store.get_job(a)

    def issued_hours_ago(hours):
        return c.signer.sign(
            job_id=job["job_id"],
            job_key=job["job_key"],
            generation=job["generation"],
            sort_by="TIMESTAMP",
            offset=10,
            issued=time.time() - hours * 3600,
        )

    assert "expired" in bad(JobId=a, NextToken=issued_hours_ago(25))
    fresh = issued_hours_ago(23)
    assert len(c.get_person_tracking(JobId=a, NextToken=fresh)["Persons"]) == 20


def test_signing_key_is_private_and_stable(clients):
    c = clients()
    key = clients.data_dir / "signing.key"
    assert key.stat().st_mode & 0o777 == 0o600
    before = key.read_bytes()
    clients()
    assert key.read_bytes() == before
    assert c.signer._key == before


def test_truncated_signing_key_is_a_named_error(tmp_path):
    from persontrack.jobs._tokens import load_or_create_key

    (tmp_path / "signing.key").write_bytes(b"")  # its creator died before writing
    with pytest.raises(ERRORS["InternalServerError"], match="delete it"):
        load_or_create_key(tmp_path)


# -- notifications ----------------------------------------------------------------------


def test_callable_notification_gets_rekognitions_message(clients):
    received = []
    c = clients()
    job_id = c.start_person_tracking(Video=VIDEO, JobTag="cb", NotificationChannel=received.append)[
        "JobId"
    ]
    c.wait(job_id, timeout=60)
    deadline = time.monotonic() + 10
    while not received and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(received) == 1
    message = received[0]
    assert list(message) == ["JobId", "Status", "API", "JobTag", "Timestamp", "Video"]
    assert message["JobId"] == job_id and message["Status"] == "SUCCEEDED"
    assert message["API"] == "StartPersonTracking" and message["JobTag"] == "cb"
    assert message["Video"] == {"S3ObjectName": "sample.mp4", "S3Bucket": "videos"}
    assert abs(message["Timestamp"] / 1000 - time.time()) < 60


def test_webhook_notification_reaches_a_local_http_server(clients):
    import http.server
    import threading

    bodies = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            bodies.append(
                (self.headers["Content-Type"], self.rfile.read(int(self.headers["Content-Length"])))
            )
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        c = clients(settings={"fail": "boom"})
        url = f"http://127.0.0.1:{server.server_port}/done"
        job_id = c.start_person_tracking(Video=VIDEO, NotificationChannel=url)["JobId"]
        c.wait(job_id, timeout=60)
        deadline = time.monotonic() + 10
        while not bodies and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        server.shutdown()
    assert len(bodies) == 1
    content_type, body = bodies[0]
    assert content_type == "application/json"
    message = json.loads(body)
    assert message["JobId"] == job_id and message["Status"] == "FAILED"
    assert "JobTag" not in message
    assert c.describe_job(job_id)["NotificationError"] is None


def test_module_level_functions_use_the_environment(clients, monkeypatch):
    monkeypatch.setenv("PERSONTRACK_DATA_DIR", str(clients.data_dir))
    monkeypatch.setenv("PERSONTRACK_BUCKET_ROOT", str(clients.bucket_root))
    ptc = sys.modules[
        "persontrack.jobs.client"
    ]  # the module; `persontrack.jobs.client` may be the function
    monkeypatch.setattr(ptc, "_default", None)
    c = clients()
    job_id = c.start_person_tracking(Video=VIDEO)["JobId"]
    c.wait(job_id, timeout=60)
    page = ptc.get_person_tracking(JobId=job_id)
    assert page["JobStatus"] == "SUCCEEDED" and len(page["Persons"]) == 50
    clients.made.append(ptc._default)
