"""Model files and registry: save/load round trip, legacy import, and one-line errors."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from crackinspector.cli import main
from crackinspector.core.errors import ModelError
from crackinspector.core.model import registry as models
from crackinspector.core.model.card import ModelCard


def _copy_model(src, dest_dir, name):
    dest_dir.mkdir(parents=True, exist_ok=True)
    card = json.loads(src.with_suffix(".json").read_text())
    card["name"] = name
    (dest_dir / f"{name}.json").write_text(json.dumps(card))
    shutil.copy(src, dest_dir / f"{name}.safetensors")
    return dest_dir / f"{name}.safetensors"


def test_round_trip_keeps_weights_and_card(tiny_model_path, tmp_path):
    info = models.resolve(tiny_model_path)
    model = models.load_model(info)
    saved = models.save_model(model, info.card, tmp_path, dtype=torch.float16)
    again = models.load_model(saved.weights_path)
    for (k, a), (_, b) in zip(model.state_dict().items(), again.state_dict().items(), strict=True):
        if a.is_floating_point():
            assert torch.allclose(a, b, atol=2e-3, rtol=1e-2), k
    assert saved.card.weights_dtype == "float16"
    assert models.ModelCard.load(saved.card_path).encoder == "resnet18"
    assert not list(tmp_path.glob("*.part*"))


def test_registry_lists_user_models_and_resolves_aliases(tiny_model_path, monkeypatch, tmp_path):
    user = tmp_path / "user"
    _copy_model(tiny_model_path, user, "my-model")
    monkeypatch.setenv("CRACKINSPECTOR_MODELS_DIR", str(user))
    names = {m.name: m.source for m in models.list_models()}
    assert names["my-model"] == "user"
    assert models.resolve("my-model").source == "user"
    with pytest.raises(ModelError, match="no such model"):
        models.resolve("nope")
    assert models.ALIASES["resnet34"] == "unet-resnet34"


def test_identity_changes_with_the_weights(tiny_model_path, tmp_path):
    a = _copy_model(tiny_model_path, tmp_path / "a", "m")
    b = _copy_model(tiny_model_path, tmp_path / "b", "m")
    assert models.resolve(a).identity == models.resolve(b).identity
    data = bytearray(b.read_bytes())
    data[-10] ^= 0xFF
    b.write_bytes(bytes(data))
    assert models.resolve(a).identity != models.resolve(b).identity


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        ("missing", "model weights not found"),
        ("truncated", "corrupt or truncated"),
        ("garbage", "corrupt or truncated"),
        ("card-json", "not valid JSON"),
        ("card-missing", "model card not found"),
        ("wrong-arch", "do not fit the architecture"),
    ],
)
def test_broken_model_files_give_one_line_errors(tiny_model_path, tmp_path, damage, reason):
    path = _copy_model(tiny_model_path, tmp_path, "broken")
    if damage == "missing":
        path.unlink()
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif damage == "garbage":
        path.write_bytes(b"\x00" * 1000)
    elif damage == "card-json":
        path.with_suffix(".json").write_text("{not json")
    elif damage == "card-missing":
        path.with_suffix(".json").unlink()
    elif damage == "wrong-arch":
        card = json.loads(path.with_suffix(".json").read_text())
        card["encoder"] = "resnet34"
        path.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(ModelError) as err:
        models.load_model(path)
    message = str(err.value)
    assert reason in message and "broken" in message and "\n" not in message


def test_cli_reports_broken_model_without_traceback(tiny_model_path, tmp_path, capsys):
    path = _copy_model(tiny_model_path, tmp_path, "broken")
    path.write_bytes(b"\x00" * 100)
    code = main(["predict", str(tmp_path), "--out", str(tmp_path / "out"), "--model", str(path)])
    err = capsys.readouterr().err
    assert code == 1
    assert "broken.safetensors" in err and "Traceback" not in err


def _legacy_checkpoint(tmp_path, wrap: bool):
    card = ModelCard(name="x", encoder="resnet18", decoder_channels=(256, 128, 64, 32, 16))
    torch.manual_seed(1)
    model = models.build_model(card)
    state = model.state_dict()
    obj = {"model": state, "epoch": 3, "optimizer_lr": 0.001} if wrap else state
    path = tmp_path / ("wrapped.pt" if wrap else "plain.pth")
    torch.save(obj, path)
    return path, state


@pytest.mark.parametrize("wrap", [False, True])
def test_models_import_converts_legacy_checkpoints(tmp_path, monkeypatch, capsys, wrap):
    monkeypatch.setenv("CRACKINSPECTOR_MODELS_DIR", str(tmp_path / "user"))
    path, state = _legacy_checkpoint(tmp_path, wrap)
    assert main(["models", "import", str(path), "--encoder", "resnet18", "--name", "legacy"]) == 0
    info = models.resolve("legacy")
    loaded = models.load_model(info).state_dict()
    key = "encoder.conv1.weight"
    assert torch.allclose(loaded[key], state[key], atol=1e-2)
    assert main(["models", "list"]) == 0
    assert "legacy" in capsys.readouterr().out


def test_import_refuses_pickled_code_and_wrong_encoder(tmp_path, capsys):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    evil = tmp_path / "evil.pt"
    torch.save({"model": Evil()}, evil)
    assert main(["models", "import", str(evil), "--encoder", "resnet18"]) == 1
    err = capsys.readouterr()
    assert "cannot read checkpoint safely" in err.err and "pwned" not in err.out
    path, _ = _legacy_checkpoint(tmp_path, wrap=True)
    assert main(["models", "import", str(path), "--encoder", "vgg16"]) == 1
    assert "do not fit the architecture" in capsys.readouterr().err
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    assert main(["models", "import", str(empty), "--encoder", "resnet18"]) == 1
    assert "file is empty" in capsys.readouterr().err
