"""scripts/finalize_bundled.py writes dataset and split names, not machine paths, into the
bundled cards' training section (checked on the real cards' recorded training)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def finalize():
    spec = importlib.util.spec_from_file_location(
        "finalize_bundled", REPO / "scripts" / "finalize_bundled.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def strings(value):
    if isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)
    elif isinstance(value, str):
        yield value


@pytest.mark.parametrize("card", ["unet-resnet34", "unet-vgg16"])
def test_training_section_names_datasets_and_splits(finalize, card) -> None:
    training = json.loads((REPO / "resources" / "models" / f"{card}.json").read_text())["training"]
    portable = finalize.portable_training(training)
    paths = [s for s in strings(portable) if "/" in s or s.startswith(".")]
    assert not paths, paths
    config = portable["config"]
    names = [d["name"] for d in config["datasets"]]
    assert "crackforest" in names and len(names) == len(training["config"]["images"])
    for d in config["datasets"]:
        assert d["split_file"] == "split.json"
        assert d["splits"] == {"train": "training", "val": "validation"}
    # everything that is not a path is kept as it was
    kept = {k: v for k, v in training["config"].items() if not isinstance(v, (str, list))}
    assert {k: config[k] for k in kept if k != "oversample"} == {
        k: v for k, v in kept.items() if k != "oversample"
    }


def test_dataset_names_from_paths(finalize) -> None:
    name = finalize.dataset_name
    assert name("/work/main/scripts/../../shared/data/crackforest/images") == "crackforest"
    assert name("runs/data/negatives/masks") == "negatives"
    assert name("/srv/photos/bridge-a/images") == "bridge-a"
    assert name("/srv/photos/bridge-a/split.json") == "bridge-a"
