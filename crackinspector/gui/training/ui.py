"""The training windows of one main window: wizard, runs list, one chart window per run.

`TrainingUi` opens them, keeps one of each (a second request raises the open one), and
calls `models_changed` whenever a run exports a model, so the main window's model selector
lists it at once. It also offers "Use this model" through `use_model` when given.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QWidget

from crackinspector.core.model.registry import ModelInfo

from .manager import RunManager, run_manager
from .monitor import RunMonitor
from .runs_window import RunsWindow
from .wizard import TrainingWizard


class TrainingUi(QObject):
    def __init__(
        self,
        parent_window: QWidget | None,
        models_changed: Callable[[], None],
        current_model: Callable[[], ModelInfo | None] | None = None,
        use_model: Callable[[Path], None] | None = None,
        manager: RunManager | None = None,
        current_folder: Callable[[], Path | None] | None = None,
    ) -> None:
        """`current_folder`: the photo folder open in the main window (None: the wizard
        suggests none)."""
        super().__init__(parent_window)
        self.setObjectName("training_ui")
        self.window = parent_window
        self.models_changed = models_changed
        self.current_model = current_model
        self.use_model = use_model
        self.current_folder = current_folder
        self.manager = manager or run_manager()
        self.wizard: TrainingWizard | None = None
        self.runs_window: RunsWindow | None = None
        self.monitors: dict[Path, RunMonitor] = {}
        self.manager.run_finished.connect(self._run_finished)

    def open_wizard(self) -> TrainingWizard:
        if self.wizard is None:
            self.wizard = TrainingWizard(
                self.manager, self.window, self.current_model, self.current_folder
            )
            self.wizard.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            self.wizard.setWindowModality(Qt.WindowModality.NonModal)
            self.wizard.run_started.connect(self.open_monitor)
            self.wizard.destroyed.connect(self._wizard_gone)
        _raise(self.wizard)
        return self.wizard

    def open_runs(self) -> RunsWindow:
        if self.runs_window is None:
            self.runs_window = RunsWindow(self.manager, self.window)
            self.runs_window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            self.runs_window.open_chart.connect(self.open_monitor)
            self.runs_window.train_new.connect(self.open_wizard)
            self.runs_window.destroyed.connect(self._runs_gone)
        else:
            self.runs_window.refresh()
        _raise(self.runs_window)
        return self.runs_window

    def open_monitor(self, run_dir: Path) -> RunMonitor:
        key = Path(run_dir).resolve()
        monitor = self.monitors.get(key)
        if monitor is None:
            monitor = RunMonitor(Path(run_dir), self.manager, self.current_model, self.window)
            monitor.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            monitor.destroyed.connect(lambda _=None, k=key: self.monitors.pop(k, None))
            if self.use_model is not None:
                monitor.use_model.connect(self.use_model)
            else:
                monitor.use_button.setEnabled(False)
            self.monitors[key] = monitor
        _raise(monitor)
        return monitor

    def close_all(self) -> None:
        for widget in [self.wizard, self.runs_window, *self.monitors.values()]:
            if widget is not None:
                widget.close()

    def _run_finished(self, _run_dir: Path, _status: str) -> None:
        proc = self.manager.process(_run_dir)
        if proc is not None and (proc.history.end or {}).get("model"):
            self.models_changed()
            for monitor in self.monitors.values():
                monitor.refresh()  # the comparison needs the refreshed selector

    def _wizard_gone(self, *_: object) -> None:
        self.wizard = None

    def _runs_gone(self, *_: object) -> None:
        self.runs_window = None


def _raise(widget: QWidget) -> None:
    widget.show()
    widget.raise_()
    widget.activateWindow()
