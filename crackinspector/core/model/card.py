"""The model card: the JSON file beside a model's weights that says how to rebuild and use it."""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from crackinspector.core.errors import ModelError
from crackinspector.core.io.atomic import atomic_write_text

CARD_FORMAT = "crackinspector-model"
CARD_FORMAT_VERSION = 1
ARCHITECTURES = ("Unet",)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass
class ModelCard:
    """Everything needed to rebuild a model and run it the way it was trained.

    `mean`/`std` apply to RGB scaled to 0..1. `metrics` and `training` are free-form dicts
    written by the training pipeline (validation and test metrics, the run's config);
    `precision_checks` records accuracy at each inference precision.
    """

    name: str
    encoder: str
    architecture: str = "Unet"
    in_channels: int = 3
    classes: int = 1
    decoder_channels: tuple[int, ...] = (256, 128, 64, 32, 16)
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    tile_size: int = 448
    threshold: float = 0.5
    version: str = "1.0.0"
    created: str = field(
        default_factory=lambda: _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    )
    description: str = ""
    weights_dtype: str = "float16"
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    # {precision: {"strict_f1", "tolerant_f1", "on", ...}}: the accuracy check of each
    # precision ("fp32", "int8", "bf16"); `--precision auto` uses only checked precisions.
    # Written by benchmarks/bench_precision.py --write-card (core/infer/precision.py).
    precision_checks: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        data = {"format": CARD_FORMAT, "format_version": CARD_FORMAT_VERSION, **asdict(self)}
        return json.dumps(data, indent=2, sort_keys=False) + "\n"

    def save(self, path: str | Path) -> None:
        atomic_write_text(path, self.to_json())

    @classmethod
    def from_dict(cls, data: dict[str, Any], path: str | Path = "<card>") -> ModelCard:
        if data.get("format") != CARD_FORMAT:
            raise ModelError(path, "not a CrackInspector model card (missing 'format')")
        if int(data.get("format_version", 0)) > CARD_FORMAT_VERSION:
            raise ModelError(path, "model card is from a newer CrackInspector; please update")
        known = set(cls.__dataclass_fields__)
        kwargs = {k: v for k, v in data.items() if k in known}
        for key in ("name", "encoder"):
            if not isinstance(kwargs.get(key), str) or not kwargs[key]:
                raise ModelError(path, f"model card has no {key!r}")
        for key in ("decoder_channels", "mean", "std"):
            if key in kwargs:
                kwargs[key] = tuple(kwargs[key])
        card = cls(**kwargs)
        if card.architecture not in ARCHITECTURES:
            raise ModelError(path, f"unsupported architecture {card.architecture!r}")
        return card

    @classmethod
    def load(cls, path: str | Path) -> ModelCard:
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ModelError(path, "model card not found") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelError(path, f"model card is not valid JSON ({exc})") from None
        if not isinstance(data, dict):
            raise ModelError(path, "model card is not a JSON object")
        return cls.from_dict(data, path)

    def summary_metrics(self) -> str:
        """Short metrics line for lists and tooltips, e.g. 'CFD test F1 0.62 / 0.88 (2 px)'."""
        test = self.metrics.get("crackforest_test") or {}
        val = self.metrics.get("validation") or {}
        if test:
            return (
                f"CrackForest test F1 {test.get('f1', float('nan')):.3f} strict, "
                f"{test.get('f1_tol2', float('nan')):.3f} within 2 px"
            )
        if val:
            f1, iou = val.get("f1", float("nan")), val.get("iou", float("nan"))
            return f"validation F1 {f1:.3f}, IoU {iou:.3f}"
        return "no metrics"
