"""Each stage of the tracker on its own (persontrack/tracking/{motion,appearance,cascade}.py)."""

from __future__ import annotations

import numpy as np
import pytest

from persontrack.tracking import appearance as app
from persontrack.tracking.cascade import Association, cascade
from persontrack.tracking.config import TrackerConfig
from persontrack.tracking.motion import KalmanBoxes, camera_shift, size_gate
from persontrack.tracking.state import _CONFIRMED, _LOST, _TENTATIVE
from persontrack.vision.detections import Detections

P = TrackerConfig()


def box(cx: float, h: float = 100.0) -> list[float]:
    return [cx - h / 4, 200.0, cx + h / 4, 200.0 + h]


def test_kalman_learns_a_velocity_and_a_lost_track_slows_down():
    kf = KalmanBoxes(P)
    kf.add(np.array([box(100.0)]))
    for k in range(1, 10):  # 100 px/s to the right, measured every 0.1 s
        kf.predict(0.1, np.zeros(1, bool))
        kf.correct(np.array([0]), np.array([box(100.0 + 10 * k)]))
    assert kf.v[0, 0] == pytest.approx(100.0, rel=0.2)
    moving, lost = KalmanBoxes(P), KalmanBoxes(P)
    for f in (moving, lost):
        f.x, f.v = kf.x.copy(), kf.v.copy()
        f.pxx, f.pxv, f.pvv, f.seen_h = kf.pxx.copy(), kf.pxv.copy(), kf.pvv.copy(), kf.seen_h
    moving.predict(2.0, np.zeros(1, bool))
    lost.predict(2.0, np.ones(1, bool))  # velocity decays (lost_velocity_decay_ms)
    assert lost.x[0, 0] < moving.x[0, 0]
    assert kf.centre_sigmas(np.array([0]), np.array([box(190.0)]))[0, 0] < 1.0


def test_camera_shift_needs_enough_people_who_agree():
    x = np.array([[100.0 * i, 250.0, 50.0, 100.0] for i in range(1, 7)])
    dets = np.array([box(100.0 * i + 30.0) for i in range(1, 7)])  # everyone 30 px right
    cost = np.full((6, 6), 1.0)
    np.fill_diagonal(cost, 0.3)
    high = np.arange(6)
    shift = camera_shift(P, cost, x, dets, high, np.arange(6))
    assert shift is not None and shift[0] == pytest.approx(30.0)
    assert camera_shift(P, cost, x, dets, high, np.arange(4)) is None  # 4 < 5 people


def test_size_gate_vetoes_only_lost_tracks_and_very_different_heights():
    cost = np.zeros((2, 2))
    dets = np.array([box(100.0, 100.0), box(300.0, 300.0)])
    out = size_gate(cost, dets, np.array([1]), np.array([100.0, 100.0]), 2.5)
    assert out[0].tolist() == [0.0, 0.0]  # track 0 is not lost
    assert out[1].tolist() == [0.0, np.inf]  # 3x the height it was last seen at


def test_unoccluded_blend_and_rescue():
    a, b = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    xyxy = np.array([box(100.0), box(110.0), box(400.0)])
    assert app.unoccluded(xyxy, xyxy[2:], 0.3).tolist() == [False, False, True]
    new = app.blend(np.array([a, [np.nan, np.nan]]), np.array([b, b]), 0.9)
    assert np.allclose(np.linalg.norm(new, axis=1), 1.0)
    assert new[0] @ a > 0.99 and new[1] @ b == pytest.approx(1.0)
    feat = np.array([a, b])
    pred = np.array([box(100.0), box(400.0)])
    r, c = app.rescue(P, feat, pred, np.array([b, a]), np.array([box(400.0), box(900.0)]))
    assert (r.tolist(), c.tolist()) == ([1], [0])  # alike and near; the far one is not


def test_cascade_weak_boxes_only_continue_tracks_seen_last_update():
    state = np.array([_CONFIRMED, _LOST, _TENTATIVE], np.int8)
    dets = Detections(np.array([box(100.0), box(300.0), box(500.0)]), np.array([0.3, 0.3, 0.9]))
    a = Association.start(P, dets, None, state, 0.0)
    a.cost = np.full((3, 3), 5.0)
    a.cost[0, 0] = a.cost[1, 1] = a.cost[2, 2] = 0.1
    cascade(P, a, np.zeros((3, 0)), np.zeros((3, 4)))
    # The weak box near the confirmed track continues it; the one near the lost track
    # does not; the confident leftover continues the tentative track.
    assert a.det_track.tolist() == [0, -1, 2]
    assert a.matched.tolist() == [True, False, True]
