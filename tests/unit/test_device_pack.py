"""scripts/pack_device_data.py: the GPU machine's copy of the training data holds the train
and val parts only, masks unchanged, photos close to the originals, and trains as they do."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import cv2
import numpy as np

from crackinspector.core.io.imageio import read_image, read_mask
from crackinspector.core.io.pairing import pair_folders

REPO = Path(__file__).resolve().parents[2]


def _split(folder: Path, name: str, parts: dict[str, list[str]]) -> None:
    (folder / f"{name}.split.json").write_text(json.dumps(parts), encoding="utf-8")


def test_pack_keeps_train_and_val_only_and_trains_unchanged(shared_data: Path, tmp_path: Path):
    prepared = tmp_path / "prepared"
    (prepared / "negatives/masks").mkdir(parents=True)
    _split(prepared, "crackforest", {"train": ["001"], "val": ["061"], "test": ["073"]})
    negative = sorted((shared_data / "negatives/images").iterdir())[0]
    _split(prepared, "negatives-hard", {"train": [negative.stem], "val": [], "test": []})
    h, w = read_image(negative).shape[:2]
    cv2.imwrite(str(prepared / f"negatives/masks/{negative.stem}.png"), np.zeros((h, w), np.uint8))
    pack = tmp_path / "pack/data.zip"

    done = subprocess.run(
        [sys.executable, "scripts/pack_device_data.py", "--data", str(shared_data),
         "--prepared", str(prepared), "--out", str(pack)],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr

    with zipfile.ZipFile(pack) as z:
        names = set(z.namelist())
        z.extractall(tmp_path / "unpacked")
    assert names == {
        "data/crackforest/images/001.webp",
        "data/crackforest/masks/001.png",
        "data/crackforest/images/061.webp",
        "data/crackforest/masks/061.png",
        f"data/negatives/images/{negative.stem}.webp",
        f"prepared/negatives/masks/{negative.stem}.png",
        "prepared/crackforest.split.json",
        "prepared/negatives-hard.split.json",
    }  # the test photo 073 stays behind
    out = tmp_path / "unpacked"
    for stem in ("001", "061"):
        original = read_mask(shared_data / f"crackforest/masks/{stem}.png")
        assert np.array_equal(read_mask(out / f"data/crackforest/masks/{stem}.png"), original)
        photo = read_image(shared_data / f"crackforest/images/{stem}.jpg").astype(float)
        packed = read_image(out / f"data/crackforest/images/{stem}.webp").astype(float)
        psnr = 10 * np.log10(255**2 / np.mean((photo - packed) ** 2))
        assert psnr > 30, psnr
    # the trainer pairs the packed folders as it pairs the originals
    report = pair_folders(out / "data/crackforest/images", out / "data/crackforest/masks")
    assert [p.stem for p in report.pairs] == ["001", "061"]


def test_pack_refuses_without_the_hard_negatives(shared_data: Path, tmp_path: Path):
    done = subprocess.run(
        [sys.executable, "scripts/pack_device_data.py", "--data", str(shared_data),
         "--prepared", str(tmp_path), "--out", str(tmp_path / "p.zip")],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert "mine_hard_negatives.py" in done.stderr
    assert not (tmp_path / "p.zip").exists()
