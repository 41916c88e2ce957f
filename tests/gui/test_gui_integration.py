# ruff: noqa: F811 - pytest fixtures imported from gui_support are parameters here
"""The parts hooked into the real main window (gui/integrations.py): measurements panel and
crack highlight, File -> Export, Tools -> training; real CrackForest photos, tiny model."""

from __future__ import annotations

from gui_support import (  # noqa: F401 - fixtures
    TIMEOUT_MS,
    _no_running_qthreads,
    make_window,
    photo_folder,
    wait_idle,
    wait_shown,
)
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QGraphicsPathItem

from crackinspector.cli import main as cli_main
from crackinspector.gui.export_dialog import ExportDialog
from crackinspector.gui.measure_panel import MeasurePanel


def measured(qtbot, window, threshold: float) -> MeasurePanel:
    """Analyse the image on screen and wait until the panel lists its cracks."""
    panel = window.measure_panel
    window.layers_panel.set_threshold(threshold)
    window._on_threshold(threshold)  # random tiny model: a low threshold gives "cracks"
    wait_shown(qtbot, window, window.current)
    window.overlay.settle_now()
    qtbot.waitUntil(
        lambda: panel.measurement is not None and panel.table.rowCount() > 0, timeout=TIMEOUT_MS
    )
    return panel


def test_measurements_panel_lists_cracks_and_highlights_the_selected_one(
    make_window, photo_folder, qtbot
):
    window = make_window()
    assert window.measure_dock is not None
    assert window.measure_dock.isAncestorOf(window.measure_panel)
    assert window.measure_dock.isVisible()
    window.open_path(photo_folder)
    panel = measured(qtbot, window, 0.3)
    assert panel.image_path == photo_folder / "001.jpg"
    assert panel.table.rowCount() == panel.measurement.n_cracks
    assert window.viewer.highlight() is None

    panel.table.selectRow(0)
    item = window.viewer.highlight()
    assert isinstance(item, QGraphicsPathItem) and item.scene() is window.viewer.scene()
    index = panel.selected_crack()
    crack = panel.measurement.cracks[index]
    x, y, w, h = crack.bbox
    box = item.path().boundingRect()  # the outline sits on the crack's own pixels
    assert abs(box.x() - x) <= 1 and abs(box.y() - y) <= 1
    assert abs(box.width() - w) <= 2 and abs(box.height() - h) <= 2
    assert item.label_item.text().startswith(f"#{crack.id} ")

    panel.select_crack(-1)
    assert window.viewer.highlight() is None
    assert item.scene() is None

    # another image: the highlight goes, the old image's numbers go until it is measured
    panel.table.selectRow(0)
    assert window.viewer.highlight() is not None
    window.step(1)
    assert window.viewer.highlight() is None
    assert panel.measurement is None or panel.image_path == photo_folder / "002.jpg"
    wait_shown(qtbot, window, photo_folder / "002.jpg")
    window.overlay.settle_now()
    qtbot.waitUntil(lambda: panel.image_path == photo_folder / "002.jpg", timeout=TIMEOUT_MS)
    panel.wait()
    wait_idle(qtbot, window)


def test_export_menu_opens_the_export_dialog_with_the_windows_state(
    make_window, photo_folder, qtbot
):
    window = make_window()
    window.open_path(photo_folder)
    wait_shown(qtbot, window, photo_folder / "001.jpg")
    export = window.actions.export
    assert export.isEnabled() and export.shortcut().toString() == "Ctrl+E"
    export.trigger()
    dialogs = [w for w in QApplication.topLevelWidgets() if isinstance(w, ExportDialog)]
    assert len(dialogs) == 1
    dialog = dialogs[0]
    qtbot.waitUntil(dialog.isVisible, timeout=5000)
    assert dialog.parent() is window
    assert dialog.paths == window.paths() and len(dialog.paths) == 5
    assert dialog.selected == [photo_folder / "001.jpg"]
    assert dialog.model.weights_path == window.controller.model.weights_path
    assert dialog.cache is window.controller.worker.cache
    assert not dialog.is_running()
    dialog.reject()
    assert not dialog.isVisible()
    wait_idle(qtbot, window)


def test_tools_menu_trains_and_models_menu_uses_the_same_wizard(make_window, qtbot):
    window = make_window()
    tools = next(
        a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == "Tools"
    )
    assert [a.text() for a in tools.actions()] == ["Train model…", "Training runs…"]
    assert len(window.findChildren(QAction, "action_train_model")) == 1
    assert window.actions.train.isEnabled()
    window.actions.train.trigger()  # Models -> Train a model…
    wizard = window.training_ui.wizard
    assert wizard is not None and wizard.isVisible()
    tools.actions()[0].trigger()  # the same wizard is raised, not a second one
    assert window.training_ui.wizard is wizard
    window.training_ui.close_all()


def test_closing_the_window_stops_the_measuring_pool(make_window, photo_folder, qtbot):
    window = make_window()
    window.open_path(photo_folder)
    panel = measured(qtbot, window, 0.3)
    window.close()
    assert panel._pool.activeThreadCount() == 0
    assert not window.controller.busy


def test_cli_screenshot_option_opens_the_gui(qtbot, photo_folder, tiny_model_path, tmp_path):
    """`crackinspector --screenshot FILE` used to reach the sub-command parser and fail."""
    out = tmp_path / "shot.png"
    args = ["--screenshot", str(out), "--size", "900x600", "--model", str(tiny_model_path)]
    assert cli_main([*args, str(photo_folder / "002.jpg")]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
