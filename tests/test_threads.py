"""The thread budget: what a Dask task may use of OpenVINO, OpenCV and the cores."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import pytest

from persontrack.errors import InvalidParameterException
from persontrack.segments import Segment, run_segment
from persontrack.threads import limit_threads, pin_process, thread_budget

REPORT = f"{Path(__file__).with_name('threads_fakes.py')}:report_threads"


def test_limit_threads_sets_and_restores_opencv_and_the_budget():
    before = cv2.getNumThreads()
    with limit_threads(1):
        assert thread_budget() == 1 and cv2.getNumThreads() == 1
        with limit_threads(2):
            assert thread_budget() == 2
        assert thread_budget() == 1
    assert thread_budget() is None and cv2.getNumThreads() == before
    with limit_threads(None):
        assert thread_budget() is None


@pytest.mark.parametrize("bad", [0, -1, True, 1.5, "1"])
def test_bad_budgets_are_refused(bad):
    with pytest.raises(InvalidParameterException, match="threads"):
        with limit_threads(bad):
            pass
    assert thread_budget() is None


def test_openvino_models_compile_with_the_budget(sample_video):
    whole = Segment(0, 0, 0, None)
    with limit_threads(1):
        inside = run_segment(REPORT, str(sample_video), None, whole).metadata
    assert inside == {"budget": 1, "cv2": 1, "detector": 1, "reid": 1}
    # outside a budget: OpenVINO's own choice for the detector, 2 for the embedder
    outside = run_segment(REPORT, str(sample_video), None, whole).metadata
    assert outside["budget"] is None and outside["reid"] == 2
    assert outside["detector"] in (0, os.cpu_count())  # 0: "all cores" in OpenVINO


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity here")
def test_pin_process_keeps_to_allowed_cores():
    mine = sorted(os.sched_getaffinity(0))
    try:
        assert pin_process([mine[0], 10_000]) == [mine[0]]
        assert pin_process([10_000]) == [mine[0]]  # none allowed: unchanged
    finally:
        os.sched_setaffinity(0, mine)


def test_budgets_of_tasks_running_at_once_last_until_the_last_ends():
    import threading

    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def first():
        with limit_threads(1):
            first_in.set()
            second_in.wait(10)
        first_out.set()

    def second():
        first_in.wait(10)
        with limit_threads(1):
            second_in.set()
            first_out.wait(10)
            seen["after first ended"] = (thread_budget(), cv2.getNumThreads())

    before = cv2.getNumThreads()
    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert seen == {"after first ended": (1, 1)}
    assert thread_budget() is None and cv2.getNumThreads() == before


def test_auto_backend_reads_with_pyav_under_a_budget(sample_video):
    import importlib.util

    from persontrack.io.video import open_video

    with limit_threads(1), open_video(sample_video) as video:
        budgeted = video.backend
        frames = [f.image for f in video.frames(every_n=12)]
    with open_video(sample_video) as video:
        free = video.backend
        assert len(frames) == sum(1 for _ in video.frames(every_n=12)) > 0
    # PyAV keeps to the budget; decord, when installed, is the choice without one
    assert budgeted == "pyav"
    assert free == ("decord" if importlib.util.find_spec("decord") else "pyav")
