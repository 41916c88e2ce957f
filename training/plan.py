"""What a run trains and validates on, and how many steps an epoch has (Qt-free).

One set of rules for the trainer and the GUI wizard: the folders are paired by stem, split
files put stems into train / val (any other list, e.g. "test", is never used), every kept
pair is checked with the decode the trainer loads it with (a bad pair is skipped with its
reason, it never stops a run), then `--val-fraction` draws its seeded share of the training
pairs and `--val-limit` a seeded subset of the validation pairs. The wizard shows what the
trainer will do because it calls the same `plan_data`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from crackinspector.core.io.atomic import atomic_write_text
from crackinspector.core.io.pairing import (
    DataError,
    Pair,
    PairingReport,
    apply_split,
    check_pair,
    load_split,
    pair_folders,
)

from .config import TrainConfig

DATA_RECORD = "data.json"  # in the run folder: the pairs a run trained and validated on
OTHER_LISTS = ("train", "val", "validation")

Check = Callable[[Pair], str | None]  # None: usable, else "path: reason"


@dataclass
class FolderPlan:
    """One --images/--masks (or --val-images/--val-masks) folder pair."""

    images: Path
    masks: Path
    role: str  # "training" | "validation"
    report: PairingReport  # pairs: all paired by stem; problems: pairs that failed the check
    usable: list[Pair] = field(default_factory=list)  # checked, in stem order
    split_file: Path | None = None
    split_lists: tuple[str, ...] = ()  # the lists the split file has
    left_out: int = 0  # pairs in the split's other lists (never used)


@dataclass
class DataPlan:
    train: list[Pair] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)  # sampling weight per training pair
    val: list[Pair] = field(default_factory=list)
    folders: list[FolderPlan] = field(default_factory=list)

    @property
    def skipped(self) -> list[str]:
        return [p for f in self.folders for p in f.report.problems]

    def log_lines(self) -> list[str]:
        """What the trainer logs about its data, file by file."""
        lines = []
        for f in self.folders:
            what = " (validation)" if f.role == "validation" else ""
            lines.append(f"{f.images}{what}: {f.report.summary()}")
            lines += [
                f"{p}: no mask with this name in {f.masks}" for p in f.report.images_without_mask
            ]
            lines += [
                f"{p}: no image with this name in {f.images}" for p in f.report.masks_without_image
            ]
            lines += [f"skipped {problem}" for problem in f.report.problems]
        return lines


def split_file_for(cfg: TrainConfig, index: int) -> str | None:
    """The split file of the index-th --images folder: one for all, or one each."""
    if len(cfg.splits) > 1:
        return cfg.splits[index]
    return cfg.splits[0] if cfg.splits else None


def random_split(pairs: list[Any], fraction: float, seed: int) -> tuple[list[Any], list[Any]]:
    """A seeded random fraction of the items for validation (at least one when fraction > 0)."""
    if fraction <= 0:
        return list(pairs), []
    order = np.random.default_rng(seed).permutation(len(pairs))
    n_val = max(1, round(len(pairs) * fraction))
    val_idx = set(order[:n_val].tolist())
    train = [p for i, p in enumerate(pairs) if i not in val_idx]
    return train, [pairs[i] for i in sorted(val_idx)]


def limit_validation(pairs: list[Pair], limit: int, seed: int) -> list[Pair]:
    """A fixed seeded subset of `limit` validation pairs (0: all), in their order."""
    if not limit or len(pairs) <= limit:
        return pairs
    keep = np.random.default_rng(seed).permutation(len(pairs))[:limit]
    return [pairs[i] for i in sorted(keep)]


def _checked(pairs: list[Pair], check: Check, report: PairingReport) -> list[Pair]:
    kept = []
    for pair in pairs:
        problem = check(pair)
        if problem:
            report.problems.append(problem)
        else:
            kept.append(pair)
    return kept


def plan_data(cfg: TrainConfig, check: Check = check_pair) -> DataPlan:
    """The training pairs (with sampling weights) and validation pairs `cfg` describes.

    Raises DataError for a missing folder or an unreadable split file; an empty result is
    the caller's to refuse (the wizard words it differently from the trainer)."""
    plan = DataPlan()
    for i, (images, masks) in enumerate(zip(cfg.images, cfg.masks, strict=True)):
        report = pair_folders(images, masks, check=False)
        folder = FolderPlan(Path(images), Path(masks), "training", report)
        train, val = report.pairs, list[Pair]()
        split_file = split_file_for(cfg, i)
        if split_file:
            split = load_split(split_file)
            train, val = apply_split(report.pairs, split)
            folder.split_file = Path(split_file)
            folder.split_lists = tuple(sorted(split))
            folder.left_out = len(report.pairs) - len(train) - len(val)
        report.pairs = train + val  # pairs in other lists are not this run's pairs
        train, val = _checked(train, check, report), _checked(val, check, report)
        report.pairs = folder.usable = sorted(train + val, key=lambda p: p.stem)
        plan.train += train
        plan.weights += [cfg.oversample[i] if cfg.oversample else 1.0] * len(train)
        plan.val += val
        plan.folders.append(folder)
    for images, masks in zip(cfg.val_images, cfg.val_masks, strict=True):
        report = pair_folders(images, masks, check=False)
        folder = FolderPlan(Path(images), Path(masks), "validation", report)
        report.pairs = folder.usable = _checked(report.pairs, check, report)
        plan.val += folder.usable
        plan.folders.append(folder)
    if cfg.val_fraction > 0:
        rest, held = random_split(list(range(len(plan.train))), cfg.val_fraction, cfg.seed)
        plan.val += [plan.train[i] for i in held]
        plan.weights = [plan.weights[i] for i in rest]
        plan.train = [plan.train[i] for i in rest]
    plan.val = limit_validation(plan.val, cfg.val_limit, cfg.seed)
    return plan


