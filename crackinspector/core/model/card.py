"""The model card: the JSON file beside a model's weights that says how to rebuild and use it."""

from __future__ import annotations

import datetime as _dt
import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from crackinspector.core.errors import ModelError
from crackinspector.core.io.atomic import atomic_write_text

CARD_FORMAT = "crackinspector-model"
CARD_FORMAT_VERSION = 1
ARCHITECTURES = ("Unet", "UNet16", "UNetResNet")  # smp's U-Net; the research scripts' two
WEIGHT_DTYPES = ("float16", "bfloat16", "float32")
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
        version = data.get("format_version", 0)
        if not _is_int(version) or version < 0:
            raise ModelError(
                path, f"model card field 'format_version' is {version!r}; it must be a whole number"
            )
        if version > CARD_FORMAT_VERSION:
            raise ModelError(path, "model card is from a newer CrackInspector; please update")
        known = set(cls.__dataclass_fields__)
        kwargs = {k: v for k, v in data.items() if k in known}
        for key in ("name", "encoder"):
            if not isinstance(kwargs.get(key), str) or not kwargs[key]:
                raise ModelError(path, f"model card has no {key!r}")
        check_fields(kwargs, path)
        for key in ("decoder_channels", "mean", "std"):
            if key in kwargs:
                kwargs[key] = tuple(kwargs[key])
        return cls(**kwargs)

    def validate(self, path: str | Path = "<card>") -> None:
        """Raise ModelError naming `path` and the first field that is of the wrong type or
        out of range (see `check_fields`)."""
        check_fields(asdict(self), path)

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


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _numbers(v: object, n: int | None = None) -> bool:
    return (
        isinstance(v, (list, tuple))
        and (n is None or len(v) == n)
        and all(_is_number(x) for x in v)
    )


# field -> (test, what a valid value is); the test sees the raw JSON value
_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "name": (lambda v: isinstance(v, str) and bool(v.strip()), "a non-empty text"),
    "encoder": (lambda v: isinstance(v, str) and bool(v.strip()), "a non-empty text"),
    "architecture": (lambda v: v in ARCHITECTURES, f"one of {', '.join(ARCHITECTURES)}"),
    "in_channels": (lambda v: _is_int(v) and v == 3, "3 (RGB photos)"),
    "classes": (lambda v: _is_int(v) and v == 1, "1 (crack / background)"),
    "decoder_channels": (
        lambda v: (
            isinstance(v, (list, tuple)) and len(v) == 5 and all(_is_int(x) and x > 0 for x in v)
        ),
        "five positive whole numbers",
    ),
    "mean": (
        lambda v: _numbers(v, 3) and all(0 <= x <= 1 for x in v),
        "three numbers between 0 and 1",
    ),
    "std": (
        lambda v: _numbers(v, 3) and all(0 < x <= 10 for x in v),
        "three positive numbers",
    ),
    "tile_size": (
        lambda v: _is_int(v) and 32 <= v <= 8192 and v % 32 == 0,
        "a positive multiple of 32 (32 to 8192)",
    ),
    "threshold": (lambda v: _is_number(v) and 0 < v < 1, "a number between 0 and 1 (exclusive)"),
    "version": (lambda v: isinstance(v, str), "a text"),
    "created": (lambda v: isinstance(v, str), "a text"),
    "description": (lambda v: isinstance(v, str), "a text"),
    "weights_dtype": (lambda v: v in WEIGHT_DTYPES, f"one of {', '.join(WEIGHT_DTYPES)}"),
    "training": (lambda v: isinstance(v, dict), "a JSON object"),
    "metrics": (lambda v: isinstance(v, dict), "a JSON object"),
}


def check_fields(data: dict[str, Any], path: str | Path = "<card>") -> None:
    """Every known field present in `data` has the right type and range, else ModelError
    naming the file and the field, e.g. "threshold is 7; it must be a number between 0 and
    1 (exclusive)"."""
    for key, (test, wanted) in _RULES.items():
        if key not in data:
            continue
        value = data[key]
        try:
            ok = bool(test(value))
        except TypeError:
            ok = False
        if not ok:
            shown = json.dumps(value, default=str)
            if len(shown) > 60:
                shown = shown[:57] + "..."
            raise ModelError(path, f"model card field {key!r} is {shown}; it must be {wanted}")
