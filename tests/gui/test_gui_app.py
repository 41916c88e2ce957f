# ruff: noqa: F811 - pytest fixtures imported from gui_support are parameters here
"""Application start-up: what opens first, and `--screenshot` end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from crackinspector.resources import resource_dir
from gui_support import _no_running_qthreads, photo_folder  # noqa: F401 - fixtures
from PIL import Image

from crackinspector.gui.app import build_parser, run_gui, start_path


def test_start_path_prefers_argument_then_last_folder_then_samples(tmp_path: Path):
    assert start_path(str(tmp_path / "x.jpg"), "") == tmp_path / "x.jpg"
    assert start_path(None, str(tmp_path)) == tmp_path
    assert start_path(None, str(tmp_path / "gone")) == resource_dir("samples")
    assert start_path(None, "") == resource_dir("samples")
    assert any(resource_dir("samples").glob("*.jpg"))


def test_parser_accepts_path_model_and_screenshot():
    args = build_parser().parse_args(
        ["photos", "--model", "m.safetensors", "--screenshot", "s.png"]
    )
    assert (args.path, args.model, args.screenshot) == ("photos", "m.safetensors", "s.png")


def test_screenshot_mode_analyses_and_saves_the_window(
    qtbot, qapp, photo_folder, tiny_model_path, tmp_path
):
    out = tmp_path / "shots" / "window.png"
    code = run_gui(
        [
            str(photo_folder / "002.jpg"),
            "--model",
            str(tiny_model_path),
            "--screenshot",
            str(out),
            "--size",
            "1000x640",
        ]
    )
    assert code == 0
    image = np.asarray(Image.open(out).convert("RGB"))
    assert image.shape == (640, 1000, 3)
    assert image.std() > 20  # a real picture, not a blank grab
    assert not [w for w in qapp.topLevelWidgets() if w.isVisible()]  # the window closed
