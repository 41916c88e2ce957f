"""The research scripts' checkpoints (UNet16, UNetResNet34/101): rebuilt by the rule in
../shared/data/seed-checkpoints/README.md, imported without --encoder, and checked against
its recorded output values; then run like any model, through the Predictor (torch and ONNX).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from crackinspector.cli import main
from crackinspector.core.io.imageio import read_image
from crackinspector.core.model import registry as models
from crackinspector.core.model.legacy import detect_script_model

SCRIPT_NAMES = {"UNet16": "vgg16", "UNetResNet34": "resnet34", "UNetResNet101": "resnet101"}


@pytest.fixture(autouse=True)
def _own_user_models(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CRACKINSPECTOR_MODELS_DIR", str(tmp_path / "user-models"))


@pytest.fixture(scope="module")
def architectures(shared_data: Path) -> dict:
    return json.loads((shared_data / "seed-checkpoints" / "architectures.json").read_text())


def rebuild_state_dict(entries: list) -> dict[str, torch.Tensor]:
    """The README's rule: every floating tensor, in state-dict order with index i, from
    torch.Generator().manual_seed(i); integer tensors stay 0 (i counts them too)."""
    state: dict[str, torch.Tensor] = {}
    for i, (key, shape, dtype) in enumerate(entries):
        if not dtype.startswith("float"):
            state[key] = torch.zeros(shape, dtype=getattr(torch, dtype))
            continue
        rand = torch.rand(shape, generator=torch.Generator().manual_seed(i))
        if key.endswith("running_var"):
            value = rand * 0.5 + 0.75
        elif key.endswith("running_mean"):
            value = (rand - 0.5) * 0.2
        elif len(shape) == 1:
            value = 1 + (rand - 0.5) * 0.2 if key.endswith("weight") else (rand - 0.5) * 0.2
        else:
            value = (rand * 2 - 1) * math.sqrt(3 / rand[0].numel())
        state[key] = value.to(getattr(torch, dtype))
    return state


def check_output(model: torch.nn.Module, check: dict) -> None:
    x = torch.randn(1, 3, 256, 256, generator=torch.Generator().manual_seed(1234))
    assert check["input"].startswith("torch.randn(1, 3, 256, 256")
    with torch.inference_mode():
        out = model(x)
    assert list(out.shape) == check["output_shape"]
    assert out.mean().item() == pytest.approx(check["output_mean"], abs=1e-4)
    assert out.std().item() == pytest.approx(check["output_std"], abs=1e-4)
    for y, x_, value in check["output_at_yx"]:
        assert out[0, 0, y, x_].item() == pytest.approx(value, abs=1e-4), (y, x_)


def _import(tmp_path: Path, architectures: dict, network: str, wrap: bool = True):
    spec = architectures[network]
    state = rebuild_state_dict(spec["state_dict"])
    path = tmp_path / f"{network.lower()}_best.pt"
    torch.save({"model": state, "epoch": 12, "valid_loss": 0.08} if wrap else state, path)
    assert main(["models", "import", str(path), "--name", f"old-{network.lower()}"]) == 0
    return models.resolve(f"old-{network.lower()}"), spec


@pytest.mark.parametrize(
    "network",
    ["UNet16", "UNetResNet34", pytest.param("UNetResNet101", marks=pytest.mark.slow)],
)
def test_script_checkpoint_imports_without_encoder_and_matches_check(
    tmp_path, architectures, capsys, network
):
    info, spec = _import(tmp_path, architectures, network, wrap=network != "UNetResNet34")
    out = capsys.readouterr().out
    assert f"old-{network.lower()}" in out and "threshold 0.2" in out
    card = info.card
    assert card.architecture == ("UNet16" if network == "UNet16" else "UNetResNet")
    assert card.encoder == SCRIPT_NAMES[network]
    assert card.threshold == 0.2 and card.tile_size % 64 == 0
    assert card.mean == (0.485, 0.456, 0.406) and card.std == (0.229, 0.224, 0.225)
    # one copy of each shared tensor on disk, all keys again when loaded
    saved = models.load_state_dict(info.weights_path)
    keys = [k for k, _, _ in spec["state_dict"]]
    assert len(saved) < len(keys) and set(saved) <= set(keys)
    model = models.load_model(info)
    assert list(model.state_dict()) == keys
    check_output(model, spec["check"])
    listing = main(["models", "list"])
    assert listing == 0 and f"old-{network.lower()}" in capsys.readouterr().out


def test_detection_by_keys(architectures):
    for network, script_name in SCRIPT_NAMES.items():
        keys = [k for k, _, _ in architectures[network]["state_dict"]]
        assert detect_script_model(keys) == script_name
        assert detect_script_model(keys[: len(keys) // 2]) is None  # a cut-off state dict
    assert detect_script_model(["encoder.conv1.weight", "decoder.blocks.0.conv1.0.weight"]) is None


def test_given_threshold_is_kept_and_a_broken_script_checkpoint_is_refused(
    tmp_path, architectures, capsys
):
    spec = architectures["UNetResNet34"]
    state = rebuild_state_dict(spec["state_dict"])
    path = tmp_path / "r34.pt"
    torch.save({"model": state}, path)
    assert main(["models", "import", str(path), "--name", "r34-t", "--threshold", "0.35"]) == 0
    assert models.resolve("r34-t").card.threshold == 0.35
    del state["dec0.conv.weight"]
    state["final.weight"] = torch.zeros(2, 32, 1, 1)
    torch.save({"model": state}, tmp_path / "damaged.pt")
    assert main(["models", "import", str(tmp_path / "damaged.pt")]) == 1
    err = capsys.readouterr().err
    assert "damaged.pt" in err and "--encoder" in err and "\n" not in err.strip()


def test_imported_script_model_runs_in_the_predictor_torch_and_onnx(
    tmp_path, architectures, crackforest
):
    from crackinspector.core.infer.predictor import Predictor

    info, _ = _import(tmp_path, architectures, "UNetResNet34")
    photo = read_image(crackforest / "images" / "001.jpg")[:300, :410]  # sides not x64
    maps = {}
    for backend in ("torch", "onnx"):
        predictor = Predictor(info, device="cpu", backend=backend)
        assert predictor.backend == backend and predictor.threshold == 0.2
        maps[backend] = predictor.predict(photo)
        assert maps[backend].shape == photo.shape[:2]
    assert np.isfinite(maps["torch"]).all() and maps["torch"].std() > 0
    np.testing.assert_allclose(maps["onnx"], maps["torch"], atol=1e-4)
