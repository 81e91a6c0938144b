"""One person, one Index on real footage: PETS09-S2L1 (a campus, 7 fps, people crossing,
leaving the view and coming back).

The detections are the sequence's ground-truth boxes (so this tests identity, not the
detector); the appearance comes from the real pixels through the shipped re-id model. In
frames 120-260 people cross each other six times, one walks behind a sign, and the man in
black (ground-truth id 19) walks out of view at frame 147 and comes back at frame 224 (the
ground truth gives a returning person a new id and calls him 1 then; checked by eye).

A known failure, left out of the assertions: the man with the papers (15) walks away from
the camera and out of view at frame 206 and comes back facing it at 231 (as 14); his back
and his front are 0.43 apart (cosine distance of the fragments' mean embeddings), beyond
the 0.2 at which a re-entry is linked, so he gets a new Index.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from persontrack.tracking.mot import track_mot_detections
from persontrack.vision.reid import AppearanceEmbedder

pytestmark = pytest.mark.shared_data

FIRST, LAST = 120, 260
SAME_PERSON = {19: 1}  # ground-truth id before leaving -> id after coming back
BACK_AND_FRONT = {15: 14}  # the same man, not linked (see above)


@pytest.fixture(scope="module")
def pets(shared_data: Path) -> tuple[pd.DataFrame, np.ndarray]:
    seq = shared_data / "track" / "PETS09-S2L1"
    gt = pd.read_csv(seq / "gt" / "gt.txt", header=None).iloc[:, :6]
    gt.columns = ["frame", "gt", "x", "y", "w", "h"]
    gt = gt[gt["frame"].between(FIRST, LAST)].sort_values(["frame", "gt"], ignore_index=True)
    embedder = AppearanceEmbedder()
    emb = np.full((len(gt), embedder.dimension), np.nan, dtype=np.float32)
    cap = cv2.VideoCapture(str(seq / "PETS09-S2L1.mp4"))
    frame = 0
    while frame < LAST:
        ok, img = cap.read()
        assert ok, f"cannot read frame {frame + 1}"
        frame += 1
        rows = np.flatnonzero(gt["frame"].to_numpy() == frame)
        if len(rows):
            b = gt.loc[rows, ["x", "y", "w", "h"]].to_numpy()
            emb[rows] = embedder.embed(img, np.column_stack([b[:, :2], b[:, :2] + b[:, 2:]]))
    cap.release()
    gt["frame"] -= FIRST - 1
    gt["conf"] = 0.9
    return gt, emb


def _index_of(gt: pd.DataFrame, tracks: pd.DataFrame) -> dict[int, set[int]]:
    """For each ground-truth id, the tracker ids of the boxes that are its boxes."""
    merged = gt.merge(tracks, on=["frame", "x", "y", "w", "h"], suffixes=("", "_t"))
    return {g: set(d["id"]) for g, d in merged.groupby("gt")}


def test_a_returning_person_keeps_the_index_and_people_who_cross_keep_theirs(pets):
    gt, emb = pets
    det = gt[["frame", "x", "y", "w", "h", "conf"]]
    tracks = track_mot_detections(det, 7.0, embeddings=emb)
    # Smoothing moves boxes: match the tracker's rows back by frame and nearest box.
    tracks = _snap(tracks, gt)
    index = _index_of(gt, tracks)
    assert all(len(ids) == 1 for ids in index.values()), index  # nobody swaps or splits
    person = {g: next(iter(ids)) for g, ids in index.items()}
    for before, after in SAME_PERSON.items():
        assert person[before] == person[after]
    # ... and nobody else shares an Index.
    people = {g: SAME_PERSON.get(g, BACK_AND_FRONT.get(g, g)) for g in person}
    for a in person:
        for b in person:
            if people[a] != people[b]:
                assert person[a] != person[b], (a, b)

    # Without appearance, the returning people get new Indexes (why re-id exists).
    motion = _index_of(gt, _snap(track_mot_detections(det, 7.0), gt))
    assert any(motion[b] != motion[a] for b, a in SAME_PERSON.items())


def _snap(tracks: pd.DataFrame, gt: pd.DataFrame) -> pd.DataFrame:
    """Tracker rows with the box of the ground-truth box they overlap most (same frame)."""
    out = []
    for f, t in tracks.groupby("frame"):
        g = gt[gt["frame"] == f]
        if not len(g):
            continue
        tc = t[["x", "y"]].to_numpy() + t[["w", "h"]].to_numpy() / 2
        gc = g[["x", "y"]].to_numpy() + g[["w", "h"]].to_numpy() / 2
        d = np.linalg.norm(tc[:, None] - gc[None], axis=2)
        for k, row in enumerate(t.itertuples()):
            j = int(d[k].argmin())
            if d[k, j] < 0.25 * g["h"].iloc[j]:
                out.append((f, row.id, *g[["x", "y", "w", "h"]].iloc[j]))
    return pd.DataFrame(out, columns=["frame", "id", "x", "y", "w", "h"])
