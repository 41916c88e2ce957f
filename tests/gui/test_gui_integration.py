# ruff: noqa: F811 - pytest fixtures imported from gui_support are parameters here
"""The docks, menus and dialogs the main window composes: measurements dock and crack
highlight, File -> Export (and quitting during one), Tools -> training, Analysis ->
inference options, and one source of truth for an image's numbers across panels,
thumbnail and the exported report (real CrackForest photos, real models)."""

from __future__ import annotations

import json
import shutil

import pytest
from gui_support import (  # noqa: F401 - fixtures
    TIMEOUT_MS,
    _no_running_qthreads,
    make_window,
    photo_folder,
    wait_idle,
    wait_measured,
    wait_shown,
)
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QGraphicsPathItem, QMessageBox

from crackinspector.cli import main as cli_main
from crackinspector.core.analysis.analyse import analyse
from crackinspector.gui.export_dialog import ExportDialog
from crackinspector.gui.image_list import badge_label
from crackinspector.gui.tasks import running_tasks


def test_measurements_dock_lists_cracks_and_highlights_the_selected_one(
    make_window, photo_folder, qtbot
):
    window = make_window()
    assert window.measure_dock.isAncestorOf(window.measure_panel)
    assert window.measure_dock.isVisible()
    window.open_path(photo_folder)
    window.state.set_threshold(0.3)  # random tiny model: a low threshold gives "cracks"
    panel = window.measure_panel
    first = photo_folder / "001.jpg"
    m = wait_measured(qtbot, window, first)
    qtbot.waitUntil(lambda: panel.measurement is m, timeout=TIMEOUT_MS)
    assert panel.image_path == first
    assert panel.table.rowCount() == m.n_cracks > 0
    assert window.viewer.highlight() is None

    panel.table.selectRow(0)
    item = window.viewer.highlight()
    assert isinstance(item, QGraphicsPathItem) and item.scene() is window.viewer.scene()
    crack = m.cracks[panel.selected_crack()]
    x, y, w, h = crack.bbox
    box = item.path().boundingRect()  # the outline sits on the crack's own pixels
    assert abs(box.x() - x) <= 1 and abs(box.y() - y) <= 1
    assert abs(box.width() - w) <= 2 and abs(box.height() - h) <= 2
    assert item.label_item.text().startswith(f"#{crack.id} ")

    panel.select_crack(-1)
    assert window.viewer.highlight() is None
    assert item.scene() is None

    # another image: the highlight and the old image's numbers go until it is measured
    panel.table.selectRow(0)
    assert window.viewer.highlight() is not None
    window.state.step(1)
    assert window.viewer.highlight() is None
    assert panel.measurement is None
    second = photo_folder / "002.jpg"
    m2 = wait_measured(qtbot, window, second)
    qtbot.waitUntil(lambda: panel.measurement is m2, timeout=TIMEOUT_MS)
    wait_idle(qtbot, window)


@pytest.fixture()
def two_photos(tmp_path, crackforest):
    folder = tmp_path / "road"
    folder.mkdir()
    for name in ("001.jpg", "011.jpg"):
        shutil.copy(crackforest / "images" / name, folder / name)
    return folder


BUNDLED_TIMEOUT_MS = 600_000  # a ResNet34 in a niced thread on two cores shared by many


def test_panels_thumbnail_and_exported_report_agree(make_window, two_photos, qtbot, tmp_path):
    """One source of truth: the bundled unet-resnet34 on real CrackForest photos."""
    window = make_window(model="unet-resnet34")
    window.open_path(two_photos)
    photo = two_photos / "001.jpg"
    m = wait_measured(qtbot, window, photo, timeout=BUNDLED_TIMEOUT_MS)
    assert m.n_cracks > 0  # the bundled model finds the cracks of this photo
    panel, info = window.measure_panel, window.info_panel
    qtbot.waitUntil(lambda: panel.measurement is m, timeout=TIMEOUT_MS)
    settings = window.state.analysis_settings(photo)
    expected = analyse(window.overlay.result.probability, settings)
    assert (expected.n_cracks, expected.crack_area_pct) == (m.n_cracks, m.crack_area_pct)

    # measurements dock
    assert panel.count_label.text() == str(m.n_cracks)
    assert panel.area_label.text().startswith(f"{m.crack_area_pct:.2f} %")
    assert panel.width_label.text().startswith(f"{m.max_width_px:.1f} px")
    # current image panel
    assert info.text("cracks") == str(m.n_cracks)
    assert info.text("crack") == f"{m.crack_area_pct:.2f} %"
    assert info.text("width").startswith(f"{m.max_width_px:.1f} px")
    # thumbnail badge and its accessible text
    entry = window.list_model.entry(photo)
    summary = window.measurements.summary(photo)
    assert badge_label(entry, summary) == f"{m.crack_area_pct:.2f} %"
    index = window.list_model.index(window.state.row_of(photo))
    assert f"{m.n_cracks} crack(s)" in index.data(Qt.ItemDataRole.AccessibleTextRole)

    # the exported report, through File -> Export with the window's settings
    window.commands.export.trigger()
    dialog = window.findChild(ExportDialog)
    out = tmp_path / "report"
    dialog.folder_edit.setText(str(out))
    dialog.selected_radio.setChecked(True)
    for fmt, box in dialog.format_boxes.items():
        box.setChecked(fmt in ("json", "csv"))
    dialog.overlays_box.setChecked(False)
    with qtbot.waitSignal(dialog.exportFinished, timeout=BUNDLED_TIMEOUT_MS) as sig:
        assert dialog.start()
    assert sig.args[0].complete
    doc = json.loads((out / "report.json").read_text())
    image = next(e for e in doc["images"] if e["file"] == "001.jpg")
    assert image["n_cracks"] == m.n_cracks
    assert image["crack_area_pct"] == pytest.approx(m.crack_area_pct, abs=1e-4)
    assert image["max_width_px"] == pytest.approx(m.max_width_px, abs=0.05)
    assert window.controller.engine.inference_count == 1  # the report reused the app's map
    dialog.reject()
    wait_idle(qtbot, window)


