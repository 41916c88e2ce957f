"""Small real training data and arguments shared by the training tests."""

from __future__ import annotations

import shutil
from pathlib import Path

TINY_ARGS = [
    "--encoder", "resnet18", "--epochs", "2", "--steps-per-epoch", "2", "--batch-size", "2",
    "--crop-size", "64", "--threads", "1", "--log-every", "1", "--optimiser", "adamw",
    "--schedule", "onecycle", "--lr", "1e-3", "--seed", "3",
]  # fmt: skip


def make_pairs(crackforest: Path, dest: Path, stems: list[str]) -> tuple[Path, Path]:
    """Copy real CrackForest pairs into dest/images and dest/masks."""
    images, masks = dest / "images", dest / "masks"
    images.mkdir(parents=True, exist_ok=True)
    masks.mkdir(parents=True, exist_ok=True)
    for stem in stems:
        shutil.copy(crackforest / "images" / f"{stem}.jpg", images)
        shutil.copy(crackforest / "masks" / f"{stem}.png", masks)
    return images, masks
