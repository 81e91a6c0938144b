"""persontrack phones no one and forks nothing: run as a user runs it (``CI`` unset, a new HOME).

Each test runs persontrack in a fresh interpreter under an audit hook (``quiet_probe.py``)
that records forks, started processes and socket connections. OpenVINO's telemetry used to
fork a process from a thread and send an event to Google Analytics on every ``import
openvino`` unless ``CI=true``, and MediaPipe's audio package ran gcc, ld and ldconfig
looking for PortAudio; these tests fail on that code.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from procs import reap
from stream.stream_server import StreamServer, ffmpeg_path, free_port

PROBE = Path(__file__).with_name("quiet_probe.py")

SUBPROCESSES_ALLOWED = {"lscpu", "fc-list"}
"""Programs another library may still start, once, without a fork from a thread: numpy 1.x's
``numpy.testing`` runs ``lscpu`` when scipy imports it, and matplotlib (imported by mediapipe)
runs ``fc-list`` once to build its font cache. Neither opens a connection."""


def user_env(home: Path) -> dict[str, str]:
    """The environment of a user's first run: a new, empty HOME and no ``CI``."""
    env = {k: v for k, v in os.environ.items() if k not in {"CI", "TF_BUILD", "JENKINS_URL"}}
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"))
    env.pop("PERSONTRACK_MODEL_DIR", None)
    env.pop("XDG_CONFIG_HOME", None)
    return env


def probe(tmp_path: Path, *args: str, timeout: float = 300) -> list[list[str]]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    report = tmp_path / "report.json"
    done = subprocess.run(
        [sys.executable, str(PROBE), str(report), *args],
        env=user_env(home),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return list(json.loads(report.read_text())["events"])


def assert_quiet(events: list[list[str]], home: Path, loopback_ok: bool = False) -> None:
    forks = [e for e in events if e[0] == "os.fork"]
    assert not forks, events
    programs = {Path(e[1]).name for e in events if e[0] != "os.fork" and e[0] != "socket.connect"}
    assert programs <= SUBPROCESSES_ALLOWED, events
    connects = [e[1] for e in events if e[0] == "socket.connect"]
    if loopback_ok:
        connects = [c for c in connects if "'127.0.0.1'" not in c]
    assert not connects, events
    assert not (home / "intel").exists(), sorted(p.name for p in home.iterdir())
    # Nothing in HOME outside ~/.cache, but for matplotlib's (empty) configuration folder.
    written = {p.relative_to(home).as_posix() for p in home.rglob("*")}
    assert written - {".config", ".config/matplotlib"} <= {
        w for w in written if w.startswith(".cache")
    }, written


def test_import_starts_nothing(tmp_path):
    assert probe(tmp_path, "-c", "import persontrack") == []
    # the names load their modules on first use: OpenVINO and MediaPipe among them
    code = "import persontrack as pt; pt.PersonDetector(); pt.FaceAnalyzer(); pt.track_video"
    assert_quiet(probe(tmp_path, "-c", code), tmp_path / "home")


def test_track_video_with_landmarks_faces_and_appearance(tmp_path, sample_video):
    code = (
        "import sys, persontrack as pt\n"
        "r = pt.track_video(sys.argv[1], {'landmarks': True, 'faces': True,"
        " 'appearance': '0287'})\n"
        "assert len(r.frame) > 20 and r.frame['FaceConfidence'].notna().any()\n"
        "assert r.frame['BodyLandmarks'].notna().any()\n"
    )
    events = probe(tmp_path, "-c", code, str(sample_video))
    assert_quiet(events, tmp_path / "home")


def test_cli_on_a_stream_until_ctrl_c_exits_and_leaves_no_process(tmp_path, sample_video):
    ffmpeg = ffmpeg_path()
    url = f"udp://127.0.0.1:{free_port()}"
    home = tmp_path / "home"
    home.mkdir()
    report = tmp_path / "report.json"
    server = StreamServer(ffmpeg, sample_video, url).start()
    # stdout is a pipe to a consumer, as in `persontrack track udp://… | consumer`
    cmd = [sys.executable, str(PROBE), str(report), "-m", "persontrack.cli", "track", url]
    proc = subprocess.Popen(
        cmd,
        env=user_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        os.set_blocking(proc.stdout.fileno(), False)
        got = b""
        end = time.monotonic() + 120
        while time.monotonic() < end and got.count(b"\n") < 3:
            assert proc.poll() is None, reap(proc)
            got += proc.stdout.read() or b""
            time.sleep(0.3)
        assert got.count(b"\n") >= 3, reap(proc)
        proc.send_signal(signal.SIGINT)
        # the consumer's end of the pipe sees end-of-file: no process is left holding it
        out, err = proc.communicate(timeout=30)
    finally:
        leftover = reap(proc)
        server.stop()
        try:
            os.killpg(proc.pid, 0)
            alive = True
        except ProcessLookupError:
            alive = False
        if alive:
            os.killpg(proc.pid, signal.SIGKILL)
    assert not alive, "a process of the CLI's session outlived it"
    assert proc.returncode == 0, (err or leftover[1])[-2000:]
    assert_quiet(json.loads(report.read_text())["events"], home)


@pytest.mark.parametrize("consumer", ["cat"])
def test_track_video_into_a_pipe_exits(tmp_path, sample_video, consumer):
    """`persontrack track VIDEO | cat` ends, with the response on the pipe."""
    home = tmp_path / "home"
    home.mkdir()
    track = subprocess.Popen(
        [sys.executable, "-m", "persontrack.cli", "track", str(sample_video), "--no-faces"],
        env=user_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    assert track.stdout is not None
    cat = subprocess.Popen([consumer], stdin=track.stdout, stdout=subprocess.PIPE)
    track.stdout.close()
    try:
        out, _ = cat.communicate(timeout=240)
        track.wait(timeout=30)
    finally:
        reap(track)
        reap(cat)
    assert track.returncode == 0 and cat.returncode == 0
    assert json.loads(out)["JobStatus"] == "SUCCEEDED"
    assert not (home / "intel").exists()
