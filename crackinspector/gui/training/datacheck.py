"""Checking the wizard's data choice before training starts (Qt-free; runs in a thread).

Pairs the folders (pair_folders(check=True) reads image headers only), applies the chosen
validation, and says in one sentence why the data cannot be used, or what will be skipped.
It also makes a few small previews with the mask drawn over the photo, so a user sees that
masks and photos really belong together (a shifted or inverted mask shows at a glance).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from crackinspector.core.errors import CrackInspectorError
from crackinspector.core.io.imageio import image_size, read_image, read_mask
from crackinspector.core.io.pairing import (
    Pair,
    PairingReport,
    apply_split,
    load_split,
    pair_folders,
)

FRACTION, SPLIT, FOLDERS = "fraction", "split", "folders"
MAX_LISTED = 200
PREVIEWS = 4
THUMB_HEIGHT = 96


@dataclass(frozen=True)
class DataChoice:
    images: str = ""
    masks: str = ""
    validation: str = FRACTION
    val_fraction: float = 0.2
    split_file: str = ""
    val_images: str = ""
    val_masks: str = ""


@dataclass
class DataCheck:
    ok: bool = False
    reason: str = ""  # why it cannot be used; '' when ok
    notes: list[str] = field(default_factory=list)  # what will be skipped, in one line each
    listing: list[str] = field(default_factory=list)  # file by file, "name: reason"
    n_train: int = 0
    n_val: int = 0
    val_size: tuple[int, int] = (0, 0)  # a typical validation image (w, h), for the estimate
    previews: list[tuple[str, np.ndarray]] = field(default_factory=list)  # (stem, RGB thumb)


def split_dataset_folder(folder: Path) -> tuple[Path, Path, Path | None] | None:
    """(images, masks, split.json or None) when `folder` holds images/ and masks/."""
    images, masks = folder / "images", folder / "masks"
    if images.is_dir() and masks.is_dir():
        split = folder / "split.json"
        return images, masks, split if split.is_file() else None
    return None


def _listing(report: PairingReport, masks: Path, images: Path) -> list[str]:
    lines = [
        f"{p.name}: no mask with this name in {masks.name}/" for p in report.images_without_mask
    ]
    lines += [
        f"{p.name}: mask without a photo in {images.name}/" for p in report.masks_without_image
    ]
    lines += report.problems
    return lines


def _pair(images: str, masks: str, what: str) -> tuple[PairingReport | None, str]:
    if not images:
        return None, f"Choose the {what} photo folder."
    if not masks:
        return None, f"Choose the {what} mask folder."
    try:
        report = pair_folders(images, masks, check=True)
    except CrackInspectorError as exc:
        return None, str(exc)
    n_images = len(report.pairs) + len(report.problems) + len(report.images_without_mask)
    n_masks = len(report.pairs) + len(report.problems) + len(report.masks_without_image)
    if n_images == 0:
        return report, f"{images}: no photos here (looked for .jpg, .png, .tif, .bmp, .webp)."
    if n_masks == 0:
        return report, f"{masks}: no masks here; every photo needs a mask with the same name."
    if not report.pairs and not report.problems:
        return report, (
            f"None of the {n_images} photos has a mask with the same file name in {masks}."
        )
    if not report.pairs:
        return report, (
            f"None of the {len(report.problems)} photo/mask pairs can be used; "
            f"first: {report.problems[0]}"
        )
    return report, ""


def _notes(report: PairingReport, what: str) -> list[str]:
    notes = []
    if report.images_without_mask:
        notes.append(
            f"{len(report.images_without_mask)} {what} photos have no mask and are skipped."
        )
    if report.masks_without_image:
        notes.append(
            f"{len(report.masks_without_image)} {what} masks have no photo and are skipped."
        )
    if report.problems:
        notes.append(
            f"{len(report.problems)} {what} pairs cannot be read or differ in size and are skipped."
        )
    return notes


def check_data(choice: DataChoice, previews: int = PREVIEWS) -> DataCheck:
    result = DataCheck()
    report, reason = _pair(choice.images, choice.masks, "training")
    if report is not None:
        result.listing = _listing(report, Path(choice.masks), Path(choice.images))
        result.notes = _notes(report, "training")
    if reason:
        result.reason = reason
        return _trim(result)
    assert report is not None
    pairs, val_pairs = report.pairs, []
    if choice.validation == FRACTION:
        if not 0 < choice.val_fraction < 1:
            result.reason = "The validation fraction must be between 0 and 1."
            return _trim(result)
        n_val = max(1, round(len(pairs) * choice.val_fraction))
        result.n_train, result.n_val = len(pairs) - n_val, n_val
        val_pairs = pairs[:n_val]  # stands in for the seeded draw, for the image-size average
    elif choice.validation == SPLIT:
        if not choice.split_file:
            result.reason = "Choose the split file (JSON with 'train' and 'val' lists)."
            return _trim(result)
        try:
            split = load_split(choice.split_file)
        except CrackInspectorError as exc:
            result.reason = str(exc)
            return _trim(result)
        train, val_pairs = apply_split(pairs, split)
        result.n_train, result.n_val = len(train), len(val_pairs)
        other = sorted(k for k in split if k not in ("train", "val", "validation"))
        if not val_pairs:
            lists = ", ".join(sorted(split))
            result.reason = (
                f"{Path(choice.split_file).name} has no 'val' list naming these files "
                f"(it has: {lists}); a 'test' list is never used for validation. "
                "Use a fraction or a validation folder pair instead."
            )
        elif not train:
            result.reason = (
                f"{Path(choice.split_file).name}: its 'train' list names none of these files."
            )
        left_out = len(pairs) - len(train) - len(val_pairs)
        if left_out and other:
            result.notes.append(
                f"{left_out} pairs in the split's {', '.join(other)} list(s) are "
                "not used for training or validation."
            )
    else:
        result.n_train = len(pairs)
        val_report, val_reason = _pair(choice.val_images, choice.val_masks, "validation")
        if val_report is not None:
            result.listing += _listing(val_report, Path(choice.val_masks), Path(choice.val_images))
            result.notes += _notes(val_report, "validation")
            val_pairs = val_report.pairs
            result.n_val = len(val_pairs)
        result.reason = val_reason
    if not result.reason and result.n_train < 1:
        result.reason = "No pairs are left for training after taking out the validation images."
    result.ok = not result.reason
    result.val_size = _typical_size(val_pairs)
    if result.ok:
        result.previews = make_previews(_spread(pairs, previews))
    return _trim(result)


def _trim(result: DataCheck) -> DataCheck:
    if len(result.listing) > MAX_LISTED:
        more = len(result.listing) - MAX_LISTED
        result.listing = [*result.listing[:MAX_LISTED], f"… and {more} more"]
    return result


def _spread(pairs: list[Pair], n: int) -> list[Pair]:
    if len(pairs) <= n:
        return list(pairs)
    return [pairs[round(i * (len(pairs) - 1) / (n - 1))] for i in range(n)]


def _typical_size(pairs: list[Pair], sample: int = 20) -> tuple[int, int]:
    """The median-area (w, h) of up to `sample` images spread over the list."""
    sizes = []
    for pair in _spread(pairs, sample):
        try:
            sizes.append(image_size(pair.image))
        except CrackInspectorError:
            continue
    if not sizes:
        return (0, 0)
    sizes.sort(key=lambda s: s[0] * s[1])
    return sizes[len(sizes) // 2]


def make_previews(pairs: list[Pair], height: int = THUMB_HEIGHT) -> list[tuple[str, np.ndarray]]:
    """Small RGB thumbnails with the mask in red; thin cracks are kept visible by taking
    the maximum of the mask over each thumbnail pixel instead of an average."""
    import cv2

    out = []
    for pair in pairs:
        try:
            image, mask = read_image(pair.image), read_mask(pair.mask)
        except CrackInspectorError:
            continue
        h, w = image.shape[:2]
        scale = height / h
        size = (max(1, round(w * scale)), height)
        thumb = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        k = max(1, round(1 / scale))
        grown = cv2.dilate(mask.astype(np.uint8), np.ones((k, k), np.uint8)) if k > 1 else mask
        small = cv2.resize(grown.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
        tinted = thumb.astype(np.float32)
        tinted[small] = 0.35 * tinted[small] + 0.65 * np.array([235, 30, 40], np.float32)
        out.append((pair.stem, tinted.astype(np.uint8)))
    return out
