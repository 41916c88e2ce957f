"""Checking a data choice before a run starts: what the wizard's data page shows (Qt-free).

The choice becomes the trainer's own arguments (`choice_args`) and is planned by the
trainer's own rules (training.plan.plan_data: pairing, the check by decoding, split files,
the seeded validation draw), so the counts and the validation pairs shown are exactly the
ones the run will use. This module only words the outcome: one sentence saying why the data
cannot be used, or what will be skipped, and a file-by-file listing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from crackinspector.core.errors import Cancelled, CrackInspectorError
from crackinspector.core.io.imageio import image_size
from crackinspector.core.io.pairing import Pair, check_pair

from .cli import build_parser, config_from_args
from .config import TrainConfig
from .plan import OTHER_LISTS, FolderPlan, plan_data
from .preview import PREVIEWS, make_previews

FRACTION, SPLIT, FOLDERS = "fraction", "split", "folders"
MAX_LISTED = 200
PROGRESS_EVERY = 50


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
    val_pairs: list[Pair] = field(default_factory=list)  # exactly the run's validation pairs
    val_size: tuple[int, int] = (0, 0)  # a typical validation image (w, h), for the estimate
    previews: list[tuple[str, np.ndarray]] = field(default_factory=list)  # (stem, RGB thumb)


def choice_args(choice: DataChoice) -> list[str]:
    """The trainer's data arguments for `choice` (absolute paths)."""
    args = ["--images", _abs(choice.images), "--masks", _abs(choice.masks)]
    if choice.validation == FRACTION:
        args += ["--val-fraction", f"{choice.val_fraction:g}"]
    elif choice.validation == SPLIT:
        args += ["--split", _abs(choice.split_file)]
    elif choice.validation == FOLDERS:
        args += ["--val-images", _abs(choice.val_images), "--val-masks", _abs(choice.val_masks)]
    return args


def _abs(path: str) -> str:
    return str(Path(path).resolve())


def choice_config(choice: DataChoice) -> TrainConfig:
    """The TrainConfig the trainer builds from `choice_args` (other settings at defaults)."""
    return config_from_args(build_parser().parse_args([*choice_args(choice), "--out", "-"]))


def split_dataset_folder(folder: Path) -> tuple[Path, Path, Path | None] | None:
    """(images, masks, split.json or None) when `folder` holds images/ and masks/."""
    images, masks = folder / "images", folder / "masks"
    if images.is_dir() and masks.is_dir():
        split = folder / "split.json"
        return images, masks, split if split.is_file() else None
    return None


def _listing(folder: FolderPlan) -> list[str]:
    r = folder.report
    lines = [
        f"{p.name}: no mask with this name in {folder.masks.name}/" for p in r.images_without_mask
    ]
    lines += [
        f"{p.name}: mask without a photo in {folder.images.name}/" for p in r.masks_without_image
    ]
    return lines + r.problems


def _folder_reason(folder: FolderPlan) -> str:
    r = folder.report
    n_images = len(r.pairs) + len(r.problems) + len(r.images_without_mask)
    n_masks = len(r.pairs) + len(r.problems) + len(r.masks_without_image)
    if n_images == 0:
        return f"{folder.images}: no photos here (looked for .jpg, .png, .tif, .bmp, .webp)."
    if n_masks == 0:
        return f"{folder.masks}: no masks here; every photo needs a mask with the same name."
    if not r.pairs and not r.problems:
        return (
            f"None of the {n_images} photos has a mask with the same file name in {folder.masks}."
        )
    if not r.pairs:
        return f"None of the {len(r.problems)} photo/mask pairs can be used; first: {r.problems[0]}"
    return ""


def _notes(folder: FolderPlan) -> list[str]:
    r, what = folder.report, folder.role
    notes = []
    if r.images_without_mask:
        notes.append(f"{len(r.images_without_mask)} {what} photos have no mask and are skipped.")
    if r.masks_without_image:
        notes.append(f"{len(r.masks_without_image)} {what} masks have no photo and are skipped.")
    if r.problems:
        notes.append(
            f"{len(r.problems)} {what} pairs cannot be read or differ in size and are skipped."
        )
    others = [k for k in folder.split_lists if k not in OTHER_LISTS]
    if folder.left_out and others:
        notes.append(
            f"{folder.left_out} pairs in the split's {', '.join(others)} list(s) are "
            "not used for training or validation."
        )
    return notes


