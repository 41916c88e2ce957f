"""Training at the edges, with real files and real processes: bad pairs are skipped (never
fatal), the run folder is locked, an exported model is not replaced without --force, an
unloadable checkpoint is one line, and a killed write's temporary files are cleaned up."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from training_helpers import TINY_ARGS, make_pairs

from crackinspector.core.io.imageio import read_image
from crackinspector.core.io.pairing import Pair, check_pair
from training.check import DataChoice, check_data
from training.cli import main as train_main
from training.compare import score_on_run
from training.config import TrainConfig
from training.events import read_events
from training.plan import read_data_record
from training.runlock import holder

BIN = Path(sys.executable).parent
EXIF_ROTATE_90_CW = 6  # "rotate 90 degrees clockwise to view"


def _rotated_photo(crackforest: Path, stem: str, dest: Path) -> None:
    """The photo stored sideways (320x480 pixels) with an EXIF tag that turns it back."""
    pixels = np.rot90(np.asarray(Image.open(crackforest / "images" / f"{stem}.jpg")))
    exif = Image.Exif()
    exif[0x0112] = EXIF_ROTATE_90_CW
    Image.fromarray(np.ascontiguousarray(pixels)).save(dest, exif=exif, quality=95)


@pytest.fixture()
def bad_data(crackforest, tmp_path) -> tuple[Path, Path]:
    """001-004 good; 005 truncated; 006 EXIF-rotated with a mask of its loaded size (good);
    007 EXIF-rotated with a mask of its stored size (bad)."""
    images, masks = make_pairs(crackforest, tmp_path / "data", ["001", "002", "003", "004"])
    data = (crackforest / "images" / "005.jpg").read_bytes()
    (images / "005.jpg").write_bytes(data[: len(data) // 2])
    (masks / "005.png").write_bytes((crackforest / "masks" / "005.png").read_bytes())
    for stem in ("006", "007"):
        _rotated_photo(crackforest, stem, images / f"{stem}.jpg")
    (masks / "006.png").write_bytes((crackforest / "masks" / "006.png").read_bytes())
    stored = np.rot90(np.asarray(Image.open(crackforest / "masks" / "007.png")))
    Image.fromarray(np.ascontiguousarray(stored)).save(masks / "007.png")
    return images, masks


def test_pairs_are_checked_with_the_decode_training_uses(bad_data):
    images, masks = bad_data
    assert read_image(images / "006.jpg").shape == (320, 480, 3)  # EXIF turned it back
    assert Image.open(images / "006.jpg").size == (320, 480)  # stored sideways
    assert check_pair(Pair("006", images / "006.jpg", masks / "006.png")) is None
    stored = check_pair(Pair("007", images / "007.jpg", masks / "007.png"))
    assert stored == f"{masks / '007.png'}: mask is 320x480 but its image is 480x320"
    truncated = check_pair(Pair("005", images / "005.jpg", masks / "005.png"))
    assert truncated is not None and truncated.startswith(f"{images / '005.jpg'}: ")
    assert "truncated" in truncated


def test_bad_pairs_are_skipped_by_name_and_the_run_goes_on(bad_data, tmp_path):
    images, masks = bad_data
    models = tmp_path / "models"
    models.mkdir()
    (models / "mine.safetensors").write_bytes(b"an older model of the same name")
    run = tmp_path / "run"
    args = ["--images", str(images), "--masks", str(masks), "--val-fraction", "0.25",
            *TINY_ARGS, "--epochs", "1", "--seed", "0", "--out", str(run),
            "--export-dir", str(models), "--name", "mine"]  # fmt: skip
    # the model name is taken: refused before any training, saying how to go on
    proc = subprocess.run(
        [str(BIN / "crackinspector-train"), *args], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 1
    assert f"{models / 'mine.safetensors'}: a model of this name exists" in proc.stderr
    assert "--force" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert (models / "mine.safetensors").read_bytes() == b"an older model of the same name"

    assert train_main([*args, "--force"]) == 0
    events = read_events(run / "events.jsonl")
    logs = [e["message"] for e in events if e["type"] == "log"]
    assert f"skipped {masks / '007.png'}: mask is 320x480 but its image is 480x320" in logs
    assert any(line.startswith(f"skipped {images / '005.jpg'}: ") for line in logs)
    assert "loading 4 training and 1 validation pairs" in logs
    end = next(e for e in reversed(events) if e["type"] == "end")
    assert end["status"] == "finished"
    assert (models / "mine.json").is_file()  # replaced by the new model pair, as --force asked
    assert (models / "mine.safetensors").stat().st_size > 1000

    # the run folder records the pairs it trained and validated on (006 included)
    train, val = read_data_record(run)
    assert sorted(p.stem for p in train + val) == ["001", "002", "003", "004", "006"]
    assert len(val) == 1
    # a model can be scored on exactly those validation pairs (the wizard's comparison)
    scores = score_on_run(models / "mine.safetensors", run)
    assert scores["images"] == 1 and not scores["failures"] and 0 <= scores["f1"] <= 1
    # the wizard's check (seed 0, the default it trains with) draws exactly the same
    # validation pairs as the trainer did
    check = check_data(DataChoice(images=str(images), masks=str(masks), val_fraction=0.25))
    assert check.ok and (check.n_train, check.n_val) == (4, 1)
    assert [p.stem for p in check.val_pairs] == [p.stem for p in val]


def test_a_bundled_models_name_is_refused_before_training(crackforest, tmp_path, capsys):
    images, masks = make_pairs(crackforest, tmp_path / "data", ["001", "002"])
    args = ["--images", str(images), "--masks", str(masks), *TINY_ARGS, "--out",
            str(tmp_path / "run"), "--export-dir", str(tmp_path / "m"), "--force"]  # fmt: skip
    assert train_main([*args, "--name", "unet-resnet34"]) == 1
    err = capsys.readouterr().err
    assert "unet-resnet34: is the name of a bundled model" in err and "--name" in err
    assert not (tmp_path / "run" / "events.jsonl").exists()  # refused before anything ran


def test_a_second_trainer_into_the_same_run_folder_is_refused(crackforest, tmp_path):
    images, masks = make_pairs(crackforest, tmp_path / "data", ["001", "002", "003", "004"])
    run = tmp_path / "run"
    args = ["--images", str(images), "--masks", str(masks), *TINY_ARGS, "--epochs", "500",
            "--out", str(run), "--export-dir", str(tmp_path / "models")]  # fmt: skip
    first = subprocess.Popen([str(BIN / "crackinspector-train"), *args], stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while holder(run) != first.pid and time.time() < deadline and first.poll() is None:
            time.sleep(0.05)
        assert holder(run) == first.pid
        second = subprocess.run(
            [str(BIN / "crackinspector-train"), *args, "--name", "other"],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert second.returncode == 1
        assert f"{run}: in use by PID {first.pid}" in second.stderr
        assert "Traceback" not in second.stderr
        # a resume is refused the same way while the first one runs
        resumed = subprocess.run(
            [str(BIN / "crackinspector-train"), "--out", str(run), "--resume"],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert resumed.returncode == 1 and f"in use by PID {first.pid}" in resumed.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=300)
    assert holder(run) is None  # the lock went with the process


def test_resume_after_a_kill_cleans_up_and_names_an_unloadable_checkpoint(crackforest, tmp_path):
    images, masks = make_pairs(crackforest, tmp_path / "data", ["001", "002"])
    run = tmp_path / "run"
    run.mkdir()
    TrainConfig(images=[str(images)], masks=[str(masks)], out=str(run), batch_size=2,
                crop_size=64, encoder="resnet18", export_dir=str(tmp_path / "m")).save(
        run / "config.json"
    )  # fmt: skip
    (run / "last.pt").write_bytes(b"PK\x03\x04 half a zip: the disk filled up")
    # what a kill -9 during a checkpoint write leaves (atomic_path's temporary names)
    leftovers = [run / ".best.k3j2_x.part.pt", run / ".last.9aa1b.part.pt"]
    for path in leftovers:
        path.write_bytes(b"partial")
    proc = subprocess.run(
        [str(BIN / "crackinspector-train"), "--out", str(run), "--resume", "--threads", "1"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if "error" in line]
    assert errors == [
        f"crackinspector-train: error: {run / 'last.pt'}: not a readable checkpoint "
        + errors[0].split("not a readable checkpoint ", 1)[1]
    ]
    assert "Traceback" not in proc.stderr
    assert not [p for p in leftovers if p.exists()]
    end = [e for e in read_events(run / "events.jsonl") if e["type"] == "end"][-1]
    assert end["status"] == "failed" and "last.pt" in end["message"]
    assert json.loads((run / "config.json").read_text())["batch_size"] == 2  # untouched
