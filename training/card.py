"""What a model card says about how the model was trained, without this machine's paths.

A card travels (bundled, shared, imported elsewhere), so its training section names the
data by dataset and split, never by folder: `--images /x/shared/data/crackforest/images
--split /x/shared/data/crackforest/split.json` becomes
`{"dataset": "crackforest", "split": "crackforest.split.json:train"}`. Used by
crackinspector-train for every card it writes (loop.export_model) and by
scripts/ship_model.py for the bundled ones.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PATH_KEYS = ("images", "masks", "splits", "val_images", "val_masks")
_DROPPED = (*PATH_KEYS, "oversample", "export_dir")
_MASK_NAMES = ("images", "masks", "image", "mask", "img", "imgs", "gt", "labels")
_FROM_SCRATCH = ("random", "imagenet")
_WEIGHT_SUFFIXES = (".safetensors", ".pt", ".pth", ".ckpt", ".onnx", ".json")


def dataset_name(path: str) -> str:
    """'crackforest' for .../shared/data/crackforest/images (or runs/data/crackforest/...):
    the folder under the last 'data' folder, else the folder above images/masks."""
    parts = Path(path).parts
    if "data" in parts[:-1]:
        return parts[len(parts) - 1 - parts[::-1].index("data") + 1]
    p = Path(path)
    return (p.parent if p.name.lower() in _MASK_NAMES or p.suffix else p).name


def _split_lists(path: str) -> list[str]:
    """The lists a training run takes from a split file: 'train', and 'val' when it has one
    (training.plan.apply_split); just 'train' when the file cannot be read now."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ["train"]
    return ["train", "val"] if isinstance(data, dict) and "val" in data else ["train"]


def _split_entry(dataset: str, split: str) -> dict[str, str]:
    file = Path(split).name  # <set>/split.json, or runs/data/<set>.split.json (prepared)
    name = file if file.startswith(f"{dataset}.") else f"{dataset}.{file}"
    entry = {"split": f"{name}:train"}
    if "val" in _split_lists(split):
        entry["validation_split"] = f"{name}:val"
    return entry


def portable_config(config: dict[str, Any]) -> dict[str, Any]:
    """A training config (TrainConfig as a dict) with dataset and split names in place of
    paths; a config that is already portable comes back unchanged."""
    if "datasets" in config and not any(k in config for k in PATH_KEYS):
        return dict(config)
    out = {k: v for k, v in config.items() if k not in _DROPPED}
    images = [str(p) for p in config.get("images") or []]
    splits = [str(p) for p in config.get("splits") or []]
    oversample = config.get("oversample") or []
    datasets: list[dict[str, Any]] = []
    for i, folder in enumerate(images):
        entry: dict[str, Any] = {"dataset": dataset_name(folder)}
        split = splits[i] if len(splits) > 1 else (splits[0] if splits else None)
        if split:
            entry.update(_split_entry(entry["dataset"], split))
        if i < len(oversample):
            entry["oversample"] = oversample[i]
        datasets.append(entry)
    out["datasets"] = datasets
    out["validation_datasets"] = [
        {"dataset": dataset_name(str(v))} for v in config.get("val_images") or []
    ]
    if isinstance(config.get("out"), str):
        out["out"] = Path(config["out"]).name  # the run's folder name
    for key in ("init", "teacher"):  # the model it started from / was distilled from
        model = config.get(key)
        if isinstance(model, str) and model not in ("", *_FROM_SCRATCH):
            is_file = "/" in model or "\\" in model or model.endswith(_WEIGHT_SUFFIXES)
            out[key] = Path(model).stem if is_file else model
    return out


def _command_words(command: str) -> str:
    """The training command with paths cut to their last part."""
    return " ".join(Path(w).name if "/" in w or "\\" in w else w for w in command.split())


def portable_training(training: dict[str, Any]) -> dict[str, Any]:
    """A card's training section (and its parents') without machine paths."""
    out = dict(training)
    if isinstance(out.get("config"), dict):
        out["config"] = portable_config(out["config"])
    if isinstance(out.get("command"), str):
        out["command"] = _command_words(out["command"])
    for key in ("parent", "converted_from"):  # fine-tuned from / moved onto a new encoder
        parent = out.get(key)
        if isinstance(parent, dict) and isinstance(parent.get("training"), dict):
            out[key] = {**parent, "training": portable_training(parent["training"])}
    return out
