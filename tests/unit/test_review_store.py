"""The inspection store on real photos and real SQLite files: round trips, the photo-changed
flag, calibration import, migration, damaged files and read-only folders."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from crackinspector.core.analysis.calibration import (
    Calibration,
    FolderCalibration,
    save_calibration,
)
from crackinspector.core.analysis.severity import get_preset
from crackinspector.core.errors import FileProblem
from crackinspector.core.io.imageio import read_mask
from crackinspector.core.review import (
    InspectionStore,
    StoreReadOnly,
    load_reviews,
    open_existing_store,
    open_store,
)
from crackinspector.core.review.location import folder_store_path, user_store_path
from crackinspector.core.review.maskcodec import decode_mask
from crackinspector.core.review.records import ReviewError
from crackinspector.core.review.schema import MIGRATIONS, SCHEMA_VERSION

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _user_inspections(tmp_path, monkeypatch):
    monkeypatch.setenv("CRACKINSPECTOR_INSPECTIONS_DIR", str(tmp_path / "user-inspections"))


@pytest.fixture
def photos(crackforest, tmp_path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    for stem in ("001", "002", "003", "004"):
        shutil.copy(crackforest / "images" / f"{stem}.jpg", folder)
    return folder


def _integrity(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


def test_new_store_lives_in_the_folder_and_round_trips(photos, crackforest):
    truth = read_mask(crackforest / "masks" / "002.png")
    with open_store(photos) as store:
        assert store.path == folder_store_path(photos.resolve())
        assert not store.read_only and store.messages == []
        store.set_info(project="Bridge 7", element="Pier 2", location="North face",
                       inspector="A. Inspector", date="2026-12-01", notes="dry")  # fmt: skip
        store.set_status(photos / "001.jpg", "accepted", note="clear", model="unet-resnet34",
                         threshold=0.45)  # fmt: skip
        store.set_status("003.jpg", "false_alarm", reviewer="B. Checker")
        store.set_status("004.jpg", "follow-up", note="look again")
        store.save_mask("002.jpg", truth, model="unet-resnet34", threshold=0.5)
        store.set_severity(get_preset("concrete"))
    with open_store(photos) as store:
        info = store.info()
        assert (info.project, info.element, info.location, info.inspector, info.date) == (
            "Bridge 7", "Pier 2", "North face", "A. Inspector", "2026-12-01")  # fmt: skip
        a = store.photo("001.jpg")
        assert (a.status, a.note, a.model, a.threshold, a.reviewer) == (
            "accepted", "clear", "unet-resnet34", 0.45, "A. Inspector")  # fmt: skip
        assert a.reviewed_at and a.in_store and not a.changed and not a.has_mask
        assert store.photo("003.jpg").reviewer == "B. Checker"
        assert store.photo("004.jpg").status == "follow_up"
        corrected = store.photo("002.jpg")
        assert corrected.status == "corrected" and corrected.has_mask
        mask = store.mask("002.jpg")
        assert mask is not None and mask.dtype == bool and mask.shape == truth.shape
        assert np.array_equal(mask, truth)  # lossless at full resolution
        assert store.severity() == get_preset("concrete")
        summary = store.summary()
        assert summary.text() == "4 of 4 reviewed"
        assert summary.counts["corrected"] == 1 and summary.counts["unreviewed"] == 0
    assert _integrity(folder_store_path(photos)) == "ok"


def test_unknown_status_and_photo_outside_the_folder_are_refused(photos, tmp_path):
    with open_store(photos) as store:
        with pytest.raises(ReviewError, match="unknown review status 'maybe'"):
            store.set_status("001.jpg", "maybe")
        with pytest.raises(ReviewError, match="not inside the inspection folder"):
            store.set_status(tmp_path / "elsewhere.jpg", "accepted")
        assert store.photo("001.jpg").in_store is False


def test_a_changed_photo_is_flagged_not_matched(photos, crackforest):
    with open_store(photos) as store:
        store.set_status("001.jpg", "accepted")
        store.save_mask("002.jpg", np.zeros((320, 480), bool))
        store.flush()
    shutil.copy(crackforest / "images" / "010.jpg", photos / "001.jpg")  # other content
    shutil.copy(crackforest / "images" / "011.jpg", photos / "002.jpg")
    with open_store(photos) as store:
        review = store.photo("001.jpg")
        assert review.changed and review.status == "accepted"
        assert store.photo("002.jpg").mask_changed
        summary = store.summary()
        assert summary.changed == 2 and summary.counts["unreviewed"] == 4
        store.set_status("001.jpg", "accepted")  # decided again, on the new content
        assert not store.photo("001.jpg").changed
    reviews = load_reviews(photos)
    assert reviews.review(photos / "002.jpg").changed
    assert reviews.review(photos / "002.jpg").mask() is None  # drawn on other content


def test_a_renamed_photo_is_offered_for_relinking_not_matched(photos):
    edited = np.zeros((320, 480), bool)
    edited[50:60, 10:300] = True
    with open_store(photos) as store:
        store.save_mask("002.jpg", edited, note="joint, not a crack")
        store.set_photo_calibration("002.jpg", Calibration(0.2))
        store.flush()
    (photos / "002.jpg").rename(photos / "pier2-north.jpg")
    with open_store(photos) as store:
        assert store.photo("pier2-north.jpg").in_store is False  # not matched silently
        assert store.summary().missing == 1
        assert store.moved_photos() == [("002.jpg", photos.resolve() / "pier2-north.jpg")]
        review = store.relink("002.jpg", "pier2-north.jpg")
        assert (review.status, review.note, review.changed) == (
            "corrected", "joint, not a crack", False)  # fmt: skip
        assert np.array_equal(store.mask("pier2-north.jpg"), edited)
        assert store.calibration_for("pier2-north.jpg") == (Calibration(0.2), "image")
        assert store.moved_photos() == [] and store.summary().missing == 0
        with pytest.raises(ReviewError, match="no review of that photo"):
            store.relink("002.jpg", "001.jpg")
    with sqlite3.connect(folder_store_path(photos)) as conn:
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_save_mask_returns_before_encoding_and_commits_by_itself(photos, crackforest):
    truth = read_mask(crackforest / "masks" / "003.png")
    with open_store(photos) as store:
        store.save_mask("003.jpg", truth)
        assert store.photo("003.jpg").status == "corrected"  # the status is committed now
        assert np.array_equal(store.mask("003.jpg"), truth)  # pending masks are readable
        deadline = time.monotonic() + 30
        while store.pending_masks and time.monotonic() < deadline:
            time.sleep(0.05)  # no flush(): the background writer commits on its own
        assert store.pending_masks == 0
        with sqlite3.connect(store.path) as other:  # another connection sees the blob
            (n,) = other.execute("SELECT crack_pixels FROM masks").fetchone()
        assert n == int(truth.sum())


def test_saves_faster_than_encoding_still_commit(photos):
    """A brush-happy user saves again before the last save is encoded: each round of the
    background writer still commits the newest mask it has."""
    rng = np.random.default_rng(0)
    committed, saves = None, 0
    with open_store(photos) as store:
        while committed is None and saves < 3000:  # a few rounds normally; ~30 s at most
            mask = rng.random((1200, 1600)) > 0.5  # incompressible: slow to encode
            mask[0, :] = True
            mask[1, :] = False
            mask[1, : saves + 1] = True  # the save's number
            store.save_mask("001.jpg", mask)
            saves += 1
            png = store.mask_png("001.jpg")
            committed = decode_mask(png) if png is not None else None
            time.sleep(0.01)
    assert committed is not None, "no mask committed while saves kept coming"
    assert committed[0].all() and 1 <= committed[1].sum() <= saves


def test_reset_mask_drops_the_edit_and_the_corrected_status(photos):
    edited = np.zeros((320, 480), bool)
    edited[100:110, 50:300] = True
    with open_store(photos) as store:
        store.save_mask("001.jpg", edited)
        store.reset_mask("001.jpg")  # before the writer ran: the pending save is dropped
        store.flush()
        review = store.photo("001.jpg")
        assert review.status == "unreviewed" and not review.has_mask
        assert store.mask("001.jpg") is None
        store.set_status("002.jpg", "follow_up")
        assert store.reset_mask("002.jpg").status == "follow_up"  # other decisions stay


def test_calibration_json_is_imported_once_then_the_store_is_the_source(photos):
    old = FolderCalibration(photos, Calibration(0.25), {"002.jpg": Calibration(0.1)})
    json_path = save_calibration(old)
    with open_store(photos) as store:
        assert store.folder_calibration() == Calibration(0.25)
        assert store.calibration_for("002.jpg") == (Calibration(0.1), "image")
        assert store.calibration_for("001.jpg") == (Calibration(0.25), "folder")
        ref = Calibration.from_reference((10, 10), (110, 10), 20.0)
        store.set_photo_calibration("003.jpg", ref)
        store.set_folder_calibration(Calibration(0.3))
        store.set_photo_calibration("002.jpg", None)
    save_calibration(FolderCalibration(photos, Calibration(9.0)))  # later edits of the old file
    assert json_path.is_file()  # nothing deleted
    with open_store(photos) as store:
        assert store.folder_calibration() == Calibration(0.3)
        assert store.calibration_for("002.jpg") == (Calibration(0.3), "folder")
        own, source = store.calibration_for("003.jpg")
        assert source == "image" and own is not None and own.reference is not None
        assert own.mm_per_px == pytest.approx(0.2)
        assert store.calibrations().images == {"003.jpg": own}


def test_migration_from_schema_version_1_keeps_the_reviews(photos):
    path = folder_store_path(photos)
    path.parent.mkdir()
    with sqlite3.connect(path) as conn:  # a store as version 1 wrote it
        conn.executescript(MIGRATIONS[0] + "PRAGMA user_version = 1;")
        conn.execute("UPDATE inspection SET project = 'Old bridge' WHERE id = 1")
        conn.execute(
            "INSERT INTO photos (path, content_hash, status, reviewer, note, updated_at) "
            "VALUES ('001.jpg', 'x', 'accepted', 'ann', 'from v1', '2025-01-01T00:00:00+00:00')"
        )
    with open_store(photos) as store:
        assert not store.read_only
        assert store.info().project == "Old bridge"
        review = store.photo("001.jpg")
        assert (review.status, review.reviewer, review.note) == ("accepted", "ann", "from v1")
        assert review.changed  # 'x' is not the photo's hash
        store.set_folder_calibration(Calibration(0.5))  # the table version 2 added
        assert store.severity() is None
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2


def test_a_store_from_a_newer_version_opens_read_only(photos):
    with open_store(photos) as store:
        store.set_status("001.jpg", "accepted")
    with sqlite3.connect(folder_store_path(photos)) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with open_store(photos) as store:
        assert store.read_only and "newer CrackInspector" in store.read_only_reason
        assert store.photo("001.jpg").status == "accepted"
        with pytest.raises(StoreReadOnly, match="newer CrackInspector"):
            store.set_status("002.jpg", "accepted")


def _backups(path: Path) -> list[Path]:
    return sorted(path.parent.glob(path.name + ".damaged-*"))


def test_a_file_of_garbage_is_moved_aside_and_a_new_store_started(photos):
    path = folder_store_path(photos)
    path.parent.mkdir()
    garbage = np.random.default_rng(1).integers(0, 256, 50_000, dtype=np.uint8).tobytes()
    path.write_bytes(garbage)
    with open_store(photos) as store:
        assert not store.read_only
        (line,) = store.messages
        assert line.startswith(f"{path}: damaged inspection store") and "kept as" in line
        store.set_status("001.jpg", "accepted")
    (backup,) = _backups(path)
    assert backup.read_bytes() == garbage  # nothing deleted
    assert _integrity(path) == "ok"


def test_a_truncated_store_is_moved_aside_and_a_new_store_started(photos, crackforest):
    with open_store(photos) as store:
        for stem in ("001", "002", "003", "004"):
            noisy = np.random.default_rng(int(stem)).random((320, 480)) > 0.5
            store.save_mask(f"{stem}.jpg", noisy)  # incompressible: many pages
        store.flush()
    path = folder_store_path(photos)
    size = path.stat().st_size
    assert size > 100_000
    with open(path, "r+b") as fh:
        fh.truncate(size // 2)
    with open_store(photos) as store:
        assert any("damaged inspection store" in m for m in store.messages)
        assert store.photos() == []
    (backup,) = _backups(path)
    assert backup.stat().st_size == size // 2
    assert load_reviews(photos).records == {}


def test_a_store_that_cannot_be_opened_is_reported_not_moved_aside(photos):
    path = folder_store_path(photos)
    path.mkdir(parents=True)  # a folder where the file should be: unopenable, not damaged
    with pytest.raises(FileProblem, match="cannot open the inspection store"):
        open_store(photos)
    assert path.is_dir() and _backups(path) == []
    shutil.rmtree(path)
    with open_store(photos) as store:  # the lock was released with the failure
        assert not store.read_only


def test_reading_for_reports_never_creates_a_store(photos):
    assert open_existing_store(photos) is None
    reviews = load_reviews(photos)
    assert reviews.store_path is None and reviews.review(photos / "001.jpg").status == "unreviewed"
    assert not (photos / ".crackinspector").exists()


def test_load_reviews_reads_while_the_store_is_open_for_writing(photos, crackforest):
    truth = read_mask(crackforest / "masks" / "004.png")
    with open_store(photos) as store:
        store.set_info(inspector="ann", project="P")
        store.set_status("001.jpg", "accepted", note="fine")
        store.save_mask("004.jpg", truth)
        store.flush()
        reviews = load_reviews(photos)
    assert reviews.info.project == "P"
    rec = reviews.review(photos / "001.jpg")
    assert (rec.status, rec.reviewer, rec.note) == ("accepted", "ann", "fine")
    assert rec.mask() is None
    corrected = reviews.review(photos / "004.jpg")
    assert corrected.status == "corrected" and np.array_equal(corrected.mask(), truth)
    summary = reviews.summary(sorted(photos.glob("*.jpg")))
    assert summary.text() == "2 of 4 reviewed"


READ_ONLY_CHILD = """
import json, sys
from crackinspector.core.review import load_reviews, open_store
store = open_store(sys.argv[1])
store.set_status("001.jpg", "accepted", reviewer="nobody")
result = {"path": str(store.path), "messages": store.messages,
          "status": store.photo("001.jpg").status, "copied": store.photo("002.jpg").note}
