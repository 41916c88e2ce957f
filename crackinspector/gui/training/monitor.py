"""The window of one run: live chart, progress, log, Stop / Resume / Open folder, result.

It follows the run's live process when this session has one (RunManager), else it shows the
run as its folder recorded it, and picks the process up if the run is resumed. Closing it
never stops training: the process belongs to the RunManager.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from crackinspector.core.errors import ModelError
from crackinspector.core.model.card import ModelCard
from crackinspector.core.model.registry import ModelInfo
from crackinspector.gui.tasks import TaskRunner
from training.compare import comparable, score_on_run
from training.estimate import format_duration
from training.history import RunHistory
from training.plan import DATA_RECORD
from training.runs import FINISHED, RUNNING, STOPPED, RunRecord, read_run

from .chart import LossChart
from .manager import RunManager
from .process import TrainingProcess
from .widgets import ComparisonTable, LogPane


class RunMonitor(QWidget):
    """See the module docstring. `current_model` says which model the main window uses."""

    use_model = Signal(object)  # Path of the new model's weights

    def __init__(
        self,
        run_dir: Path,
        manager: RunManager,
        current_model: Callable[[], ModelInfo | None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.run_dir = Path(run_dir)
        self.manager = manager
        self.current_model = current_model or (lambda: None)
        self.proc: TrainingProcess | None = None
        self.record: RunRecord | None = None
        self.history = RunHistory()
        self._tasks = TaskRunner("training-compare", low_priority=True, parent=self)
        self._scores: dict[tuple[str, str], dict] = {}
        self._unscorable: set[tuple[str, str]] = set()
        self.setWindowTitle(f"Training — {self.run_dir.name}")
        self.setObjectName("training_monitor")
        self._build()
        manager.run_started.connect(self._on_run_started)
        self.bind()
        self.resize(900, 760)

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        self.status_label = QLabel(self)
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        folder = QLabel(f"<small>{self.run_dir}</small>", self)
        folder.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.chart = LossChart(parent=self)
        self.epoch_bar, self.step_bar = QProgressBar(self), QProgressBar(self)
        self.epoch_bar.setFormat("epoch %v / %m")
        self.step_bar.setFormat("step %v / %m")
        self.speed_label, self.eta_label, self.best_label = QLabel(self), QLabel(self), QLabel(self)
        grid = QGridLayout()
        grid.addWidget(self.epoch_bar, 0, 0)
        grid.addWidget(self.step_bar, 0, 1)
        grid.addWidget(self.speed_label, 1, 0)
        grid.addWidget(self.eta_label, 1, 1)
        grid.addWidget(self.best_label, 2, 0, 1, 2)
        self.compare_box = QGroupBox("New model and the model in use", self)
        self.comparison = ComparisonTable(self.compare_box)
        QVBoxLayout(self.compare_box).addWidget(self.comparison)
        self.compare_box.hide()
        self.log = LogPane(self)

        self.stop_button = QPushButton("Stop", self)
        self.stop_button.setToolTip(
            "Stop after the current step; the best epoch is kept and exported"
        )
        self.resume_button = QPushButton("Resume", self)
        self.resume_button.setToolTip("Continue from the last complete epoch")
        self.use_button = QPushButton("Use this model", self)
        self.folder_button = QPushButton("Open run folder", self)
        self.close_button = QPushButton("Close", self)
        self.close_button.setToolTip("Close this window; training goes on")
        self.stop_button.clicked.connect(self.stop)
        self.resume_button.clicked.connect(self.resume)
        self.folder_button.clicked.connect(self.open_folder)
        self.use_button.clicked.connect(self._use_model)
        self.close_button.clicked.connect(self.close)
        buttons = QHBoxLayout()
        for b in (self.stop_button, self.resume_button, self.use_button, self.folder_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)

        top = QWidget(self)
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.chart, 1)
        top_layout.addLayout(grid)
        top_layout.addWidget(self.compare_box)
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(top)
        splitter.addWidget(self.log)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status_label)
        layout.addWidget(folder)
        layout.addWidget(splitter, 1)
        layout.addLayout(buttons)

    # ------------------------------------------------------------------ binding
    def bind(self) -> None:
        """Follow the live process if there is one, else show what the folder recorded."""
        self._unbind()
        proc = self.manager.process(self.run_dir)
        if proc is not None:
            self.proc = proc
            self.history = proc.history
            proc.event.connect(self._on_event)
            proc.log_line.connect(self.log.append)
            proc.progress_line.connect(self.log.set_progress)
            proc.finished.connect(self._on_finished)
            self.log.set_lines(proc.log_lines)
        else:
            self.history = RunHistory.from_file(self.run_dir / "events.jsonl")
            self.log.set_lines(self.history.logs)
        self.chart.set_history(self.history)
        self.refresh()

    def _unbind(self) -> None:
        if self.proc is None:
            return
        for signal, slot in (
            (self.proc.event, self._on_event),
            (self.proc.log_line, self.log.append),
            (self.proc.progress_line, self.log.set_progress),
            (self.proc.finished, self._on_finished),
        ):
            with contextlib.suppress(RuntimeError, TypeError):
                signal.disconnect(slot)
        self.proc = None

    def _on_run_started(self, run_dir: Path) -> None:
        if Path(run_dir).resolve() == self.run_dir.resolve():
            self.bind()

    # ------------------------------------------------------------------ updates
    def _on_event(self, event: dict) -> None:
        self.chart.update()
        if event.get("type") in ("start", "epoch", "step"):
            self._update_progress()
        if event.get("type") in ("start", "epoch", "end"):
            self.refresh()

    def _on_finished(self, _status: str) -> None:
        self.refresh()
        if self.proc is not None and self.proc.message and self.history.end is None:
            self.log.append(self.proc.message)

    def refresh(self) -> None:
        live = self.proc is not None and self.proc.is_running()
        self.record = read_run(self.run_dir, live=live, history=self.history)
        if self.proc is not None and not live and self.history.end is None:
            self.record.status = self.proc.status
            self.record.message = self.proc.message
        self._update_progress()
        self.status_label.setText(self.status_text())
        stopping = live and self.proc is not None and self.proc.stop_requested
        self.stop_button.setEnabled(live and not stopping)
        self.stop_button.setText("Stopping…" if stopping else "Stop")
        self.resume_button.setEnabled(not live and self.record.can_resume)
        model = self.record.model
        self.use_button.setVisible(model is not None and model.exists())
        self._show_comparison(model)
        self.chart.update()

    def _update_progress(self) -> None:
        h = self.history
        total = max(h.epochs_total, 1)
        self.epoch_bar.setRange(0, total)
        self.epoch_bar.setValue(min(h.epochs_done, total))
        last = h.last_step or {}
        per_epoch = max(h.steps_per_epoch, 1)
        self.step_bar.setRange(0, per_epoch)
        done_epoch = h.epochs[-1]["epoch"] if h.epochs else 0
        in_epoch = int(last.get("step", 0)) if last.get("epoch", 0) > done_epoch else 0
        self.step_bar.setValue(min(in_epoch, per_epoch))
        ips = last.get("images_per_s")
        self.speed_label.setText(f"{ips:.1f} images/s" if ips else "– images/s")
        live = self.proc is not None and self.proc.is_running()
        eta = self._eta() if live else None
        self.eta_label.setText(f"time left ≈ {format_duration(eta)}" if live else "")
        best = h.best_epoch()
        if best and best.get("best_f1") is not None:
            self.best_label.setText(
                f"Best so far: epoch {best['epoch']}, validation F1 {best['best_f1']:.3f} "
                f"at threshold {best.get('best_threshold') or 0.5:.2f}"
            )
        else:
            self.best_label.setText("")

    def _eta(self) -> float | None:
        h = self.history
        latest = max(
            (e for e in (h.last_step, h.epochs[-1] if h.epochs else None) if e),
            key=lambda e: e.get("time", 0),
            default=None,
        )
        if latest is None or latest.get("eta_s") is None:
            return None
        return max(0.0, float(latest["eta_s"]) - (time.time() - float(latest.get("time", 0))))

    def status_text(self) -> str:
        r, h = self.record, self.history
        assert r is not None
        if r.status == RUNNING:
            if self.proc is not None and self.proc.stop_requested:
                return "<b>Stopping…</b> the best epoch so far will be kept and exported."
            if h.start is None:
                return "<b>Starting…</b> loading the data and the model."
            return (
                f"<b>Training</b> on {h.start.get('device', '?')}: {h.start.get('train_images')}"
                f" training and {h.start.get('val_images')} validation images."
            )
        best = h.best_epoch()
        model = r.model
        made = f" The model <b>{model.stem}</b> is in the model list." if model else ""
        if r.status == FINISHED:
            where = f" Best epoch {best['epoch']}." if best else ""
            return f"<b>Finished</b> after {r.epochs_done} epochs.{where}{made}"
        if r.status == STOPPED:
            if not model:
                return "<b>Stopped</b> before the first epoch finished: no model was written."
            return f"<b>Stopped</b> after epoch {r.epochs_done}; best epoch kept.{made}"
        if r.status == "interrupted":
            return (
                f"<b>Interrupted</b> after {r.epochs_done} complete epochs ({r.message}). "
                "Resume continues from there."
            )
        return f"<b>Failed:</b> {r.message}".replace("\n", "<br>")

    def _show_comparison(self, model: Path | None) -> None:
        if model is None or not model.with_suffix(".json").exists():
            self.compare_box.hide()
            return
        try:
            new = ModelCard.load(model.with_suffix(".json"))
        except ModelError:
            self.compare_box.hide()
            return
        current = self.current_model()
        key = (str(model), str(current.weights_path)) if current is not None else None
        scored = self._scores.get(key) if key is not None else None
        self.comparison.show_cards(new, current.card if current is not None else None, scored)
        self.compare_box.show()
        if current is None or scored is not None or comparable(new, current.card):
            return
        if key in self._unscorable or not (self.run_dir / DATA_RECORD).is_file():
            return
        self.comparison.note.setText(
            f"Scoring {current.name} on this run's validation photos, for a fair comparison…"
        )
        if not self._tasks.busy(key):
            self._tasks.start(
                score_on_run,
                str(current.weights_path),
                self.run_dir,
                key=key,
                on_returned=lambda metrics, k=key: self._scored(k, metrics),
                on_errored=lambda _exc, k=key: self._scored(k, None),
            )

    def _scored(self, key: tuple[str, str], metrics: dict | None) -> None:
        if metrics is None:
            self._unscorable.add(key)
        else:
            self._scores[key] = metrics
        self.refresh()

    # ------------------------------------------------------------------ actions
    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()
        self.refresh()

    def resume(self) -> None:
        record = self.record or read_run(self.run_dir)
        if self.manager.is_running(self.run_dir) or not record.can_resume:
            return
        self.manager.resume(self.run_dir)  # run_started -> bind()

    def open_folder(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.run_dir)))

    def _use_model(self) -> None:
        if self.record is not None and self.record.model is not None:
            self.use_model.emit(self.record.model)

    def closeEvent(self, event) -> None:
        self._tasks.shutdown()
        self._unbind()
        super().closeEvent(event)
