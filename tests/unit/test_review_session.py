"""EditSession: edits on a real photo's mask kept in step with a real store."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from crackinspector.core.io.imageio import read_mask
from crackinspector.core.review import open_store
from crackinspector.core.review.session import EditSession


@pytest.fixture(autouse=True)
def _user_inspections(tmp_path, monkeypatch):
    monkeypatch.setenv("CRACKINSPECTOR_INSPECTIONS_DIR", str(tmp_path / "user-inspections"))


@pytest.fixture
def photos(crackforest, tmp_path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    for stem in ("007", "008"):
        shutil.copy(crackforest / "images" / f"{stem}.jpg", folder)
    return folder


@pytest.fixture
def model_mask(crackforest) -> np.ndarray:
    return read_mask(crackforest / "masks" / "007.png")  # stands in for the model's mask


def test_every_finished_edit_is_saved_and_undo_to_the_model_drops_it(photos, model_mask):
    with open_store(photos) as store:
        session = EditSession(store, photos / "007.jpg", model_mask, model="m", threshold=0.4)
        assert not session.edited
        session.begin_stroke((20, 20), 4)
        session.extend_stroke((120, 40))
        assert store.photo("007.jpg").status == "unreviewed"  # nothing saved mid-stroke
        assert session.end_stroke() is not None
        review = store.photo("007.jpg")
        assert (review.status, review.model, review.threshold) == ("corrected", "m", 0.4)
        assert np.array_equal(store.mask("007.jpg"), session.mask)
        session.lasso([(200, 100), (260, 100), (260, 160)])
        lasso_mask = session.mask.copy()
        assert np.array_equal(store.mask("007.jpg"), lasso_mask)
        session.undo()
        session.undo()
        assert not session.edited
        review = store.photo("007.jpg")
        assert review.status == "unreviewed" and not review.has_mask
        session.redo()
        session.redo()
        assert np.array_equal(store.mask("007.jpg"), lasso_mask)
        store.flush()
    with open_store(photos) as store:  # a later session starts from the saved edit
        again = EditSession(store, photos / "007.jpg", model_mask)
        assert again.edited and np.array_equal(again.mask, lasso_mask)
        assert not again.set_model(np.zeros_like(model_mask), threshold=0.9)  # kept
        assert np.array_equal(again.mask, lasso_mask)
        again.reset()
        assert np.array_equal(again.mask, np.zeros_like(model_mask))
        assert store.photo("007.jpg").status == "unreviewed"
        assert store.mask("007.jpg") is None


def test_undo_to_the_model_restores_the_decision_before_the_edit(photos, model_mask):
    with open_store(photos) as store:
        store.set_status("008.jpg", "accepted", reviewer="ann", note="fine")
        before = store.photo("008.jpg")
        session = EditSession(store, photos / "008.jpg", model_mask)
        session.stroke([(30, 30), (90, 30)], 3)
        assert store.photo("008.jpg").status == "corrected"
        session.undo()
        after = store.photo("008.jpg")
        assert (after.status, after.reviewer, after.reviewed_at, after.note) == (
            "accepted", "ann", before.reviewed_at, "fine")  # fmt: skip
        assert not after.has_mask


def test_delete_crack_saves_and_a_read_only_store_keeps_edits_on_screen(photos, model_mask):
    with open_store(photos) as store:
        session = EditSession(store, photos / "007.jpg", model_mask)
        y, x = np.argwhere(model_mask)[0]
        assert session.delete_crack((x + 0.5, y + 0.5)) is not None
        assert store.photo("007.jpg").status == "corrected"
        store.flush()  # (the background writer would within a second)
        with open_store(photos) as second:  # another window: read-only
            assert second.read_only
            viewer = EditSession(second, photos / "007.jpg", model_mask)
            assert viewer.edited  # it shows the first window's edit
            viewer.stroke([(5, 5), (50, 5)], 3)
            assert viewer.unsaved
        store.flush()
        assert not np.array_equal(store.mask("007.jpg"), viewer.mask)


def test_an_edit_drawn_on_other_content_is_not_shown(photos, model_mask, crackforest):
    with open_store(photos) as store:
        EditSession(store, photos / "008.jpg", model_mask).stroke([(10, 10)], 5)
        store.flush()
    shutil.copy(crackforest / "images" / "009.jpg", photos / "008.jpg")
    with open_store(photos) as store:
        session = EditSession(store, photos / "008.jpg", model_mask)
        assert session.stale_mask and not session.edited
