"""The review flow's rules and the lookup reports use, on a real store of real photos."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from crackinspector.core.analysis.calibration import (
    Calibration,
    FolderCalibration,
    save_calibration,
)
from crackinspector.core.review import ReviewLookup, inspection_folder, open_store
from crackinspector.core.review.flow import FILTERS, matches, next_unreviewed


@pytest.fixture(autouse=True)
def _user_inspections(tmp_path, monkeypatch):
    monkeypatch.setenv("CRACKINSPECTOR_INSPECTIONS_DIR", str(tmp_path / "user-inspections"))


@pytest.fixture
def photos(crackforest, tmp_path) -> Path:
    folder = tmp_path / "photos"
    (folder / "span2").mkdir(parents=True)
    for stem in ("001", "002", "003", "004"):
        shutil.copy(crackforest / "images" / f"{stem}.jpg", folder)
    shutil.copy(crackforest / "images" / "005.jpg", folder / "span2")
    return folder


def test_filters_and_next_unreviewed(photos, crackforest):
    with open_store(photos) as store:
        store.set_status("001.jpg", "accepted")
        store.set_status("003.jpg", "false_alarm")
        store.set_status("span2/005.jpg", "follow_up")
        order = store.folder_photos()
        reviews = {p: store.photo(p) for p in order}
    names = [p.relative_to(photos).as_posix() for p in order]
    assert names == ["001.jpg", "002.jpg", "003.jpg", "004.jpg", "span2/005.jpg"]

    def shown(filter_id: str, cracked: dict[str, bool | None]) -> list[str]:
        return [n for p, n in zip(order, names, strict=True)
                if matches(filter_id, reviews[p], cracked.get(n))]  # fmt: skip

    cracked = {"001.jpg": True, "002.jpg": False, "003.jpg": True, "004.jpg": None}
    assert [f for f, _ in FILTERS] == ["all", "unreviewed", "cracked", "accepted",
                                       "false_alarm", "corrected", "follow_up"]  # fmt: skip
    assert shown("all", cracked) == names
    assert shown("unreviewed", cracked) == ["002.jpg", "004.jpg"]
    assert shown("cracked", cracked) == ["001.jpg", "003.jpg", "004.jpg", "span2/005.jpg"]
    assert shown("false_alarm", cracked) == ["003.jpg"]
    assert shown("follow_up", cracked) == ["span2/005.jpg"]
    with pytest.raises(ValueError, match="unknown review filter"):
        matches("maybe", None)

    assert next_unreviewed(order, reviews.get, order[0]) == order[1]
    assert next_unreviewed(order, reviews.get, order[1]) == order[3]
    assert next_unreviewed(order, reviews.get, order[3]) == order[1]  # wraps around
    assert next_unreviewed(order, reviews.get) == order[1]
    done = dict(reviews)
    with open_store(photos) as store:
        for p in (order[1], order[3]):
            done[p] = store.set_status(p, "accepted")
    assert next_unreviewed(order, done.get, order[0]) is None

    shutil.copy(crackforest / "images" / "020.jpg", order[0])  # changed: to review again
    with open_store(photos) as store:
        changed = store.photo(order[0])
    assert matches("unreviewed", changed) and not matches("accepted", changed)


def test_review_lookup_finds_the_inspection_above_and_its_calibration(photos, tmp_path):
    save_calibration(FolderCalibration(photos, Calibration(0.4), {"002.jpg": Calibration(0.2)}))
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(photos / "001.jpg", other)
    save_calibration(FolderCalibration(other, Calibration(0.9)))  # no store: the old file
    with open_store(photos) as store:  # imports the calibration.json
        store.set_photo_calibration("span2/005.jpg", Calibration(0.05))
        store.set_status("span2/005.jpg", "accepted", reviewer="ann", note="ok")
        store.set_info(project="Bridge 7")
    assert inspection_folder(photos / "span2" / "005.jpg") == photos.resolve()
    lookup = ReviewLookup()
    assert lookup.lookup(photos / "001.jpg") == (0.4, "folder")
    assert lookup.lookup(photos / "002.jpg") == (0.2, "image")
    assert lookup.lookup(photos / "span2" / "005.jpg") == (0.05, "image")
    assert lookup.lookup(other / "001.jpg") == (0.9, "folder")
    review = lookup.review(photos / "span2" / "005.jpg")
    assert (review.status, review.reviewer, review.note) == ("accepted", "ann", "ok")
    assert lookup.inspection(photos / "span2" / "005.jpg").info.project == "Bridge 7"
    assert lookup.review(other / "001.jpg").status == "unreviewed"
    assert ReviewLookup(fixed_mm_per_px=1.5).lookup(photos / "002.jpg") == (1.5, "fixed")
    assert not (other / ".crackinspector" / "inspection.sqlite").exists()
