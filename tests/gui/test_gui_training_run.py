# ruff: noqa: F811 - pytest fixtures imported from test_gui_training_support are parameters
"""Real training runs from the run windows: kill, resume, stop, resume again; and a failure
explained. Each run is the real `crackinspector-train` (a detached process) on a tiny setting
(resnet18, 64 px crops, batch 2, 2 steps per epoch, 4 real CrackForest pairs); the CPU is
shared, so waits are generous. The wizard-to-model-selector run: test_gui_training_window.py."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from test_gui_training_support import (  # noqa: F401 - fixtures
    RUN_MS,
    tiny_args,
    tiny_data,
    training_isolation,
    wait_done,
)

from crackinspector.gui.training.manager import run_manager
from crackinspector.gui.training.ui import TrainingUi
from training.history import IMAGENET_HINT
from training.runs import list_runs


@pytest.mark.slow
def test_kill_then_resume_then_stop_then_resume(qtbot, tiny_data, tmp_path):
    manager = run_manager()
    exported = []
    ui = TrainingUi(None, models_changed=lambda: exported.append(1))
    run = tmp_path / "runs" / "long"
    manager.start(run, tiny_args(tiny_data, run, epochs=3))
    monitor = ui.open_monitor(run)
    qtbot.addWidget(monitor)
    assert monitor.stop_button.isEnabled() and not monitor.resume_button.isEnabled()

    # killed after its first epoch (as by a crash or the OS): interrupted, resumable
    qtbot.waitUntil(lambda: monitor.history.epochs_done >= 1, timeout=RUN_MS)
    manager.process(run).kill()
    wait_done(qtbot, run)
    qtbot.waitUntil(lambda: monitor.record.status == "interrupted", timeout=10_000)
    assert monitor.resume_button.isEnabled() and not monitor.stop_button.isEnabled()
    runs = ui.open_runs()
    qtbot.addWidget(runs)
    assert runs.record("long").status == "interrupted"
    # as a GUI started later sees it: no process, no end event -> interrupted
    (fresh,) = list_runs(tmp_path / "runs", live=set())
    assert fresh.status == "interrupted" and fresh.can_resume and fresh.epochs_done >= 1

    # resume from the runs window; the chart follows the new process
    assert runs.select(run)
    qtbot.mouseClick(runs.resume_button, Qt.MouseButton.LeftButton)
    assert manager.is_running(run) and monitor.proc is manager.process(run)
    qtbot.waitUntil(lambda: runs.record("long").status == "running", timeout=10_000)
    # Stop during epoch 2 (its last step logged: the trainer checks again after the epoch)
    qtbot.waitUntil(lambda: (monitor.history.last_step or {}).get("epoch") == 2, timeout=RUN_MS)
    # Stop: graceful, keeps the best epoch and exports it
    qtbot.mouseClick(monitor.stop_button, Qt.MouseButton.LeftButton)
    assert monitor.stop_button.text() == "Stopping…"
    wait_done(qtbot, run)
    assert monitor.record.status == "stopped", monitor.status_label.text()
    assert (tmp_path / "models" / "long.safetensors").is_file()
    assert exported, "models_changed was not called for the exported model"
    assert monitor.resume_button.isEnabled()
    stopped_after = monitor.record.epochs_done
    assert 1 <= stopped_after < 3

    # resume the stopped run to its end
    qtbot.mouseClick(monitor.resume_button, Qt.MouseButton.LeftButton)
    wait_done(qtbot, run)
    assert monitor.record.status == "finished", monitor.status_label.text()
    assert monitor.record.epochs_done == 3
    assert [int(e["epoch"]) for e in monitor.history.epochs] == [1, 2, 3]
    points = monitor.chart.step_points()
    xs = [x for x, _ in points]
    assert xs == [0.5, 1.0, 1.5, 2.0, 2.5, 3.0]  # steps run again after a resume replace, not add
    qtbot.waitUntil(lambda: runs.record("long").status == "finished", timeout=10_000)
    # reopened from its folder alone (as after a restart), the chart shows the same history
    ui.close_all()
    other = TrainingUi(None, models_changed=lambda: None).open_monitor(run)
    qtbot.addWidget(other)
    assert other.chart.step_points() == points
    assert other.record.status == "finished" and other.record.epochs_done == 3


@pytest.mark.slow
def test_imagenet_offline_failure_is_explained(qtbot, tiny_data, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    run = tmp_path / "runs" / "offline"
    run_manager().start(run, tiny_args(tiny_data, run, epochs=1, init="imagenet"))
    monitor = TrainingUi(None, models_changed=lambda: None).open_monitor(run)
    qtbot.addWidget(monitor)
    wait_done(qtbot, run)
    assert monitor.record.status == "failed"
    text = monitor.status_label.text()
    assert "ImageNet weights for resnet18 could not be downloaded" in text
    assert IMAGENET_HINT.split(":")[0] in text
    assert not monitor.resume_button.isEnabled()  # nothing to resume: it never started
