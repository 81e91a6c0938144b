"""Hostile buckets and objects: names that try to leave the bucket root, files swapped after
StartPersonTracking, special files.

Defect 1 of issue 14: a file replaced by a symlink to a video outside the bucket root after
StartPersonTracking was read by the worker. The worker now opens the checked path itself,
component by component without following links, and fails the job otherwise.
"""

from __future__ import annotations

import os
import shutil
import sqlite3

import pytest
from jobs_support import VIDEO, wait_state

from persontrack.errors import AccessDeniedException, InvalidS3ObjectException
from persontrack.jobs._storage import LocalBuckets, open_source


def integrity_ok(data_dir) -> bool:
    with sqlite3.connect(data_dir / "jobs.sqlite3") as db:
        return db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.fixture
def outside(tmp_path, sample_video):
    """A video outside the bucket root."""
    folder = tmp_path / "outside"
    folder.mkdir()
    path = folder / "secret.mp4"
    shutil.copy(sample_video, path)
    return path


def _held_then(clients, name):
    """A client whose one worker is held by a gated job, and a second job queued for ``name``."""
    c = clients(settings=clients.gated(), max_workers=1)
    first = c.start_person_tracking(Video=VIDEO)["JobId"]
    wait_state(c, first, {"RUNNING"})
    queued = c.start_person_tracking(Video={"S3Object": {"Bucket": "videos", "Name": name}})
    assert c.store.get_job(queued["JobId"])["state"] == "QUEUED"
    return c, first, queued["JobId"]


def test_file_swapped_for_a_symlink_after_start_fails_the_job(clients, sample_video, outside):
    (clients.bucket_root / "videos" / "vids").mkdir()
    swap = clients.bucket_root / "videos" / "vids" / "swap.mp4"
    shutil.copy(sample_video, swap)
    c, first, job = _held_then(clients, "vids/swap.mp4")
    swap.unlink()
    swap.symlink_to(outside)
    clients.open_gate()
    done = c.wait(job, timeout=60)
    assert done["JobStatus"] == "FAILED"
    assert done["StatusMessage"].startswith("AccessDeniedException"), done["StatusMessage"]
    assert done["VideoMetadata"] is None
    assert c.wait(first, timeout=60)["JobStatus"] == "SUCCEEDED"
    assert integrity_ok(clients.data_dir)


def test_folder_swapped_for_a_symlink_after_start_fails_the_job(clients, sample_video, outside):
    vids = clients.bucket_root / "videos" / "vids"
    vids.mkdir()
    shutil.copy(sample_video, vids / "secret.mp4")
    c, _, job = _held_then(clients, "vids/secret.mp4")
    shutil.rmtree(vids)
    vids.symlink_to(outside.parent, target_is_directory=True)
    clients.open_gate()
    done = c.wait(job, timeout=60)
    assert done["JobStatus"] == "FAILED"
    assert "AccessDeniedException" in done["StatusMessage"]


def test_file_deleted_after_start_fails_with_invalid_s3_object(clients, sample_video):
    gone = clients.bucket_root / "videos" / "gone.mp4"
    shutil.copy(sample_video, gone)
    c, _, job = _held_then(clients, "gone.mp4")
    gone.unlink()
    clients.open_gate()
    done = c.wait(job, timeout=60)
    assert done["JobStatus"] == "FAILED"
    assert done["StatusMessage"].startswith("InvalidS3ObjectException"), done["StatusMessage"]


def test_file_swapped_for_a_fifo_fails_without_hanging(clients, sample_video):
    fifo = clients.bucket_root / "videos" / "fifo.mp4"
    shutil.copy(sample_video, fifo)
    c, _, job = _held_then(clients, "fifo.mp4")
    fifo.unlink()
    os.mkfifo(fifo)
    clients.open_gate()
    done = c.wait(job, timeout=30)
    assert done["JobStatus"] == "FAILED"
    assert "InvalidS3ObjectException" in done["StatusMessage"]


def test_open_source_reads_the_checked_file(tmp_path, sample_video):
    (tmp_path / "b0b").mkdir()
    shutil.copy(sample_video, tmp_path / "b0b" / "v.mp4")
    source = LocalBuckets(tmp_path).locate({"Bucket": "b0b", "Name": "v.mp4"})
    with open_source(source, tmp_path / "work") as path:
        assert path.read_bytes() == sample_video.read_bytes()
        # replacing the file now changes nothing for the reader: it holds the checked file
        (tmp_path / "b0b" / "v.mp4").unlink()
        (tmp_path / "b0b" / "v.mp4").write_bytes(b"other")
        assert path.read_bytes() == sample_video.read_bytes()


def test_open_source_refuses_a_path_outside_its_root(tmp_path, outside):
    source = {"kind": "local", "path": str(outside), "root": str(tmp_path / "buckets")}
    with pytest.raises(AccessDeniedException), open_source(source, tmp_path):
        pass


def test_open_source_refuses_a_directory(tmp_path):
    (tmp_path / "b0b" / "d").mkdir(parents=True)
    source = {"kind": "local", "path": str(tmp_path / "b0b" / "d"), "root": str(tmp_path)}
    with pytest.raises(InvalidS3ObjectException), open_source(source, tmp_path):
        pass
