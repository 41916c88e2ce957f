"""scripts/soup_models.py: a weight average of two models of one architecture, with a card that
does not claim the validation of either parent (the training wizard compares new models with
the one in use by `metrics.validation`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import torch
from model_factory import save_untrained_model

from crackinspector.core.model import registry
from crackinspector.core.model.card import ModelCard

REPO = Path(__file__).resolve().parents[2]


def _state(path: Path) -> dict[str, torch.Tensor]:
    return {k: v.float() for k, v in registry.load_state_dict(path).items()}


def _soup(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, str(REPO / "scripts" / "soup_models.py"), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=REPO)


def test_average_weights_and_card(tmp_path, crackforest):
    a = save_untrained_model(tmp_path / "a", name="parent-a", seed=0)
    b = save_untrained_model(tmp_path / "b", name="parent-b", seed=1)
    card_b = json.loads(b.card_path.read_text())
    card_b["metrics"] = {"validation": {"f1": 0.99, "epoch": 3}}
    b.card_path.write_text(json.dumps(card_b))

    # a run folder whose data record names two real CrackForest validation photos
    run = tmp_path / "run"
    run.mkdir()
    val = [
        {"stem": s, "image": str(crackforest / "images" / f"{s}.jpg"),
         "mask": str(crackforest / "masks" / f"{s}.png")}
        for s in ("061", "062")
    ]  # fmt: skip
    (run / "data.json").write_text(json.dumps({"train": [], "val": val}))

    out = tmp_path / "soup"
    proc = _soup(str(a.weights_path), str(b.weights_path), "--alphas", "0.25", "1",
                 "--name", "mix", "--out", str(out), "--run", str(run))  # fmt: skip
    assert proc.returncode == 0, proc.stderr

    sa, sb = _state(a.weights_path), _state(b.weights_path)
    quarter = _state(out / "mix-a0.25.safetensors")
    floating = [
        k for k in sa if sa[k].is_floating_point() and not k.endswith("num_batches_tracked")
    ]
    for key in floating:
        want = 0.75 * sa[key] + 0.25 * sb[key]
        assert torch.allclose(quarter[key], want, atol=2e-3, rtol=2e-3), key
    assert any(not torch.allclose(sa[k], sb[k]) for k in floating)  # the parents differ
    whole_b = _state(out / "mix-a1.safetensors")
    assert all(torch.allclose(whole_b[k], sb[k], atol=2e-3, rtol=2e-3) for k in floating)

    card = json.loads((out / "mix-a0.25.json").read_text())
    assert card["training"]["soup"] == {
        "a": "parent-a.safetensors", "b": "parent-b.safetensors", "alpha_b": 0.25
    }  # fmt: skip
    assert card["metrics"]["validation_of_b"] == {"f1": 0.99, "epoch": 3}
    own = card["metrics"]["validation"]  # scored on the run's two photos, not B's 0.99
    assert own["images"] == 2 and 0 <= own["f1"] <= 1 and own["f1"] != 0.99


def test_without_a_run_the_parents_validation_is_not_the_averages(tmp_path):
    a = save_untrained_model(tmp_path / "a", name="parent-a", seed=0)
    b = save_untrained_model(tmp_path / "b", name="parent-b", seed=1)
    card_b = json.loads(b.card_path.read_text())
    card_b["metrics"] = {"validation": {"f1": 0.5}}
    b.card_path.write_text(json.dumps(card_b))
    proc = _soup(str(a.weights_path), str(b.weights_path), "--name", "mix",
                 "--out", str(tmp_path / "soup"))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads((tmp_path / "soup" / "mix-a0.5.json").read_text())["metrics"]
    assert "validation" not in metrics and metrics["validation_of_b"] == {"f1": 0.5}


def test_models_of_different_shapes_are_refused(tmp_path):
    a = save_untrained_model(tmp_path / "a", name="parent-a")
    card = ModelCard.load(a.card_path)
    card.name, card.decoder_channels = "other", (16, 16, 8, 8, 8)
    b = registry.save_model(registry.build_model(card), card, tmp_path / "b")
    proc = _soup(str(a.weights_path), str(b.weights_path), "--name", "mix",
                 "--out", str(tmp_path / "soup"))  # fmt: skip
    assert proc.returncode == 1
    assert proc.stderr.startswith("the models differ in the shapes of ['decoder.")
    assert not (tmp_path / "soup").exists()
