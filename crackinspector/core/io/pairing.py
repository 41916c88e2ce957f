"""Image and mask folders paired by file stem, checked, and split.

Shared by training, `crackinspector evaluate` and the GUI's training wizard. Every problem
is reported by file name: unpaired files, unreadable files, size mismatches.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from crackinspector.core.errors import CrackInspectorError
from crackinspector.core.io.imageio import IMAGE_EXTENSIONS, read_image, read_mask


class DataError(CrackInspectorError):
    """The training data cannot be used; the message says why."""


@dataclass
class Pair:
    stem: str
    image: Path
    mask: Path


@dataclass
class PairingReport:
    """What a folder pair holds: usable pairs, and every file that was left out and why."""

    pairs: list[Pair] = field(default_factory=list)
    images_without_mask: list[Path] = field(default_factory=list)
    masks_without_image: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # "path: reason"

    def summary(self) -> str:
        return (
            f"{len(self.pairs)} pairs, {len(self.images_without_mask)} images without mask, "
            f"{len(self.masks_without_image)} masks without image, {len(self.problems)} unusable"
        )


def _by_stem(folder: Path) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS:
            files.setdefault(p.stem, p)
    return files


def pair_folders(images: str | Path, masks: str | Path, check: bool = True) -> PairingReport:
    """Pair `images/X.*` with `masks/X.*`; with `check`, decode both as training does
    (`load_pair`) and leave out, by name, every pair that cannot be used."""
    images, masks = Path(images), Path(masks)
    for folder in (images, masks):
        if not folder.is_dir():
            raise DataError(f"{folder}: folder not found")
    imgs, msks = _by_stem(images), _by_stem(masks)
    report = PairingReport()
    report.images_without_mask = [imgs[s] for s in sorted(imgs.keys() - msks.keys())]
    report.masks_without_image = [msks[s] for s in sorted(msks.keys() - imgs.keys())]
    for stem in sorted(imgs.keys() & msks.keys()):
        pair = Pair(stem, imgs[stem], msks[stem])
        if check:
            problem = check_pair(pair)
            if problem:
                report.problems.append(problem)
                continue
        report.pairs.append(pair)
    return report


def load_pair(pair: Pair) -> tuple[np.ndarray, np.ndarray]:
    """The pair as training and evaluation read it: the photo RGB uint8 with its EXIF
    orientation applied (`read_image`), the mask boolean; raises a CrackInspectorError
    naming the file when either cannot be read or the mask's size differs from the photo
    as loaded (a mask drawn on the stored, unrotated pixels of a rotated photo)."""
    image = read_image(pair.image)
    mask = read_mask(pair.mask)
    if mask.shape != image.shape[:2]:
        (mh, mw), (ih, iw) = mask.shape, image.shape[:2]
        raise DataError(f"{pair.mask}: mask is {mw}x{mh} but its image is {iw}x{ih}")
    return image, mask


def check_pair(pair: Pair) -> str | None:
    """None when the pair is usable, else "path: reason". Decodes both files exactly as
    `load_pair` does (so a truncated photo or a rotated one is judged as training sees it)."""
    try:
        load_pair(pair)
    except CrackInspectorError as exc:
        return str(exc)
    return None


def load_split(path: str | Path) -> dict[str, set[str]]:
    """A split file: {"train": [stems], "val"|"validation": [...], other keys excluded}."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: cannot read split file ({exc})") from None
    if not isinstance(data, dict) or "train" not in data:
        raise DataError(f"{path}: split file needs a 'train' list")
    return {k: {Path(s).stem for s in v} for k, v in data.items() if isinstance(v, list)}


def apply_split(pairs: list[Pair], split: dict[str, set[str]]) -> tuple[list[Pair], list[Pair]]:
    """Training and validation pairs; pairs in any other subset (e.g. "test") are left out."""
    val_keys = split.get("val", set()) | split.get("validation", set())
    train = [p for p in pairs if p.stem in split["train"]]
    val = [p for p in pairs if p.stem in val_keys]
    return train, val
