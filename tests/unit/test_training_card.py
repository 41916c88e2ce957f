"""Model cards name datasets and splits, never this machine's paths (training/card.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from crackinspector.core.model.card import ModelCard
from training.card import portable_config, portable_training
from training.compare import comparable
from training.config import TrainConfig

MODELS = Path(__file__).resolve().parents[2] / "resources" / "models"


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


def machine_paths(value: Any) -> list[str]:
    return [s for s in strings(value) if s.startswith("/") or ".." in s or "shared/data" in s]


@pytest.mark.parametrize("card", sorted(MODELS.glob("unet-*.json")), ids=lambda p: p.stem)
def test_bundled_cards_hold_no_machine_paths(card):
    data = json.loads(card.read_text())
    assert machine_paths(data) == []
    stage = data["training"]
    while True:  # every stage says which datasets and splits it was trained on
        if "config" in stage:  # (a conversion to another encoder has none)
            names = [d["dataset"] for d in stage["config"]["datasets"]]
            assert names[:2] == ["crackforest", "crackpool"]
            assert set(names) <= {"crackforest", "crackpool", "masonry", "uav75", "negatives"}
            assert stage["config"]["datasets"][0]["split"] == "crackforest.split.json:train"
        before = stage.get("parent") or stage.get("converted_from")
        if before is None:
            break
        stage = before["training"]


def _config(shared_data: Path) -> dict[str, Any]:
    cfd, pool = shared_data / "crackforest", shared_data / "crackpool"
    cfg = TrainConfig(
        images=[str(cfd / "images"), str(pool / "images")],
        masks=[str(cfd / "masks"), str(pool / "masks")],
        splits=[str(cfd / "split.json"), str(pool / "split.json")],
        oversample=[40.0, 1.0],
        val_images=[str(shared_data / "masonry" / "images")],
        val_masks=[str(shared_data / "masonry" / "masks")],
        out=str(shared_data.parent / "runs" / "r1"),
        init=str(MODELS / "unet-resnet34.safetensors"),
    )
    return asdict(cfg)


def test_portable_config_names_datasets_and_splits(shared_data):
    config = _config(shared_data)
    out = portable_config(config)
    assert machine_paths(out) == []
    assert out["datasets"] == [
        {"dataset": "crackforest", "split": "crackforest.split.json:train", "oversample": 40.0},
        {
            "dataset": "crackpool",
            "split": "crackpool.split.json:train",
            "validation_split": "crackpool.split.json:val",  # crackpool's split has a val list
            "oversample": 1.0,
        },
    ]
    assert out["validation_datasets"] == [{"dataset": "masonry"}]
    # a prepared split file (scripts/prepare_training_data.py) is already named after its set
    prepared = {**config, "splits": [str(shared_data.parent / "runs/data/crackforest.split.json")]}
    assert portable_config(prepared)["datasets"][0]["split"] == "crackforest.split.json:train"
    assert out["out"] == "r1" and out["init"] == "unet-resnet34"
    assert out["epochs"] == config["epochs"] and "export_dir" not in out
    assert portable_config(out) == out  # already portable: unchanged
    training = portable_training({"config": config, "command": "train --images /x/y/images"})
    assert training["command"] == "train --images images"
    assert machine_paths(training) == []


def test_a_portable_card_compares_with_one_written_before(shared_data):
    config = _config(shared_data)
    metrics = {"validation": {"best_f1": 0.5}}
    old = ModelCard(name="old", encoder="resnet34", training={"config": config}, metrics=metrics)
    new = ModelCard(name="new", encoder="resnet34", training=portable_training({"config": config}))
    other = ModelCard(
        name="o",
        encoder="resnet34",
        training=portable_training({"config": {**config, "val_images": [], "val_masks": []}}),
        metrics=metrics,
    )
    assert comparable(new, old) and not comparable(new, other)
