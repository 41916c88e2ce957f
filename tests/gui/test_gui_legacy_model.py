# ruff: noqa: F811 - pytest fixtures imported from gui_support are parameters here
"""A research-script checkpoint (UNetResNet34), imported by `models import`, runs in the
window like any other model: picked from a file, analysed, its threshold applied."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from gui_support import (  # noqa: F401 - fixtures
    TIMEOUT_MS,
    _no_running_qthreads,
    make_window,
    photo_folder,
    wait_shown,
)

from crackinspector.core.model import registry
from crackinspector.core.model.legacy import UNetResNet


def _script_checkpoint(folder: Path) -> Path:
    """What the research scripts save: {"model": state_dict, "epoch": ...} of UNetResNet34."""
    torch.manual_seed(7)
    model = UNetResNet(34)
    with torch.no_grad():
        model.final.bias.fill_(-1.0)  # random weights: keep most pixels below threshold
    path = folder / "resnet34_best.pt"
    torch.save({"model": model.state_dict(), "epoch": 3, "valid_loss": 0.2}, path)
    return path


def test_imported_script_model_analyses_in_the_window(make_window, photo_folder, qtbot, tmp_path):
    info = registry.import_checkpoint(
        _script_checkpoint(tmp_path), name="script-r34", folder=tmp_path / "models"
    )
    assert info.card.architecture == "UNetResNet" and info.card.threshold == 0.2
    window = make_window()
    assert window.add_model_from_file(info.weights_path) is not None
    assert window.model_picker.current_model().name == "script-r34"
    window.open_path(photo_folder)
    first = photo_folder / "001.jpg"
    qtbot.waitUntil(
        lambda: (
            window.overlay.result is not None
            and window.overlay.result.path == first
            and window.overlay.result.model.name == "script-r34"
        ),
        timeout=TIMEOUT_MS * 3,
    )
    wait_shown(qtbot, window, first)
    prob = window.overlay.result.probability
    assert prob.shape == (320, 480) and np.isfinite(prob).all() and prob.std() > 0
    assert "script-r34" in window.status.device_label.text()
