"""Image and mask folders paired by file stem, checked, and split.

Shared by training, `crackinspector evaluate` and the GUI's training wizard. Every problem
is reported by file name: unpaired files, unreadable files, size mismatches.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from crackinspector.core.errors import CrackInspectorError, FileProblem
from crackinspector.core.io.imageio import IMAGE_EXTENSIONS, image_size


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
    """Pair `images/X.*` with `masks/X.*`; with `check`, read both and compare their sizes."""
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


def check_pair(pair: Pair) -> str | None:
    """None when the pair is usable, else "path: reason"."""
    try:
        isize = image_size(pair.image)
        msize = image_size(pair.mask)
    except FileProblem as exc:
        return str(exc)
    if isize != msize:
        return f"{pair.mask}: mask is {msize[0]}x{msize[1]} but its image is {isize[0]}x{isize[1]}"
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
