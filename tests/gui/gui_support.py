"""Fixtures shared by the GUI tests (tests/gui/test_gui_*.py import them by name).

Real parts only: real CrackForest photos copied into a temp folder (plus one corrupt JPEG),
the real tiny model from conftest, real Qt widgets (offscreen), the real worker thread.
Every test gets its own result cache so a hit is always the test's own doing; the ONNX export
cache stays session-wide (conftest) so each model is exported once per run.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

PHOTOS = ("001.jpg", "002.jpg", "003.jpg", "004.jpg")
TIMEOUT_MS = 60_000  # generous: 2 busy cores shared with training runs


@pytest.fixture(autouse=True)
def _no_running_qthreads() -> Iterator[None]:
    """Fail any test that leaves a background task (gui/tasks.py) or a pool running.

    pytest-qt closes the test's widgets before fixtures are torn down, and closing the main
    window must join its tasks; anything still running here is a leak.
    """
    yield
    from PySide6.QtCore import QThreadPool
    from PySide6.QtWidgets import QApplication

    from crackinspector.gui import tasks

    busy_pools = [p for p in tasks.live_pools() if p.activeThreadCount() > 0]
    for pool in busy_pools:  # stop them so the next test starts clean, then fail
        pool.waitForDone(10_000)
    QApplication.processEvents()  # deliver 'finished' of tasks that ended just now
    running = [t.runner.name for t in tasks.running_tasks()]
    global_busy = QThreadPool.globalInstance().activeThreadCount()
    assert not busy_pools, "a task runner's pool still has running tasks"
    assert not running, f"background tasks left running: {running}"
    assert global_busy == 0, "the global QThreadPool still has running tasks"


@pytest.fixture()
def photo_folder(tmp_path: Path, crackforest: Path) -> Path:
    """Four real CrackForest photos and one corrupt JPEG (`zz_broken.jpg`, sorted last)."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in PHOTOS:
        shutil.copy(crackforest / "images" / name, folder / name)
    data = (crackforest / "images" / "005.jpg").read_bytes()
    (folder / "zz_broken.jpg").write_bytes(data[: len(data) // 3])  # truncated mid-scan
    return folder


@pytest.fixture(scope="session")
def second_tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Same architecture as tiny_model_path, different random weights (so different maps)."""
    import torch

    from crackinspector.core.model.card import ModelCard
    from crackinspector.core.model.registry import build_model, save_model

    torch.manual_seed(1234)
    card = ModelCard(
        name="tiny-resnet18-b",
        encoder="resnet18",
        decoder_channels=(32, 16, 16, 8, 8),
        tile_size=128,
    )
    model = build_model(card)
    # Push the output bias so this model's probabilities clearly differ from the first's.
    with torch.no_grad():
        model.segmentation_head[0].bias.fill_(-2.0)
    folder = tmp_path_factory.mktemp("tiny-model-b")
    return save_model(model, card, folder, dtype=torch.float32).weights_path


@pytest.fixture()
def make_window(qtbot, tmp_path: Path, tiny_model_path: Path) -> Callable:
    """Factory for a shown MainWindow with the tiny model and a per-test result cache."""
    from crackinspector.core.io.cache import ResultCache
    from crackinspector.gui.main_window import MainWindow

    def make(model=tiny_model_path, cache_dir: Path | None = None, **kwargs) -> MainWindow:
        cache = ResultCache(cache_dir or tmp_path / "result-cache")
        window = MainWindow(model=model, cache=cache, **kwargs)
        qtbot.addWidget(window)
        window.resize(1100, 700)
        window.show()
        qtbot.waitExposed(window)
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow, timeout=5000)  # keyboard shortcuts need it
        return window

    return make


def wait_status(qtbot, window, path: Path, *statuses, timeout: int = TIMEOUT_MS) -> None:
    qtbot.waitUntil(lambda: window.controller.status(path) in statuses, timeout=timeout)


def wait_idle(qtbot, window, timeout: int = TIMEOUT_MS) -> None:
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=timeout)


def wait_shown(qtbot, window, path: Path, timeout: int = TIMEOUT_MS) -> None:
    """Until `path` is on screen with its analysis result drawn."""

    def shown() -> bool:
        r = window.overlay.result
        return window.state.current == path and r is not None and r.path == path

    qtbot.waitUntil(shown, timeout=timeout)


def wait_measured(qtbot, window, path: Path, timeout: int = TIMEOUT_MS):
    """Until `path` is on screen, drawn, and measured at the state's settings."""
    wait_shown(qtbot, window, path, timeout)

    def measured() -> bool:
        s = window.measurements.summary(path)
        return (
            window.measurements.measurement(path) is not None
            and s is not None
            and s.settings == window.state.analysis_settings(path)
        )

    qtbot.waitUntil(measured, timeout=timeout)
    return window.measurements.measurement(path)
