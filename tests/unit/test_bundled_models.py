"""The bundled models: present, loadable, described, and useful on real photos."""

from __future__ import annotations

import numpy as np
import pytest

from crackinspector.core.analysis.metrics import SetMetrics
from crackinspector.core.infer.predictor import Predictor
from crackinspector.core.io.imageio import read_image, read_mask
from crackinspector.core.model import registry as models

BUNDLED = ("unet-resnet34", "unet-vgg16")


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_model_is_listed_with_its_test_metrics(name):
    info = models.resolve(name)
    assert info.source == "bundled"
    test = info.card.metrics["crackforest_test"]
    assert test["images"] == 46
    assert 0.0 < test["f1"] <= 1.0 and 0.0 < test["f1_tol2"] <= 1.0
    # every stage, back to the one that started from random weights, was given CrackForest's
    # split file, so its 'test' stems were left out of training
    stage = info.card.training
    while True:
        splits = [d.get("split") for d in stage["config"]["datasets"]]
        assert "crackforest.split.json:train" in splits
        if "parent" not in stage:
            break
        stage = stage["parent"]["training"]
    assert stage["config"]["init"] == "random"
    assert models.resolve(name.removeprefix("unet-")).name == name  # alias


def test_resnet_finds_the_cracks_in_crackforest_test_photos(crackforest):
    predictor = Predictor("resnet34", backend="torch", device="cpu")
    metrics = SetMetrics(threshold=predictor.threshold)
    for stem in ("075", "088", "104"):
        prob = predictor.predict(read_image(crackforest / "images" / f"{stem}.jpg"))
        metrics.add(prob, read_mask(crackforest / "masks" / f"{stem}.png"), sweep=False)
    result = metrics.result()
    assert result["f1_tol2"] > 0.6, result
    assert result["recall_tol2"] > 0.6, result


@pytest.mark.parametrize("name", BUNDLED)
def test_crack_free_road_is_left_almost_unmarked(crackforest, name):
    """Windows of a test photo far from every labelled crack: almost nothing is marked."""
    import cv2

    predictor = Predictor(name, backend="torch", device="cpu")
    truth = read_mask(crackforest / "masks" / "110.png")
    prob = predictor.predict(read_image(crackforest / "images" / "110.jpg"))
    near = cv2.dilate(truth.astype(np.uint8), np.ones((33, 33), np.uint8)) > 0
    marked = np.mean(prob[~near] >= predictor.threshold)
    assert marked < 0.02, f"{name} marks {marked:.1%} of crack-free road"
