"""`crackinspector doctor`: one line per item, OK or what to do; exit 1 when the GUI
cannot work. Real checks of this machine, real model files, a real unwritable folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from crackinspector.cli import main
from crackinspector.commands.doctor import check_bundled_models
from crackinspector.core.model.registry import bundled_models_dir, weights_digest, write_manifest

REPO = Path(__file__).resolve().parents[2]


def test_doctor_reports_every_item_ok_here(capsys):
    assert os.environ["QT_QPA_PLATFORM"] == "offscreen"  # conftest: nothing to check for Qt
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    lines = out.strip().splitlines()
    for item in ("Python", "PyTorch", "device", "ONNX Runtime", "Qt ", "Qt platform",
                 "models folder", "cache folder", "settings"):  # fmt: skip
        assert any(line.startswith("OK") and f" {item}" in line for line in lines), item
    device = next(line for line in lines if " device " in line)
    assert "CPU:" in device or ("CUDA:" in device and "GiB" in device) or "MPS" in device
    for name in ("unet-resnet34", "unet-vgg16"):
        line = next(line for line in lines if f"model {name}" in line)
        digest = weights_digest(bundled_models_dir() / f"{name}.safetensors")
        assert line.startswith("OK") and digest[:16] in line
    assert lines[-1] == "all OK"


def test_bundled_manifest_records_every_bundled_model(tmp_path):
    manifest = json.loads((bundled_models_dir() / "manifest.json").read_text())
    files = sorted(p.name for p in bundled_models_dir().glob("*.safetensors"))
    assert sorted(manifest["sha256"]) == files
    for name in files:  # what write_manifest would record now
        assert manifest["sha256"][name] == weights_digest(bundled_models_dir() / name)


def test_write_manifest_makes_the_checks_pass(tiny_model_path, tmp_path):
    folder = _model_folder(tiny_model_path, tmp_path / "fresh", "0" * 64)
    (before,) = check_bundled_models(folder)
    assert not before.ok
    assert write_manifest(folder) == {"m.safetensors": weights_digest(folder / "m.safetensors")}
    (after,) = check_bundled_models(folder)
    assert after.ok


def _model_folder(tiny_model_path: Path, folder: Path, digest: str | None) -> Path:
    folder.mkdir()
    for suffix in (".safetensors", ".json"):
        shutil.copy(tiny_model_path.with_suffix(suffix), folder / f"m{suffix}")
    if digest is not None:
        manifest = {"sha256": {"m.safetensors": digest}}
        (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def test_checksums_are_compared_with_the_manifest(tiny_model_path, tmp_path):
    real = weights_digest(tiny_model_path)
    (good,) = check_bundled_models(_model_folder(tiny_model_path, tmp_path / "good", real))
    assert good.ok and real[:16] in good.text
    (bad,) = check_bundled_models(_model_folder(tiny_model_path, tmp_path / "bad", "0" * 64))
    assert not bad.ok and "differs from the recorded" in bad.text and "reinstall" in bad.text
    folder = _model_folder(tiny_model_path, tmp_path / "cut", real)
    (folder / "m.safetensors").write_bytes((folder / "m.safetensors").read_bytes()[:1000])
    (cut,) = check_bundled_models(folder)
    assert not cut.ok and "corrupt or truncated" in cut.text
    (none,) = check_bundled_models(tmp_path / "empty")
    assert not none.ok and "no bundled models" in none.text


def test_unwritable_user_folder_fails_with_exit_1(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("CRACKINSPECTOR_CACHE_DIR", str(blocker / "cache"))
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if "cache folder" in line)
    assert line.startswith("FAIL") and str(blocker / "cache") in line and "not writable" in line


def test_doctor_names_the_missing_qt_libraries_with_a_display(tmp_path):
    from test_first_run import MISSING_HERE, XCB_LIBS

    if not MISSING_HERE:
        pytest.skip("this machine has every library the xcb plugin needs")
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    env["DISPLAY"] = ":99"
    done = subprocess.run(
        [sys.executable, "-m", "crackinspector.cli", "doctor"],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    line = next(line for line in done.stdout.splitlines() if "Qt platform" in line)
    assert line.startswith("FAIL") and "sudo apt install" in line
    assert all(XCB_LIBS[lib] in line for lib in MISSING_HERE)