def require_training_pairs(plan: DataPlan, batch_size: int, fixed_steps: int) -> None:
    """The trainer's refusals, each with its reason."""
    if not plan.train:
        raise DataError(
            "no usable training pairs: check that image and mask files share their names "
            "and sizes (see the messages above)"
        )
    if not fixed_steps and len(plan.train) < batch_size:
        raise DataError(
            f"only {len(plan.train)} training pairs for a batch size of {batch_size}: "
            "lower --batch-size or set --steps-per-epoch"
        )


def steps_per_epoch(n_train: int, batch_size: int, fixed_steps: int, world_size: int = 1) -> int:
    """Optimisation steps per epoch (per process): `fixed_steps`, else one pass over the
    training pairs shared by the processes, whole batches only."""
    if fixed_steps > 0:
        return fixed_steps
    return max(1, (n_train // world_size) // batch_size)


def samples_per_epoch(cfg: TrainConfig, world_size: int = 1) -> int:
    """Samples an epoch draws over all processes (0: one permutation of the pairs)."""
    return cfg.steps_per_epoch * cfg.batch_size * world_size


def log_every(n_train: int, batch_size: int, fixed_steps: int, points: int = 50) -> int:
    """A step-logging interval giving about `points` loss points per epoch on the chart."""
    return max(1, steps_per_epoch(n_train, batch_size, fixed_steps) // points)


def _pair_json(pair: Pair) -> dict[str, str]:
    return {"stem": pair.stem, "image": str(pair.image), "mask": str(pair.mask)}


def write_data_record(run_dir: Path, plan: DataPlan) -> None:
    """`data.json`: the pairs this run trains and validates on, and those it skipped, so a
    model can later be scored on exactly the run's validation images."""
    record = {
        "version": 1,
        "train": [_pair_json(p) for p in plan.train],
        "val": [_pair_json(p) for p in plan.val],
        "skipped": plan.skipped,
    }
    atomic_write_text(run_dir / DATA_RECORD, json.dumps(record, indent=1) + "\n")


def read_data_record(run_dir: Path) -> tuple[list[Pair], list[Pair]]:
    """(training pairs, validation pairs) recorded in a run folder; DataError if missing."""
    path = Path(run_dir) / DATA_RECORD
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        train, val = (
            [Pair(d["stem"], Path(d["image"]), Path(d["mask"])) for d in data[key]]
            for key in ("train", "val")
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{path}: cannot read the run's data record ({exc})") from None
    return train, val
