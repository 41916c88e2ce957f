"""The training wizard's suggested photo folder comes from the main window, passed in."""

# ruff: noqa: F811 - pytest fixtures imported from gui_support are parameters here
from __future__ import annotations

from gui_support import (  # noqa: F401 - fixtures
    _no_running_qthreads,
    make_window,
    photo_folder,
    wait_idle,
)
from PySide6.QtWidgets import QWidget

from crackinspector.gui.training.ui import TrainingUi


def test_main_window_passes_its_folder_to_the_training_ui(make_window, photo_folder, qtbot):
    window = make_window()
    assert window.training_ui.current_folder is not None
    assert window.training_ui.current_folder() is None  # nothing open yet
    window.open_path(photo_folder)
    qtbot.waitUntil(lambda: window.state.folder == photo_folder, timeout=10_000)
    assert window.training_ui.current_folder() == photo_folder
    wait_idle(qtbot, window)


def test_training_ui_does_not_read_its_parents_state(qtbot, photo_folder):
    parent = QWidget()
    qtbot.addWidget(parent)
    parent.state = type("State", (), {"folder": photo_folder})()  # looks like an AppState
    ui = TrainingUi(parent, models_changed=lambda: None)
    assert ui.current_folder is None
