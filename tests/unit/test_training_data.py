"""Pairing, bad data, splits and augmentation alignment, on real CrackForest pairs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from training_helpers import make_pairs

from crackinspector.core.io.pairing import DataError, apply_split, load_split, pair_folders
from training import augment
from training.cli import main as train_main


def test_pairing_reports_every_bad_file_by_name(crackforest, tmp_path):
    images, masks = make_pairs(crackforest, tmp_path, ["001", "002", "003", "004", "005"])
    (images / "lonely.jpg").write_bytes((crackforest / "images" / "006.jpg").read_bytes())
    (masks / "orphan.png").write_bytes((crackforest / "masks" / "007.png").read_bytes())
    (masks / "003.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")  # corrupt mask
    Image.new("L", (100, 50)).save(masks / "004.png")  # wrong size
    report = pair_folders(images, masks)
    assert [p.stem for p in report.pairs] == ["001", "002", "005"]
    assert [p.name for p in report.images_without_mask] == ["lonely.jpg"]
    assert [p.name for p in report.masks_without_image] == ["orphan.png"]
    assert len(report.problems) == 2
    assert "003.png" in report.problems[0]
    assert "004.png" in report.problems[1] and "100x50" in report.problems[1]


def test_masks_in_other_encodings_pair_and_read(crackforest, tmp_path):
    from crackinspector.core.io.imageio import read_mask

    truth = np.asarray(Image.open(crackforest / "masks" / "001.png")) > 0
    Image.fromarray(truth.astype(np.uint8)).save(tmp_path / "01.png")  # 0/1
    pal = Image.fromarray(truth.astype(np.uint8), mode="P")
    pal.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    pal.save(tmp_path / "pal.png")
    Image.fromarray(truth.astype(np.uint8) * 255).save(tmp_path / "bmp.bmp")
    for name in ("01.png", "pal.png", "bmp.bmp"):
        assert np.array_equal(read_mask(tmp_path / name), truth), name


def test_missing_folder_and_empty_set_refuse_with_reason(crackforest, tmp_path, capsys):
    with pytest.raises(DataError, match="folder not found"):
        pair_folders(tmp_path / "nope", tmp_path)
    images, masks = tmp_path / "i", tmp_path / "m"
    images.mkdir()
    masks.mkdir()
    (images / "a.jpg").write_bytes(b"")  # unreadable and unpaired
    code = train_main(
        ["--images", str(images), "--masks", str(masks), "--out", str(tmp_path / "r")]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "no usable training pairs" in err


def test_split_file_keeps_test_stems_out(crackforest):
    report = pair_folders(crackforest / "images", crackforest / "masks", check=False)
    split = load_split(crackforest / "split.json")
    train, val = apply_split(report.pairs, split)
    assert len(train) == 72 and not val
    assert not {p.stem for p in train} & set(
        json.loads((crackforest / "split.json").read_text())["test"]
    )


def _coded_pair(crackforest):
    """An image whose colour encodes its mask: red on crack pixels, green elsewhere."""
    mask = (np.asarray(Image.open(crackforest / "masks" / "010.png")) > 0).astype(np.uint8)
    image = np.zeros((*mask.shape, 3), np.uint8)
    image[..., 0] = mask * 255
    image[..., 1] = (1 - mask) * 255
    return image, mask


def test_geometric_augmentation_moves_image_and_mask_together(crackforest):
    image, mask = _coded_pair(crackforest)
    for seed in range(20):
        rng = np.random.default_rng(seed)
        img, msk = augment.random_crop(image, mask, 128, rng, scale=False)
        img, msk = augment.flip_rotate(img, msk, rng)
        assert img.shape == (128, 128, 3) and msk.shape == (128, 128)
        assert np.array_equal(img[..., 0] > 127, msk > 0)


def test_full_augmentation_keeps_alignment_except_at_resampled_edges(crackforest):
    image, mask = _coded_pair(crackforest)
    agreements = []
    for seed in range(30):
        img, msk = augment.augment_pair(image, mask, 96, np.random.default_rng(seed))
        assert set(np.unique(msk)) <= {0, 1}
        coded = img[..., 0].astype(int) > img[..., 1].astype(int)
        agreements.append(np.mean(coded == (msk > 0)))
    assert min(agreements) > 0.97
    assert np.mean(agreements) > 0.99


def test_augmentation_switch_off_only_crops(crackforest):
    image, mask = _coded_pair(crackforest)
    img, msk = augment.augment_pair(image, mask, 64, np.random.default_rng(0), enabled=False)
    ys, _ = np.nonzero(np.all(image == img[0, 0], axis=2) & (mask == msk[0, 0]))
    assert len(ys)  # the crop's corner exists unchanged in the original
    assert set(np.unique(img)) <= {0, 255}  # no photometric change


def test_small_images_are_padded_to_the_crop(crackforest):
    image, mask = _coded_pair(crackforest)
    img, msk = augment.augment_pair(image[:50, :40], mask[:50, :40], 64, np.random.default_rng(1))
    assert img.shape == (64, 64, 3) and msk.shape == (64, 64)


def test_fewer_pairs_than_a_batch_is_refused_with_the_reason(crackforest, tmp_path, capsys):
    images, masks = make_pairs(crackforest, tmp_path, ["001", "002"])
    code = train_main(["--images", str(images), "--masks", str(masks), "--batch-size", "8",
                       "--out", str(tmp_path / "r")])  # fmt: skip
    assert code == 1
    assert "only 2 training pairs for a batch size of 8" in capsys.readouterr().err
