# ruff: noqa: F811 - pytest fixtures imported from other test modules are parameters here
"""The whole path through the real main window: Tools → Train model…, the four wizard pages,
a real 1-epoch run with points arriving in the live chart, and the new model in the main
window's model selector with its validation metrics beside the model in use."""

from __future__ import annotations

import pytest
from gui_support import _no_running_qthreads, make_window  # noqa: F401 - fixtures
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QWizard
from test_gui_training_support import (  # noqa: F401 - fixtures
    RUN_MS,
    drawn_pixels,
    tiny_data,
    training_isolation,
    wait_done,
)

from crackinspector.gui.training.chart import SMOOTH
from crackinspector.gui.training.manager import run_manager
from training.compare import NOT_MEASURED


@pytest.mark.slow
def test_wizard_trains_a_model_that_appears_in_the_model_selector(
    qtbot, make_window, tiny_data, tmp_path
):
    window = make_window()
    ui = window.training_ui  # MainWindow installs the menu itself (gui/integrations.py)
    window.findChild(QAction, "action_train_model").trigger()
    wizard = ui.wizard
    assert wizard is not None and wizard.isVisible()

    data = wizard.data_page
    data.images_edit.setText(str(tiny_data[0]))
    data.masks_edit.setText(str(tiny_data[1]))
    data.fraction_spin.setValue(0.25)
    qtbot.waitUntil(lambda: data.check is not None and data.check.ok, timeout=30_000)
    wizard.next()
    wizard.model_page.set_encoder("resnet18")
    wizard.model_page.random_radio.setChecked(True)
    wizard.next()
    s = wizard.settings_page
    s.epochs.setValue(1)
    s.batch.setValue(2)
    s.crop.setValue(64)
    s.steps.setValue(2)
    s.device.setCurrentIndex(s.device.findData("cpu"))
    assert not s.average.isChecked()
    s.average.setChecked(True)  # the run exports its weight average
    # the estimate is a real measurement of resnet18 steps in a background thread
    qtbot.waitUntil(lambda: "Time per epoch ≈" in s.estimate_label.text(), timeout=120_000)
    assert "measured on cpu" in s.estimate_label.text()
    wizard.next()
    summary = wizard.summary_page
    assert summary.run_name().startswith("resnet18-")
    summary.name_edit.setText("gui-run")
    assert "resnet18 encoder, starting from random weights" in summary.summary.text()
    finish = wizard.button(QWizard.WizardButton.FinishButton)
    assert finish.text() == "Start training" and finish.isEnabled()
    qtbot.mouseClick(finish, Qt.MouseButton.LeftButton)

    run = tmp_path / "runs" / "gui-run"
    monitor = ui.monitors[run.resolve()]
    assert monitor.isVisible() and run_manager().is_running(run)
    qtbot.waitUntil(lambda: len(monitor.chart.step_points()) >= 1, timeout=RUN_MS)
    qtbot.waitUntil(lambda: len(monitor.chart.epoch_points()) == 1, timeout=RUN_MS)
    wait_done(qtbot, run)

    assert monitor.record.status == "finished", monitor.status_label.text()
    assert [x for x, _ in monitor.chart.step_points()] == [0.5, 1.0]
    assert "Finished" in monitor.status_label.text()
    model = tmp_path / "models" / "gui-run.safetensors"
    assert model.is_file() and model.with_suffix(".json").is_file()
    # the main window's model selector lists it (models_changed -> model_picker.refresh)
    assert "gui-run" in [m.name for m in window.model_picker.models()]
    # the comparison: the tiny model in use has no metrics on this validation set, so it is
    # scored on the run's own validation photo (data.json) in the background
    assert monitor.compare_box.isVisible()
    qtbot.waitUntil(lambda: "scored now" in monitor.comparison.note.text(), timeout=RUN_MS)
    assert "this run's 1 validation photos" in monitor.comparison.note.text()
    header = monitor.comparison.table.horizontalHeaderItem(2).text()
    assert "tiny-resnet18" in header and NOT_MEASURED not in header
    assert monitor.comparison.cell(0, 0) == "F1 (at its threshold)"
    assert float(monitor.comparison.cell(0, 1)) >= 0
    assert 0 <= float(monitor.comparison.cell(0, 2)) <= 1
    # what the wizard asked for is what the trainer ran
    config = monitor.record.config
    assert (config["encoder"], config["crop_size"], config["batch_size"]) == ("resnet18", 64, 2)
    assert config["val_fraction"] == 0.25 and config["init"] == "random"
    assert config["ema"] == 0.999
    assert any("loading 3 training and 1 validation pairs" in line for line in monitor.log.lines())
    assert drawn_pixels(monitor.chart, SMOOTH) > 0  # the smoothed loss line is really drawn
    # "Use this model" makes it the main window's model
    assert monitor.use_button.isVisible() and monitor.use_button.isEnabled()
    qtbot.mouseClick(monitor.use_button, Qt.MouseButton.LeftButton)
    assert window.model_picker.current_model().name == "gui-run"
    assert window.controller.model is not None and window.controller.model.name == "gui-run"
    monitor.close()
