"""Training from the GUI: a wizard, a live loss chart, and a list of runs.

The main window calls `install_training_menu(window, models_changed)` once; everything else
lives in this package:
- wizard.py (+ data_page, model_page, settings_page, summary_page): the four-page wizard.
- process.py / manager.py: `crackinspector-train` in a QProcess, owned app-wide.
- monitor.py + chart.py + widgets.py: one run's window (QPainter chart, log, Stop/Resume).
- runs_window.py / runs.py / history.py: runs read back from their folders.
- datacheck.py / estimate.py / tasks.py: checking data and timing steps in background threads.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMainWindow, QMenu

from crackinspector.core.model.registry import ModelInfo

__all__ = ["install_training_menu"]


def _tools_menu(window: QMainWindow) -> QMenu:
    bar = window.menuBar()
    for action in bar.actions():
        menu = action.menu()
        if menu is not None and action.text().replace("&", "") == "Tools":
            return menu
    help_action = next(
        (a for a in bar.actions() if a.text().replace("&", "") == "Help"), None
    )  # keep Help last, where people look for it
    menu = QMenu("&Tools", window)
    menu.setObjectName("tools_menu")
    if help_action is not None:
        bar.insertMenu(help_action, menu)
    else:
        bar.addMenu(menu)
    return menu


def install_training_menu(
    window: QMainWindow,
    models_changed: Callable[[], None],
    current_model: Callable[[], ModelInfo | None] | None = None,
):
    """Add Tools → Train model… and Tools → Training runs… to `window`.

    `models_changed` is called whenever a run exports a model (refresh the model selector).
    `current_model` returns the model in use, for the comparison shown when a run ends; by
    default `window.model_picker.current_model` when the window has one. A window with
    `set_train_handler` (the main window's Models → Train a model…) gets it wired too.
    Returns the TrainingUi (also findable as the window's child named "training_ui").
    """
    from .ui import TrainingUi

    picker = getattr(window, "model_picker", None)
    if current_model is None and picker is not None:
        current_model = picker.current_model
    use_model = None
    if picker is not None or hasattr(window, "add_model_from_file"):

        def use_model(path: Path) -> None:
            """Select the new model in the window's selector (which then loads it)."""
            if picker is not None:
                picker.refresh()
                if picker.select(str(path)):
                    return
            if hasattr(window, "add_model_from_file"):
                window.add_model_from_file(path)  # exported outside the model folder

    ui = TrainingUi(window, models_changed, current_model, use_model)
    menu = _tools_menu(window)
    train = QAction("Train model…", window)
    train.setObjectName("action_train_model")
    train.setStatusTip("Retrain on your own labelled photos, in the background")
    train.triggered.connect(ui.open_wizard)
    runs = QAction("Training runs…", window)
    runs.setObjectName("action_training_runs")
    runs.setStatusTip("Running and past training runs: charts, stop, resume")
    runs.triggered.connect(ui.open_runs)
    menu.addActions([train, runs])
    if hasattr(window, "set_train_handler"):
        window.set_train_handler(lambda _w: ui.open_wizard())
    return ui
