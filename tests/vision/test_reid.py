"""Appearance embeddings (persontrack.vision.reid) on real pixels."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from persontrack.errors import InternalServerError, InvalidParameterException
from persontrack.vision import reid
from persontrack.vision.reid import REID_MODELS, AppearanceEmbedder, cosine_distance


@pytest.fixture(scope="module")
def photo(grace_hopper) -> np.ndarray:
    """The sample photograph as BGR, as the video readers give frames."""
    return np.ascontiguousarray(grace_hopper[:, :, ::-1])


@pytest.mark.parametrize("model", sorted(REID_MODELS))
def test_same_person_is_closer_than_something_else(photo, model):
    emb = AppearanceEmbedder(model)
    h, w = photo.shape[:2]
    person = [w * 0.15, h * 0.05, w * 0.85, h * 0.98]
    shifted = [w * 0.18, h * 0.08, w * 0.88, h * 0.99]  # the same person, boxed a bit off
    background = [0.0, 0.0, w * 0.12, h * 0.5]  # the backdrop beside her
    frame2 = photo[:, ::-1].copy()  # mirrored: still the same person
    e = emb.embed(photo, np.array([person, background]))
    e2 = emb.embed(frame2, np.array([[w - person[2], person[1], w - person[0], person[3]]]))
    e3 = emb.embed(photo, np.array([shifted]))
    assert e.shape == (2, emb.dimension) == (2, 256)
    assert e.dtype == np.float32
    assert np.allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)
    d = cosine_distance(e[:1], np.vstack([e2, e3, e[1:]]))[0]
    assert d[0] < 0.3 and d[1] < 0.3
    assert d[2] > d[0] + 0.2 and d[2] > d[1] + 0.2


def test_small_and_empty_boxes_get_nan_and_inputs_are_not_mutated(photo):
    emb = AppearanceEmbedder("0287", min_height=50)
    boxes = np.array([[10.0, 10, 40, 50], [-100, -100, -10, -10], [10, 10, 200, 300]])
    before_boxes, before_photo = boxes.copy(), photo.copy()
    e = emb.embed(photo, boxes)
    assert np.isnan(e[0]).all() and np.isnan(e[1]).all()
    assert np.isfinite(e[2]).all()
    assert np.array_equal(boxes, before_boxes) and np.array_equal(photo, before_photo)
    assert emb.embed(photo, np.zeros((0, 4))).shape == (0, 256)


def test_batches_give_the_same_embeddings_as_one_call(photo):
    boxes = np.array([[10.0 + 20 * i, 10, 300 + 20 * i, 500] for i in range(5)])
    one = AppearanceEmbedder("0287").embed(photo, boxes)
    batched = AppearanceEmbedder("0287", max_batch=2).embed(photo, boxes)
    assert np.allclose(one, batched, atol=1e-4)


def test_a_users_ir_file_is_accepted(photo):
    stem = REID_MODELS["0287"][0]
    xml = reid._MODEL_DIR / f"{stem}.xml"
    e = AppearanceEmbedder(xml).embed(photo, np.array([[10.0, 10, 300, 500]]))
    assert e.shape == (1, 256)


def test_a_damaged_model_file_is_refused(tmp_path, monkeypatch):
    stem = REID_MODELS["0287"][0]
    for suffix in (".xml", ".bin"):
        shutil.copy(reid._MODEL_DIR / f"{stem}{suffix}", tmp_path / f"{stem}{suffix}")
    with open(tmp_path / f"{stem}.bin", "r+b") as f:
        f.seek(1000)
        f.write(b"\x00\x01\x02")
    monkeypatch.setattr(reid, "_MODEL_DIR", tmp_path)
    with pytest.raises(InternalServerError, match="sha256"):
        AppearanceEmbedder("0287")


@pytest.mark.parametrize(
    "args, kwargs",
    [
        (("9999",), {}),
        (("/nonexistent/model.xml",), {}),
        ((42,), {}),
        ((), {"min_height": -1}),
        ((), {"min_height": True}),
        ((), {"threads": 0}),
        ((), {"max_batch": 1.5}),
    ],
)
def test_bad_settings_are_refused(args, kwargs):
    with pytest.raises(InvalidParameterException):
        AppearanceEmbedder(*args, **kwargs)


def test_bad_frames_are_refused():
    emb = AppearanceEmbedder("0287")
    with pytest.raises(InvalidParameterException, match="uint8"):
        emb.embed(np.zeros((10, 10, 3), np.float32), np.zeros((0, 4)))
    with pytest.raises(InvalidParameterException):
        cosine_distance(np.zeros(3), np.zeros((1, 3)))


def test_rgb_frames_are_embedded_as_bgr(photo):
    # The video readers give RGB; the networks want BGR. rgb=True turns the crops.
    emb = AppearanceEmbedder("0287")
    box = np.array([[40.0, 20, 400, 500]])
    rgb = np.ascontiguousarray(photo[:, :, ::-1])
    right = emb.embed(photo, box)
    assert np.allclose(emb.embed(rgb, box, rgb=True), right, atol=1e-5)
    swapped = emb.embed(rgb, box)  # channels taken the wrong way round
    assert float(cosine_distance(swapped, right)[0, 0]) > 0.01
