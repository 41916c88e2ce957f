"""Model files and registry: save/load round trip, legacy import, and one-line errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

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


def test_float16_file_keeps_a_running_variance_beyond_its_range(tiny_model_path, tmp_path):
    """A batch norm's running variance of 1e5 (as behind the unnormalised VGG16 encoder of
    unet-vgg16 1.0) would be inf in float16, and inf silences the channel at inference: such
    a tensor is stored in float32, the rest in float16."""
    info = models.resolve(tiny_model_path)
    model = models.load_model(info)
    name, bn = next((n, m) for n, m in model.named_modules() if isinstance(m, torch.nn.BatchNorm2d))
    bn.running_var[:3] = torch.tensor([1.0e5, 7.0e4, 2.0])
    key = f"{name}.running_var"
    saved = models.save_model(model, info.card, tmp_path, dtype=torch.float16)
    again = models.load_model(saved.weights_path)
    assert torch.equal(again.state_dict()[key], bn.running_var)
    from safetensors import safe_open

    with safe_open(str(saved.weights_path), "pt") as f:
        dtypes = {k: f.get_tensor(k).dtype for k in f.keys()}  # noqa: SIM118
    assert dtypes[key] == torch.float32
    assert sum(d == torch.float16 for d in dtypes.values()) > len(dtypes) // 2


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
    assert models.resolve("legacy").card.threshold == 0.5  # an smp U-Net's default
    info = models.resolve("legacy")
    loaded = models.load_model(info).state_dict()
    key = "encoder.conv1.weight"
    assert torch.allclose(loaded[key], state[key], atol=1e-2)
    assert main(["models", "list"]) == 0
    assert "legacy" in capsys.readouterr().out


def _evil_checkpoint(tmp_path: Path) -> Path:
    """A checkpoint whose unpickling would run code (print), as an attacker would ship it."""

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    evil = tmp_path / "evil.pt"
    torch.save({"model": Evil()}, evil)
    return evil


def test_import_refuses_pickled_code_and_wrong_encoder(tmp_path, capsys):
    evil = _evil_checkpoint(tmp_path)
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


# ------------------------------------------------- card validation (issue 13, defect 5)


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("threshold", 7, "between 0 and 1"),
        ("threshold", 0, "between 0 and 1"),
        ("threshold", "0.5", "between 0 and 1"),
        ("tile_size", 0, "multiple of 32"),
        ("tile_size", "abc", "multiple of 32"),
        ("tile_size", 100, "multiple of 32"),
        ("tile_size", 448.0, "multiple of 32"),
        ("mean", [0.5, 0.5], "three numbers"),
        ("std", [0.2, 0.0, 0.2], "three positive numbers"),
        ("decoder_channels", [32, -16, 16, 8, 8], "five positive whole numbers"),
        ("in_channels", 4, "3 (RGB"),
        ("classes", 2, "1 (crack"),
        ("architecture", "FPN", "one of Unet"),
        ("weights_dtype", "int8", "one of float16"),
        ("metrics", [], "a JSON object"),
        ("format_version", "one", "whole number"),
    ],
)
def test_every_card_field_is_validated_on_load(tiny_model_path, tmp_path, field, value, reason):
    path = _copy_model(tiny_model_path, tmp_path, "badcard")
    card = json.loads(path.with_suffix(".json").read_text())
    card[field] = value
    path.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(ModelError) as err:
        models.resolve(path)
    message = str(err.value)
    assert "badcard.json" in message and repr(field) in message and reason in message
    assert "\n" not in message


def test_models_list_names_a_model_it_skips_for_its_card(
    tiny_model_path, tmp_path, monkeypatch, capsys
):
    user = tmp_path / "user"
    path = _copy_model(tiny_model_path, user, "zero-tiles")
    card = json.loads(path.with_suffix(".json").read_text())
    card["tile_size"] = 0
    path.with_suffix(".json").write_text(json.dumps(card))
    monkeypatch.setenv("CRACKINSPECTOR_MODELS_DIR", str(user))
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    skipped = [line for line in out.splitlines() if line.startswith("skipped:")]
    assert len(skipped) == 1 and "zero-tiles.json" in skipped[0] and "'tile_size'" in skipped[0]


def test_predict_refuses_a_card_threshold_of_7_by_file_and_field(
    tiny_model_path, tmp_path, crackforest, capsys
):
    path = _copy_model(tiny_model_path, tmp_path / "m", "seven")
    card = json.loads(path.with_suffix(".json").read_text())
    card["threshold"] = 7
    path.with_suffix(".json").write_text(json.dumps(card))
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(crackforest / "images" / "001.jpg", photos)
    code = main(["predict", str(photos), "--out", str(tmp_path / "out"), "--model", str(path)])
    err = capsys.readouterr().err
    assert code == 1 and "seven.json" in err and "'threshold' is 7" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_models_import_refuses_a_threshold_out_of_range(tmp_path, capsys):
    path, _ = _legacy_checkpoint(tmp_path, wrap=True)
    with pytest.raises(SystemExit) as exit_:
        main(["models", "import", str(path), "--encoder", "resnet18", "--threshold", "7"])
    assert exit_.value.code == 2
    assert "--threshold: 7 is not between 0 and 1" in capsys.readouterr().err
    with pytest.raises(ModelError, match="'threshold' is 7"):
        models.import_checkpoint(path, "resnet18", name="t7", folder=tmp_path, threshold=7)
    assert not list(tmp_path.glob("t7.*"))


# ------------------------------------------------- import and save details (defect 8)


@pytest.mark.parametrize("name", ["unet-resnet34", "unet-vgg16", "resnet34"])
def test_import_refuses_the_name_of_a_bundled_model(tmp_path, monkeypatch, capsys, name):
    monkeypatch.setenv("CRACKINSPECTOR_MODELS_DIR", str(tmp_path / "user"))
    path, _ = _legacy_checkpoint(tmp_path, wrap=True)
    code = main(["models", "import", str(path), "--encoder", "resnet18", "--name", name])
    assert code == 1 and "bundled model" in capsys.readouterr().err
    assert not (tmp_path / "user").exists() or not list((tmp_path / "user").iterdir())
    assert models.resolve(models.ALIASES.get(name, name)).source == "bundled"


def test_import_does_not_replace_a_user_model_without_force(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CRACKINSPECTOR_MODELS_DIR", str(tmp_path / "user"))
    path, _ = _legacy_checkpoint(tmp_path, wrap=True)
    args = ["models", "import", str(path), "--encoder", "resnet18", "--name", "mine"]
    assert main(args) == 0
    before = (tmp_path / "user" / "mine.safetensors").stat().st_mtime_ns
    assert main(args) == 1 and "--force" in capsys.readouterr().err
    assert (tmp_path / "user" / "mine.safetensors").stat().st_mtime_ns == before
    assert main([*args, "--force"]) == 0


def test_saved_weights_get_the_same_permissions_as_cards(tmp_path):
    import os
    import stat

    path, _ = _legacy_checkpoint(tmp_path, wrap=True)
    mask = os.umask(0o022)
    try:
        info = models.import_checkpoint(path, "resnet18", name="perm", folder=tmp_path / "m")
    finally:
        os.umask(mask)
    modes = {p.suffix: stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "m").iterdir()}
    assert modes == {".safetensors": 0o644, ".json": 0o644}, {k: oct(v) for k, v in modes.items()}
    assert info.weights_path.exists()


def test_import_error_keeps_torchs_warning_about_running_code(tmp_path, capsys):
    evil = _evil_checkpoint(tmp_path)
    assert main(["models", "import", str(evil), "--encoder", "resnet18"]) == 1
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert "evil.pt" in err and "arbitrary code execution" in err and "trusted source" in err
    assert "GLOBAL print" in err and "\n" not in err and "\x1b" not in err
    assert "pwned" not in captured.out


def test_untrained_model_factory_is_not_product_code():
    assert not hasattr(models, "save_untrained_model")