def _choice_problem(choice: DataChoice) -> str:
    missing = [
        (choice.images, "Choose the training photo folder."),
        (choice.masks, "Choose the training mask folder."),
    ]
    if choice.validation == FRACTION and not 0 < choice.val_fraction < 1:
        return "The validation fraction must be between 0 and 1."
    if choice.validation == SPLIT:
        missing.append(
            (choice.split_file, "Choose the split file (JSON with 'train' and 'val' lists).")
        )
    if choice.validation == FOLDERS:
        missing += [
            (choice.val_images, "Choose the validation photo folder."),
            (choice.val_masks, "Choose the validation mask folder."),
        ]
    return next((text for value, text in missing if not value), "")


def _split_reason(choice: DataChoice, folder: FolderPlan, n_train: int, n_val: int) -> str:
    name = Path(choice.split_file).name
    if not n_val:
        return (
            f"{name} has no 'val' list naming these files (it has: "
            f"{', '.join(folder.split_lists)}); a 'test' list is never used for validation. "
            "Use a fraction or a validation folder pair instead."
        )
    if not n_train:
        return f"{name}: its 'train' list names none of these files."
    return ""


def check_data(
    choice: DataChoice,
    previews: int = PREVIEWS,
    cancel: threading.Event | None = None,
    progress: Callable[[int], None] | None = None,
) -> DataCheck:
    """What training on `choice` would use, or why it cannot start (see the module doc).
    Every pair is decoded; `cancel` is checked before each one (Cancelled is raised) and
    `progress(pairs read so far)` is called every PROGRESS_EVERY pairs."""
    result = DataCheck(reason=_choice_problem(choice))
    if result.reason:
        return result
    done = 0

    def check(pair: Pair) -> str | None:
        nonlocal done
        if cancel is not None and cancel.is_set():
            raise Cancelled("data check cancelled")
        done += 1
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress(done)
        return check_pair(pair)

    try:
        plan = plan_data(choice_config(choice), check)
    except Cancelled:
        raise
    except CrackInspectorError as exc:
        result.reason = str(exc)
        return result
    for folder in plan.folders:
        result.listing += _listing(folder)
        result.notes += _notes(folder)
    result.n_train, result.n_val, result.val_pairs = len(plan.train), len(plan.val), plan.val
    reasons = [_folder_reason(f) for f in plan.folders]
    if choice.validation == SPLIT:
        reasons.append(_split_reason(choice, plan.folders[0], len(plan.train), len(plan.val)))
    result.reason = next((r for r in reasons if r), "")
    if not result.reason and result.n_train < 1:
        result.reason = "No pairs are left for training after taking out the validation images."
    result.ok = not result.reason
    if len(result.listing) > MAX_LISTED:
        more = len(result.listing) - MAX_LISTED
        result.listing = [*result.listing[:MAX_LISTED], f"… and {more} more"]
    if result.ok:
        result.val_size = typical_size(plan.val)
        result.previews = make_previews(spread(plan.folders[0].usable, previews))
    return result


def spread(pairs: list[Pair], n: int) -> list[Pair]:
    """Up to `n` items evenly spread over the list, first and last included."""
    if len(pairs) <= n:
        return list(pairs)
    if n <= 1:
        return list(pairs[:n])
    return [pairs[round(i * (len(pairs) - 1) / (n - 1))] for i in range(n)]


def typical_size(pairs: list[Pair], sample: int = 20) -> tuple[int, int]:
    """The median-area (w, h) of up to `sample` images spread over the list."""
    sizes = []
    for pair in spread(pairs, sample):
        try:
            sizes.append(image_size(pair.image))
        except CrackInspectorError:
            continue
    if not sizes:
        return (0, 0)
    sizes.sort(key=lambda s: s[0] * s[1])
    return sizes[len(sizes) // 2]
