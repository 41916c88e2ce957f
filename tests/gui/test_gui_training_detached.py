# ruff: noqa: F811 - pytest fixtures imported from test_gui_training_support are parameters
"""Training outlives the GUI: a run started through the wizard in a real GUI process goes on
after that process quits, and the Training runs window of a new GUI finds it through its run
folder's lock, follows its progress from events.jsonl and stops it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest
from PySide6.QtCore import Qt
from test_gui_training_support import RUN_MS, tiny_data, training_isolation  # noqa: F401

from crackinspector.gui.training.manager import RunManager
from crackinspector.gui.training.ui import TrainingUi
from training.events import read_events
from training.runlock import holder

# The first GUI: the wizard's own pages and Start button path, then a real quit.
FIRST_GUI = textwrap.dedent(
    """
    import sys, time
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    app = QApplication(sys.argv[:1])
    from crackinspector.gui.training.ui import TrainingUi
    ui = TrainingUi(None, models_changed=lambda: None)
    wizard = ui.open_wizard()
    data = wizard.data_page
    data.images_edit.setText(sys.argv[1])
    data.masks_edit.setText(sys.argv[2])
    data.fraction_spin.setValue(0.25)
    data.run_check()
    deadline = time.time() + 120
    while data.check is None and time.time() < deadline:
        app.processEvents()
        time.sleep(0.02)
    assert data.check is not None and data.check.ok, data.check and data.check.reason
    wizard.next()
    wizard.model_page.set_encoder("resnet18")
    wizard.model_page.random_radio.setChecked(True)
    wizard.next()
    s = wizard.settings_page
    s.epochs.setValue(500)
    s.batch.setValue(2)
    s.crop.setValue(64)
    s.steps.setValue(2)
    s.device.setCurrentIndex(s.device.findData("cpu"))
    wizard.next()
    wizard.summary_page.name_edit.setText("detached")
    wizard.accept()  # "Start training"
    (proc,) = ui.manager.running()
    print(proc.pid, flush=True)
    ui.close_all()
    QTimer.singleShot(0, app.quit)
    app.exec()  # the real quit path: aboutToQuit reaches the run manager
    """
)


@pytest.mark.slow
def test_training_survives_the_gui_and_a_new_gui_finds_and_stops_it(qtbot, tiny_data, tmp_path):
    run = tmp_path / "runs" / "detached"
    first = subprocess.run(
        [sys.executable, "-c", FIRST_GUI, str(tiny_data[0]), str(tiny_data[1])],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert first.returncode == 0, first.stderr[-2000:]
    pid = int(first.stdout.split()[-1])
    try:
        # the GUI process is gone; its trainer is not, and holds its run folder
        qtbot.waitUntil(lambda: holder(run) == pid, timeout=RUN_MS)
        os.kill(pid, 0)

        # a new GUI: nothing known about the run but its folder
        manager = RunManager(discover=False)
        ui = TrainingUi(None, models_changed=lambda: None, manager=manager)
        runs = ui.open_runs()
        qtbot.addWidget(runs)
        assert runs.record("detached").status == "running"
        assert runs.select(run) and runs.stop_button.isEnabled()
        assert not runs.resume_button.isEnabled()
        proc = manager.process(run)
        assert proc is not None and proc.pid == pid
        monitor = ui.open_monitor(run)
        qtbot.addWidget(monitor)
        assert monitor.proc is proc and monitor.stop_button.isEnabled()
        # progress arrives from events.jsonl: the chart gets step points as they are written
        seen = len(monitor.chart.step_points())
        qtbot.waitUntil(lambda: len(monitor.chart.step_points()) > seen, timeout=RUN_MS)
        assert monitor.status_label.text().startswith("<b>Training</b> on cpu")

        qtbot.mouseClick(runs.stop_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not manager.is_running(run), timeout=RUN_MS)
        assert holder(run) is None
        end = [e for e in read_events(run / "events.jsonl") if e["type"] == "end"][-1]
        assert end["status"] == "stopped"
        qtbot.waitUntil(lambda: runs.record("detached").status == "stopped", timeout=10_000)
        assert monitor.record.status == "stopped" and monitor.resume_button.isEnabled()
        ui.close_all()
    finally:
        if holder(run) is not None:
            os.kill(pid, signal.SIGKILL)
