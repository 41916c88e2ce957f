"""Fixtures and helpers shared by tests/gui/test_gui_training_*.py (this module holds no tests).

Real CrackForest pairs copied to temp folders; the real trainer; per-test runs and model
folders; and a check that no test leaves a background task or a trainer process running.
"""

from __future__ import annotations

import gc
import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtGui import QColor

from crackinspector.gui.tasks import running_tasks
from crackinspector.gui.training.manager import run_manager

RUN_MS = 240_000  # one tiny run: ~30 s alone, several times that beside long training jobs
STEMS = ("001", "002", "003", "004")


@pytest.fixture(autouse=True)
def training_isolation(qtbot, tmp_path, monkeypatch):
    """Per-test runs and models folders; afterwards fail on anything left running."""
    monkeypatch.setenv("CRACKINSPECTOR_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("CRACKINSPECTOR_MODELS_DIR", str(tmp_path / "models"))
    yield
    # a cancelled time estimate ends at its next step; give it that long, no more
    qtbot.waitUntil(lambda: not running_tasks(), timeout=30_000)
    running = run_manager().running()
    for proc in running:
        proc.terminate(2000)
    # delete closed windows now and collect their Python wrappers, so no later test sees a
    # wrapper whose C++ object is gone
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()
    assert not running, f"trainer processes left running: {[p.run_dir for p in running]}"


def copy_pairs(crackforest: Path, dest: Path, stems=STEMS, masks=True) -> tuple[Path, Path]:
    images, mask_dir = dest / "images", dest / "masks"
    images.mkdir(parents=True)
    mask_dir.mkdir(parents=True)
    for stem in stems:
        shutil.copy(crackforest / "images" / f"{stem}.jpg", images)
        if masks:
            shutil.copy(crackforest / "masks" / f"{stem}.png", mask_dir)
    return images, mask_dir


@pytest.fixture()
def tiny_data(tmp_path: Path, crackforest: Path) -> tuple[Path, Path]:
    return copy_pairs(crackforest, tmp_path / "data")


def tiny_args(data: tuple[Path, Path], run: Path, epochs: int, init: str = "random") -> list[str]:
    """The smallest real training: resnet18, 64 px crops, batch 2, 2 steps per epoch."""
    images, masks = data
    return [
        "--images", str(images), "--masks", str(masks), "--val-fraction", "0.25",
        "--encoder", "resnet18", "--init", init, "--epochs", str(epochs),
        "--steps-per-epoch", "2", "--batch-size", "2", "--crop-size", "64", "--log-every", "1",
        "--out", str(run), "--export-dir", str(run.parent.parent / "models"),
    ]  # fmt: skip


def wait_done(qtbot, run: Path) -> None:
    qtbot.waitUntil(lambda: not run_manager().is_running(run), timeout=RUN_MS)


def drawn_pixels(widget, color: QColor) -> int:
    """Pixels of exactly `color` in a real rendering of `widget` (every 2nd row/column)."""
    image = widget.grab().toImage()
    target = color.rgb() & 0xFFFFFF
    return sum(
        1
        for y in range(0, image.height(), 2)
        for x in range(0, image.width(), 2)
        if image.pixel(x, y) & 0xFFFFFF == target
    )
