"""What the job store keeps, for how long, and that deleting a job deletes it (README "What
persontrack stores"): real worker processes, a real SQLite store, the bytes of its files."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from jobs_support import FAKE_TRACKER, VIDEO


def _contents(root: Path) -> dict[Path, bytes]:
    """The bytes of every file under ``root`` (the runner's dask.json may vanish meanwhile)."""
    out = {}
    for p in root.rglob("*"):
        try:
            if p.is_file():
                out[p] = p.read_bytes()
        except FileNotFoundError:
            pass
    return out


def _stored(data_dir: Path, job_id: str) -> tuple[list[str], list[str]]:
    """The job's row and result rows as stored (JSON texts), read before it is deleted."""
    with sqlite3.connect(data_dir / "jobs.sqlite3") as db:
        key, request = db.execute(
            "SELECT job_key, request FROM jobs WHERE job_id = ?", (job_id,)
        ).fetchone()
        rows = db.execute("SELECT person, row FROM results WHERE job_key = ?", (key,)).fetchall()
    texts = [t for r in rows for t in r]
    # every float of a fake row has 15-17 digits: found anywhere, it is a piece of the row
    values = sorted(
        {
            repr(v)
            for text in texts[1::2]
            for k, v in json.loads(text).items()
            if k in ("Left", "Top") and isinstance(v, float) and len(repr(v)) > 12
        }
    )
    return [request, *texts], values


def _finished_job(c, **request) -> str:
    job_id = c.start_person_tracking(Video=VIDEO, **request)["JobId"]
    assert c.wait(job_id, timeout=120)["JobStatus"] == "SUCCEEDED"
    return job_id


def test_delete_job_leaves_no_byte_of_the_job_in_the_data_dir(clients):
    c = clients(settings={"rows": 300})
    tag, token = f"tag-{uuid.uuid4().hex}", f"token-{uuid.uuid4().hex}"
    kept = _finished_job(c)
    job_id = _finished_job(
        clients(settings={"rows": 300, "seed": 7}), JobTag=tag, ClientRequestToken=token
    )
    texts, values = _stored(clients.data_dir, job_id)
    assert len(texts) > 600 and len(values) > 300
    # the check can see it
    assert any(job_id.encode() in b for b in _contents(clients.data_dir).values())

    log = clients.data_dir / "logs" / "runner.log"
    with log.open("ab") as f:  # as a traceback of the job would
        f.write(f"kept line\nerror in job-{job_id[:12]}: {job_id} failed\n".encode())
    c.delete_job(job_id)

    assert b"kept line\n" in log.read_bytes()
    needles = [job_id, tag, token, *texts, *values]
    for path, data in _contents(clients.data_dir).items():
        found = [n for n in needles if n.encode() in data]
        assert not found, f"{path.name} still holds {found[:3]}"
    # the other job is whole
    assert len(c.get_dataframe(kept)) == 300


def test_purge_deletes_only_finished_jobs_older_than_the_limit(clients):
    c = clients()
    old = _finished_job(clients(settings={"rows": 50, "seed": 3}), JobTag="old")
    recent = _finished_job(c)
    with sqlite3.connect(clients.data_dir / "jobs.sqlite3") as db:
        db.execute(
            "UPDATE jobs SET finished_at = ? WHERE job_id = ?", (time.time() - 31 * 86400, old)
        )
    waiting = c.start_person_tracking(Video=VIDEO, JobTag="waiting")["JobId"]
    texts, _ = _stored(clients.data_dir, old)
    assert c.purge_jobs(OlderThanDays=30) == [old]
    assert sorted(c.list_jobs()["JobId"]) == sorted([recent, waiting])
    for path, data in _contents(clients.data_dir).items():
        found = [n for n in [old, *texts] if n.encode() in data]
        assert not found, f"{path.name} still holds {found[:2]}"
    with pytest.raises(c.exceptions.InvalidParameterException):
        c.purge_jobs(OlderThanDays=-1)
    c.wait(waiting, timeout=120)


def _cli(clients, *args):
    cmd = [sys.executable, "-m", "persontrack.cli", *args]
    cmd += ["--data-dir", str(clients.data_dir), "--bucket-root", str(clients.bucket_root)]
    env = {**os.environ, "PERSONTRACK_TRACKER": FAKE_TRACKER}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)