store.close()
reviews = load_reviews(sys.argv[1])  # on the read-only medium: the review in user data
result["read"] = [reviews.review(sys.argv[1] + "/" + n).status for n in ("001.jpg", "002.jpg")]
print(json.dumps(result))
"""


def _read_only_command(folder: Path, child: list[str]) -> list[str]:
    """`child` run where `folder` cannot be written: by permissions for an ordinary user;
    for root (who ignores them), on a read-only bind mount in a private mount namespace."""
    if os.geteuid() != 0:
        os.chmod(folder, 0o555)
        return child
    unshare = shutil.which("unshare")
    probe = [unshare or "unshare", "-rm", "true"]
    if unshare is None or subprocess.run(probe, capture_output=True).returncode != 0:
        pytest.skip("running as root without user namespaces: no way to make a read-only folder")
    f = shlex.quote(str(folder))
    script = f"mount --bind {f} {f} && mount -o remount,bind,ro {f} && exec {shlex.join(child)}"
    return [unshare, "-rm", "sh", "-c", script]


def test_a_read_only_folder_keeps_its_review_in_the_user_data_folder(photos, tmp_path):
    with open_store(photos) as store:  # reviewed before the folder became read-only
        store.set_status("002.jpg", "false_alarm", note="reviewed on the laptop")
    user = tmp_path / "user-inspections"
    env = {**os.environ, "CRACKINSPECTOR_INSPECTIONS_DIR": str(user), "PYTHONPATH": str(REPO)}
    command = _read_only_command(photos, [sys.executable, "-c", READ_ONLY_CHILD, str(photos)])
    try:
        out = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    finally:
        os.chmod(photos, 0o755)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    expected = user_store_path(photos.resolve())
    assert result["path"] == str(expected) and result["status"] == "accepted"
    assert result["messages"] == [
        f"{photos.resolve()}: folder is read-only; the review is kept in {expected}"
    ]
    assert result["copied"] == "reviewed on the laptop"  # the folder's store was the start
    assert result["read"] == ["accepted", "false_alarm"]
    with sqlite3.connect(folder_store_path(photos)) as conn:  # the folder's own: untouched
        assert conn.execute("SELECT count(*) FROM photos").fetchone()[0] == 1


def test_store_refuses_a_missing_folder(tmp_path):
    with pytest.raises(Exception, match="not a folder"):
        InspectionStore(tmp_path / "nope")
