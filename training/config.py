"""The typed configuration of a training run, saved as `config.json` in the run folder."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from crackinspector.core.io.atomic import atomic_write_text

ENCODERS = (
    "resnet18",
    "resnet34",
    "resnet50",
    "vgg11",
    "vgg11_bn",
    "vgg13",
    "vgg13_bn",
    "vgg16",
    "vgg16_bn",
    "vgg19",
    "vgg19_bn",
)
LOSSES = ("bce_dice", "bce", "dice", "focal_dice", "tversky", "bce_dice_cldice")
OPTIMISERS = ("sgd", "adamw")
SCHEDULES = ("none", "cosine", "onecycle")
# Where and how fast a run computes, not what it computes: a resumed run takes these from
# the command that resumes it (a bigger machine, a GPU) and the rest from its config.json.
MACHINE_FIELDS = ("device", "threads", "workers")
EXPORTS = ("best", "last")


@dataclass
class TrainConfig:
    """Defaults follow the original research script: SGD, lr 1e-3, momentum 0.9, batch 8,
    weight decay 1e-4, 10 epochs."""

    images: list[str] = field(default_factory=list)
    masks: list[str] = field(default_factory=list)
    splits: list[str] = field(default_factory=list)
    oversample: list[float] = field(default_factory=list)
    val_images: list[str] = field(default_factory=list)
    val_masks: list[str] = field(default_factory=list)
    val_fraction: float = 0.0
    val_limit: int = 0
    out: str = "runs/run"
    name: str = ""
    encoder: str = "resnet34"
    init: str = "random"  # random | imagenet | a model name or file (fine-tuning)
    epochs: int = 10
    steps_per_epoch: int = 0  # 0: one pass over the training images per epoch
    batch_size: int = 8
    lr: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 1e-4
    optimiser: str = "sgd"
    schedule: str = "none"
    loss: str = "bce_dice"
    crop_size: int = 256
    augment: bool = True
    amp: str = "auto"  # auto | off | bf16 | fp16
    device: str = "auto"
    seed: int = 0
    ema: float = 0.0  # decay of an exponential moving average of the weights; 0: off
    export: str = "best"  # the checkpoint the exported model comes from: best | last epoch
    teacher: str = ""  # a model (name or file) whose probabilities the run also learns from
    distill_weight: float = 1.0  # weight of the loss against the teacher's probabilities
    workers: int = 0
    threads: int = 0
    log_every: int = 10
    tile_size: int = 448
    export_dir: str = ""

    def save(self, path: str | Path) -> None:
        atomic_write_text(path, json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        data: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def resumed_with(self, caller: TrainConfig) -> TrainConfig:
        """This saved config with the machine settings `caller` sets (not left at default)."""
        default = TrainConfig()
        given = {n: getattr(caller, n) for n in MACHINE_FIELDS}
        return replace(self, **{n: v for n, v in given.items() if v != getattr(default, n)})

    def validate(self) -> None:
        problems = []
        if self.encoder not in ENCODERS:
            problems.append(f"encoder {self.encoder!r} is not one of {', '.join(ENCODERS)}")
        if self.loss not in LOSSES:
            problems.append(f"loss {self.loss!r} is not one of {', '.join(LOSSES)}")
        if self.optimiser not in OPTIMISERS:
            problems.append(f"optimiser {self.optimiser!r} is not one of {', '.join(OPTIMISERS)}")
        if self.schedule not in SCHEDULES:
            problems.append(f"schedule {self.schedule!r} is not one of {', '.join(SCHEDULES)}")
        if not self.images or len(self.images) != len(self.masks):
            problems.append("give --images and --masks folders in pairs")
        if self.splits and len(self.splits) not in (1, len(self.images)):
            problems.append("give one --split, or one per --images folder")
        if self.oversample and len(self.oversample) != len(self.images):
            problems.append("give one --oversample factor per --images folder")
        if len(self.val_images) != len(self.val_masks):
            problems.append("give --val-images and --val-masks folders in pairs")
        if not 0.0 <= self.val_fraction < 1.0:
            problems.append("--val-fraction must be in [0, 1)")
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            problems.append("epochs, batch size and learning rate must be positive")
        if self.export not in EXPORTS:
            problems.append(f"export {self.export!r} is not one of {', '.join(EXPORTS)}")
        if not 0.0 <= self.ema < 1.0:
            problems.append("--ema must be in [0, 1) (0: off)")
        if self.distill_weight < 0:
            problems.append("--distill-weight must be >= 0")
        if self.crop_size % 32:
            problems.append("--crop-size must be a multiple of 32")
        if problems:
            raise ValueError("; ".join(problems))