def test_jobs_delete_and_purge_commands(clients):
    c = clients()
    a, b = _finished_job(c), _finished_job(c)
    done = _cli(clients, "jobs", "delete", a)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"JobId": a, "Deleted": True}
    assert list(c.list_jobs()["JobId"]) == [b]
    again = _cli(clients, "jobs", "delete", a)
    assert again.returncode == 2 and "ResourceNotFoundException" in again.stderr
    assert json.loads(_cli(clients, "jobs", "purge", "--older-than", "1").stdout) == {"Deleted": []}
    purged = _cli(clients, "jobs", "purge", "--older-than", "0")
    assert json.loads(purged.stdout) == {"Deleted": [b]}
    assert c.list_jobs().empty


def test_store_is_private_to_its_owner_whatever_the_umask(clients):
    old = os.umask(0o022)
    try:
        c = clients()
        _finished_job(c)
        modes = {
            p.relative_to(clients.data_dir).as_posix(): oct(p.stat().st_mode & 0o777)
            for p in [clients.data_dir, *clients.data_dir.rglob("*")]
        }
    finally:
        os.umask(old)
    assert modes.pop(".") == "0o700"
    assert {"jobs.sqlite3", "jobs.sqlite3-wal", "jobs.sqlite3-shm", "signing.key"} <= set(modes)
    assert "logs/runner.log" in modes
    # README "What persontrack stores": these files and folders, nothing else
    documented = {"jobs.sqlite3", "jobs.sqlite3-wal", "jobs.sqlite3-shm", "signing.key"}
    documented |= {"logs", "logs/runner.log", "tmp", "dask.json"}
    assert set(modes) <= documented, set(modes) - documented
    wrong = {
        name: mode
        for name, mode in modes.items()
        if mode != ("0o700" if (clients.data_dir / name).is_dir() else "0o600")
    }
    assert not wrong


def test_an_existing_world_readable_store_is_made_private(tmp_path):
    from persontrack.jobs._store import JobStore

    store = JobStore(tmp_path / "jobs.sqlite3")
    store.list_jobs()
    for name in ("jobs.sqlite3", "jobs.sqlite3-wal", "jobs.sqlite3-shm"):
        os.chmod(tmp_path / name, 0o644)
    store.close()
    JobStore(tmp_path / "jobs.sqlite3").list_jobs()
    for name in ("jobs.sqlite3", "jobs.sqlite3-wal", "jobs.sqlite3-shm"):
        assert oct((tmp_path / name).stat().st_mode & 0o777) == "0o600", name


def _stored_keys(rows) -> set[str]:
    keys: set[str] = set()
    for *_, person, row in rows:
        keys |= set(json.loads(row))
        keys |= _nested_keys(json.loads(person))
    return keys


def _nested_keys(value) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _nested_keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _nested_keys(v)}
    return set()


def test_what_a_job_stores_is_its_rows_without_embeddings_or_pixels(sample_video):
    """The rows a job runner stores for a real tracking run: the results table's columns
    and the PersonDetection fields, no appearance embedding, no image."""
    from persontrack.jobs._worker import chunk_rows
    from persontrack.pipeline import TrackingSettings, track_video
    from persontrack.schema import COLUMNS

    result = track_video(sample_video, TrackingSettings(max_frames=40))
    rows = chunk_rows(result.frame, 0)
    assert rows and result.frame["BodyLandmarks"].notna().any()
    row_keys = {k for *_, row in rows for k in json.loads(row)}
    assert row_keys == set(COLUMNS)
    longest = max(
        len(v) for *_, row in rows for v in json.loads(row).values() if isinstance(v, list)
    )
    assert longest == 33  # the body landmarks; an embedding would be 256 or 512 numbers
    assert not {k for k in _stored_keys(rows) if "mbed" in k or "Image" in k or "Pixel" in k}


def test_faces_and_landmarks_off_store_none(sample_video):
    from persontrack.jobs._worker import chunk_rows
    from persontrack.pipeline import TrackingSettings, track_video

    settings = TrackingSettings(max_frames=40, faces=False, landmarks=False)
    rows = chunk_rows(track_video(sample_video, settings).frame, 0)
    assert rows
    for *_, person, row in rows:
        stored = json.loads(row)
        assert stored["BodyLandmarks"] is None and stored["FaceLandmarks"] is None
        assert all(stored[c] is None for c in stored if c.startswith("Face"))
        assert "Face" not in json.loads(person)["Person"]
