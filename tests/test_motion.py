"""Motion regions (background subtraction) on the sample video, and in the pipeline."""

from __future__ import annotations

import av
import numpy as np
import pytest

import persontrack as pt
from persontrack.errors import InvalidParameterException
from persontrack.vision.motion import MotionRegions


@pytest.fixture(scope="module")
def sample_result_frame(sample_video):
    return pt.track_video(sample_video, {"faces": False}).frame


@pytest.fixture(scope="module")
def frames(sample_video) -> list[np.ndarray]:
    with av.open(str(sample_video)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def test_moving_people_are_inside_motion_regions(frames, sample_result_frame) -> None:
    motion = MotionRegions()
    people = sample_result_frame
    covered = total = 0
    for i, image in enumerate(frames):
        boxes = motion.update(image)
        if i < motion.warmup:
            assert len(boxes) == 0
            continue
        assert boxes.shape[1] == 4 and len(boxes) <= motion.max_regions
        assert np.all((boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1]))
        for _, p in people[people["FrameNumber"] == i].iterrows():
            cx = (p["Left"] + p["Width"] / 2) * image.shape[1]
            cy = (p["Top"] + p["Height"] / 2) * image.shape[0]
            total += 1
            covered += bool(
                np.any(
                    (boxes[:, 0] <= cx)
                    & (cx <= boxes[:, 2])
                    & (boxes[:, 1] <= cy)
                    & (cy <= boxes[:, 3])
                )
            )
    # The two people walk over a still background: nearly always inside a moving blob.
    assert total > 50 and covered / total > 0.8, (covered, total)


def test_a_still_scene_gives_no_regions() -> None:
    still = np.random.default_rng(1).integers(0, 255, (90, 160, 3), dtype=np.uint8)
    motion = MotionRegions(warmup=5)
    assert all(len(motion.update(still)) == 0 for _ in range(30))
    motion.reset()
    assert len(motion.update(still)) == 0


@pytest.mark.parametrize(
    "kwargs",
    [{"history": 0}, {"warmup": 1.5}, {"min_area": 0}, {"margin": 2}, {"max_regions": True}],
)
def test_bad_motion_settings(kwargs) -> None:
    with pytest.raises(InvalidParameterException):
        MotionRegions(**kwargs)


def test_pipeline_with_motion_regions(sample_video) -> None:
    df = pt.track_video(sample_video, {"motion_regions": True, "faces": False}).frame
    assert df["Index"].nunique() == 2
    assert df.groupby("Index").size().min() >= 20