def test_export_menu_opens_the_dialog_with_the_state(make_window, photo_folder, qtbot):
    window = make_window()
    window.open_path(photo_folder)
    wait_shown(qtbot, window, photo_folder / "001.jpg")
    window.state.set_min_area_px(33)
    window.state.set_min_confidence(0.25)
    export = window.commands.export
    assert export.isEnabled() and export.shortcut().toString() == "Ctrl+E"
    export.trigger()
    dialogs = [w for w in QApplication.topLevelWidgets() if isinstance(w, ExportDialog)]
    assert len(dialogs) == 1
    dialog = dialogs[0]
    qtbot.waitUntil(dialog.isVisible, timeout=5000)
    assert dialog.parent() is window
    assert dialog.paths == window.state.images and len(dialog.paths) == 5
    assert dialog.selected == [photo_folder / "001.jpg"]
    assert dialog.model.weights_path == window.controller.model.weights_path
    assert dialog.cache is window.controller.engine.cache
    assert dialog.threshold_spin.value() == pytest.approx(window.state.threshold)
    assert dialog.min_area_spin.value() == 33
    assert dialog.options().min_confidence == 0.25 and dialog.options().min_area_px == 33
    assert not dialog.is_running()
    dialog.reject()
    assert not dialog.isVisible()
    wait_idle(qtbot, window)


def test_quitting_during_an_export_asks_first(make_window, photo_folder, qtbot, tmp_path):
    window = make_window()
    window.open_path(photo_folder)
    wait_shown(qtbot, window, photo_folder / "001.jpg")
    dialog = window.open_export_dialog()
    dialog.folder_edit.setText(str(tmp_path / "out"))
    dialog.all_radio.setChecked(True)
    assert dialog.start()
    qtbot.waitUntil(lambda: dialog.status.text().startswith("Analysing"), timeout=TIMEOUT_MS)

    window.close()  # asks instead of quitting
    box = window.findChild(QMessageBox, "quit_question")
    assert box is not None and box.isVisible()
    assert window.isVisible() and dialog.is_running()
    keep = next(b for b in box.buttons() if b.text() == "Keep exporting")
    keep.click()
    qtbot.waitUntil(lambda: not box.isVisible(), timeout=5000)
    assert window.isVisible() and dialog.is_running()

    window.close()
    box = window.findChild(QMessageBox, "quit_question")
    quit_button = next(b for b in box.buttons() if b.text() == "Cancel export and quit")
    quit_button.click()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=TIMEOUT_MS)
    assert not dialog.is_running()
    assert not running_tasks()


def test_quitting_without_an_export_does_not_ask(make_window, qtbot):
    window = make_window()
    window.close()
    assert not window.isVisible()
    assert window.findChild(QMessageBox, "quit_question") is None


def test_tools_menu_trains_and_models_menu_uses_the_same_wizard(make_window, qtbot):
    window = make_window()
    tools = next(
        a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == "Tools"
    )
    assert [a.text() for a in tools.actions()] == ["Train model…", "Training runs…"]
    assert len(window.findChildren(QAction, "action_train_model")) == 1
    assert window.commands.train.isEnabled()
    window.commands.train.trigger()  # Models -> Train a model…
    wizard = window.training_ui.wizard
    assert wizard is not None and wizard.isVisible()
    tools.actions()[0].trigger()  # the same wizard is raised, not a second one
    assert window.training_ui.wizard is wizard
    window.training_ui.close_all()


def test_inference_options_menu_reaches_the_predictor_and_is_remembered(
    make_window, photo_folder, qtbot
):
    window = make_window()
    window.open_path(photo_folder)
    first = photo_folder / "001.jpg"
    wait_shown(qtbot, window, first)
    assert window.precision_actions["auto"].isChecked()
    window.thread_actions[1].trigger()
    window.tta_action.setChecked(True)
    options = window.state.inference
    assert (options.threads, options.tta) == (1, True)
    # the new options are a new predictor: the image on screen is analysed again
    qtbot.waitUntil(lambda: window.controller.engine.inference_count == 2, timeout=TIMEOUT_MS)
    wait_shown(qtbot, window, first)
    key = window.controller.engine._key
    assert key is not None and key[1].tta and key[1].threads == 1
    window.close()

    again = make_window()
    assert again.state.inference.threads == 1 and again.state.inference.tta
    assert again.tta_action.isChecked() and again.thread_actions[1].isChecked()


def test_closing_the_window_stops_every_task(make_window, photo_folder, qtbot):
    window = make_window()
    window.open_path(photo_folder)
    window.commands.analyse_all.trigger()
    window.close()
    assert not running_tasks()
    assert all(
        p.activeThreadCount() == 0 for p in window.findChildren(type(window.loader.runner.pool))
    )


def test_cli_screenshot_option_opens_the_gui(qtbot, photo_folder, tiny_model_path, tmp_path):
    """`crackinspector --screenshot FILE` used to reach the sub-command parser and fail."""
    out = tmp_path / "shot.png"
    args = ["--screenshot", str(out), "--size", "900x600", "--model", str(tiny_model_path)]
    assert cli_main([*args, str(photo_folder / "002.jpg")]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
