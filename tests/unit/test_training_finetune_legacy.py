"""Fine-tuning an imported research-script model keeps its network (training.loop)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from test_legacy_models import rebuild_state_dict
from training_helpers import TINY_ARGS, make_pairs

from crackinspector.cli import main
from crackinspector.core.infer.predictor import Predictor
from crackinspector.core.io.imageio import read_image
from crackinspector.core.model import registry as models
from training.cli import main as train_main


@pytest.fixture(autouse=True)
def _own_user_models(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CRACKINSPECTOR_MODELS_DIR", str(tmp_path / "user-models"))


def test_fine_tuned_script_model_keeps_its_architecture(shared_data, crackforest, tmp_path):
    spec = json.loads((shared_data / "seed-checkpoints" / "architectures.json").read_text())
    checkpoint = tmp_path / "unetresnet34_best.pt"
    torch.save({"model": rebuild_state_dict(spec["UNetResNet34"]["state_dict"])}, checkpoint)
    assert main(["models", "import", str(checkpoint), "--name", "old-resnet"]) == 0
    parent = models.resolve("old-resnet").card
    assert parent.architecture == "UNetResNet"

    images, masks = make_pairs(crackforest, tmp_path / "data", ["001", "002", "003"])
    args = [a for a in TINY_ARGS if a not in ("resnet18", "--encoder")]
    code = train_main(
        ["--images", str(images), "--masks", str(masks), "--val-fraction", "0.34", *args,
         "--epochs", "1", "--init", "old-resnet", "--out", str(tmp_path / "run"),
         "--export-dir", str(tmp_path / "out"), "--name", "tuned-resnet"]
    )  # fmt: skip
    assert code == 0
    info = models.resolve(tmp_path / "out" / "tuned-resnet.safetensors")
    card = info.card
    assert (card.architecture, card.encoder) == ("UNetResNet", "resnet34")
    assert (card.mean, card.std, card.classes) == (parent.mean, parent.std, parent.classes)
    assert card.training["parent"]["name"] == "old-resnet"

    predictor = Predictor(info.weights_path, device="cpu", backend="torch")
    photo = read_image(crackforest / "images" / "075.jpg")
    prob = predictor.predict(photo)
    assert prob.shape == photo.shape[:2] and np.isfinite(prob).all()
    assert 0.0 <= float(prob.min()) <= float(prob.max()) <= 1.0
