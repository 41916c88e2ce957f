"""`crackinspector review ...` on real photos, and export-training output training one epoch."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from training_helpers import TINY_ARGS

from crackinspector.cli import main
from crackinspector.core.analysis.analyse import threshold_mask
from crackinspector.core.infer.predictor import Predictor
from crackinspector.core.io.imageio import read_image, read_mask
from crackinspector.core.io.pairing import pair_folders
from crackinspector.core.review import load_reviews
from crackinspector.core.review.location import folder_store_path
from training.cli import main as train_main

NEGATIVES = ("brickwall__00001.jpg", "brickwall__00003.jpg")


@pytest.fixture(autouse=True)
def _user_inspections(tmp_path, monkeypatch):
    monkeypatch.setenv("CRACKINSPECTOR_INSPECTIONS_DIR", str(tmp_path / "user-inspections"))


@pytest.fixture
def photos(shared_data, tmp_path) -> Path:
    folder = tmp_path / "photos"
    (folder / "deck").mkdir(parents=True)
    for stem in ("001", "002", "003", "004", "005"):
        shutil.copy(shared_data / "crackforest" / "images" / f"{stem}.jpg", folder)
    shutil.copy(shared_data / "crackforest" / "images" / "006.jpg", folder / "deck")
    for name in NEGATIVES:
        shutil.copy(shared_data / "negatives" / "images" / name, folder)
    return folder


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["review", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_status_of_an_unreviewed_folder_creates_nothing(photos, capsys):
    code, out, _ = _run(capsys, "status", str(photos))
    assert code == 0
    assert out.splitlines()[0] == f"{photos}: 0 of 8 reviewed"
    assert "store: none yet" in out
    assert not (photos / ".crackinspector").exists()
    code, out, _ = _run(capsys, "status", str(photos), "--json")
    doc = json.loads(out)
    assert doc["total"] == 8 and doc["counts"]["unreviewed"] == 8 and doc["store"] is None


def test_set_info_and_status_round_trip(photos, capsys, crackforest):
    code, out, _ = _run(capsys, "info", str(photos), "--project", "Bridge 7", "--element",
                        "Deck", "--location", "Span 2", "--inspector", "A. Inspector")  # fmt: skip
    assert code == 0 and "project    Bridge 7" in out
    code, out, _ = _run(capsys, "set", str(photos), "001.jpg", "--status", "accepted",
                        "--note", "hairline only")  # fmt: skip
    assert (code, out.strip()) == (0, "001.jpg: accepted by A. Inspector - hairline only")
    code, out, _ = _run(capsys, "set", str(photos), str(photos / "deck" / "006.jpg"),
                        "--status", "follow_up", "--reviewer", "B")  # fmt: skip
    assert (code, out.strip()) == (0, "deck/006.jpg: needs follow-up by B")
    mask = crackforest / "masks" / "002.png"
    code, out, _ = _run(capsys, "set", str(photos), "002.jpg", "--mask", str(mask))
    assert (code, out.strip()) == (0, "002.jpg: corrected by A. Inspector")
    code, out, _ = _run(capsys, "set", str(photos), NEGATIVES[0], "--status", "false-alarm")
    assert code == 0

    code, out, _ = _run(capsys, "status", str(photos), "--json")
    doc = json.loads(out)
    assert doc["store"] == str(folder_store_path(photos.resolve()))
    assert doc["reviewed"] == 4 and doc["total"] == 8
    assert doc["counts"] == {"unreviewed": 4, "accepted": 1, "false_alarm": 1,
                             "corrected": 1, "follow_up": 1}  # fmt: skip
    by_key = {p["key"]: p for p in doc["photos"]}
    assert by_key["002.jpg"]["has_mask"] and by_key["001.jpg"]["note"] == "hairline only"
    code, out, _ = _run(capsys, "status", str(photos))
    assert out.splitlines()[0] == f"{photos}: 4 of 8 reviewed"
    assert "  needs follow-up      1" in out.splitlines()
    code, out, _ = _run(capsys, "info", str(photos), "--json")
    assert json.loads(out)["location"] == "Span 2"

    reviews = load_reviews(photos)  # what the reports read
    assert np.array_equal(reviews.review(photos / "002.jpg").mask(), read_mask(mask))
    assert reviews.info.element == "Deck"


def test_bad_input_gives_one_line_naming_the_file(photos, capsys, crackforest, tmp_path):
    wrong = crackforest / "masks" / "002.png"
    code, _, err = _run(capsys, "set", str(photos), NEGATIVES[0], "--mask", str(wrong))
    assert code == 1
    (line,) = err.strip().splitlines()
    assert line.startswith(f"crackinspector: error: {wrong}: mask is 480x320 but the photo")
    code, _, err = _run(capsys, "set", str(photos), "nope.jpg", "--status", "accepted")
    assert code == 1 and "nope.jpg: photo not found" in err
    code, _, err = _run(capsys, "set", str(photos), "001.jpg", "--status", "maybe")
    assert code == 1 and "unknown review status 'maybe'" in err
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"x" * 40)
    code, _, err = _run(capsys, "set", str(photos), "001.jpg", "--mask", str(broken))
    assert code == 1 and f"{broken}: " in err and len(err.strip().splitlines()) == 1
    code, _, err = _run(capsys, "set", str(photos), "001.jpg", "--status", "corrected")
    assert code == 1 and "corrected needs --mask" in err


@pytest.fixture
def reviewed(photos, capsys, crackforest, tiny_model_path) -> Path:
    """Two corrected (real ground truth), two accepted on the tiny model, two false alarms
    (real crack-free walls), one needing follow-up, one unreviewed."""
    model = str(tiny_model_path)
    for stem in ("001", "002"):
        mask = crackforest / "masks" / f"{stem}.png"
        assert _run(capsys, "set", str(photos), f"{stem}.jpg", "--mask", str(mask))[0] == 0
    assert _run(capsys, "set", str(photos), "003.jpg", "--status", "accepted", "--model",
                model, "--threshold", "0.5")[0] == 0  # fmt: skip
    assert _run(capsys, "set", str(photos), "deck/006.jpg", "--status", "accepted")[0] == 0
    for name in NEGATIVES:
        assert _run(capsys, "set", str(photos), name, "--status", "false_alarm")[0] == 0
    assert _run(capsys, "set", str(photos), "004.jpg", "--status", "follow_up")[0] == 0
    return photos


@pytest.mark.slow
def test_export_training_writes_pairs_of_the_reviewed_photos(
    reviewed, capsys, crackforest, tiny_model_path, tmp_path
):
    out_dir = tmp_path / "train-data"
    code, out, err = _run(capsys, "export-training", str(reviewed), "--out", str(out_dir),
                          "--model", str(tiny_model_path), "--no-cache", "-q")  # fmt: skip
    assert code == 0, err
    assert out.strip().startswith("6 pairs (2 accepted, 2 corrected, 2 false alarm)")
    report = pair_folders(out_dir / "images", out_dir / "masks")
    assert len(report.pairs) == 6 and not report.images_without_mask
    assert not report.masks_without_image and not report.problems
    stems = sorted(p.image.stem for p in report.pairs)
    assert stems == sorted(["001", "002", "003", "deck__006", *(n[:-4] for n in NEGATIVES)])
    for stem in ("001", "002"):
        assert np.array_equal(read_mask(out_dir / "masks" / f"{stem}.png"),
                              read_mask(crackforest / "masks" / f"{stem}.png"))  # fmt: skip
    for name in NEGATIVES:
        assert not read_mask(out_dir / "masks" / f"{name[:-4]}.png").any()
    predictor = Predictor(tiny_model_path)
    for stem, photo in (("003", reviewed / "003.jpg"), ("deck__006", reviewed / "deck/006.jpg")):
        expected = threshold_mask(predictor.predict(read_image(photo)), 0.5)
        assert np.array_equal(read_mask(out_dir / "masks" / f"{stem}.png"), expected)
    assert (out_dir / "images" / "003.jpg").read_bytes() == (reviewed / "003.jpg").read_bytes()
    manifest = json.loads((out_dir / "reviewed.json").read_text())
    assert {p["photo"]: p["status"] for p in manifest["pairs"]}["deck/006.jpg"] == "accepted"

    run = tmp_path / "run"
    args = list(TINY_ARGS)
    args[args.index("--epochs") + 1] = "1"
    data = ["--images", str(out_dir / "images"), "--masks", str(out_dir / "masks")]
    models = tmp_path / "models"
    code = train_main([*data, "--val-fraction", "0.34", *args, "--out", str(run),
                       "--export-dir", str(models), "--name", "from-review"])  # fmt: skip
    assert code == 0
    assert (run / "metrics.csv").read_text().splitlines()[1].startswith("1,")
    assert (models / "from-review.safetensors").is_file()


def test_export_training_skips_changed_photos_with_a_line(
    reviewed, capsys, crackforest, tiny_model_path, tmp_path
):
    shutil.copy(crackforest / "images" / "050.jpg", reviewed / "001.jpg")  # edited since
    out_dir = tmp_path / "train-data"
    code, out, err = _run(capsys, "export-training", str(reviewed), "--out", str(out_dir),
                          "--model", str(tiny_model_path), "-q")  # fmt: skip
    assert code == 2
    assert f"crackinspector: {reviewed / '001.jpg'}: photo changed since its review" in err
    assert out.strip().startswith("5 pairs")
    assert not (out_dir / "masks" / "001.png").exists()


def test_export_training_without_reviews_is_an_error(photos, capsys, tmp_path):
    code, _, err = _run(capsys, "export-training", str(photos), "--out", str(tmp_path / "o"))
    assert code == 1 and "no inspection store" in err


def test_export_training_takes_accepted_masks_from_the_result_cache(
    photos, capsys, tiny_model_path, tmp_path
):
    """The app cached the map it showed when the photo was accepted: that map is used."""
    from crackinspector.core.io.cache import ResultCache, file_digest

    assert _run(capsys, "set", str(photos), "003.jpg", "--status", "accepted", "--model",
                str(tiny_model_path), "--threshold", "0.3")[0] == 0  # fmt: skip
    shown = np.zeros((320, 480), np.float32)
    shown[100:110, 20:400] = 0.35  # above the decided threshold 0.3
    shown[200:210, 20:400] = 0.25  # below it
    identity = Predictor(tiny_model_path).info.identity
    ResultCache().put(file_digest(photos / "003.jpg"), identity, shown, 1.0)
    out_dir = tmp_path / "train-data"
    code, _, err = _run(capsys, "export-training", str(photos), "--out", str(out_dir), "-q")
    assert code == 0, err
    assert np.array_equal(read_mask(out_dir / "masks" / "003.png"), shown >= 0.3)


def test_photo_paths_relative_to_the_working_folder(photos, capsys, monkeypatch):
    monkeypatch.chdir(photos.parent)
    code, out, _ = _run(capsys, "set", "photos", "photos/deck/006.jpg", "--status", "accepted",
                        "--reviewer", "ann")  # fmt: skip
    assert (code, out.strip()) == (0, "deck/006.jpg: accepted by ann")
    code, out, _ = _run(capsys, "set", "photos", "005.jpg", "--status", "follow_up")  # in FOLDER
    assert code == 0 and out.startswith("005.jpg: needs follow-up")
    reviews = load_reviews(photos)
    assert reviews.review(photos / "deck" / "006.jpg").status == "accepted"
    assert reviews.review(photos / "005.jpg").status == "follow_up"
