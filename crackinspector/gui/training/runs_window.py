"""Tools → Training runs…: every run in the runs folder, running or past.

Read from the run folders (so it survives a restart of the GUI): a run whose folder a
trainer holds is "running", whoever started it, and is followed (progress, Stop) like one
started here; one without an end event and without a trainer is "interrupted" and can be
resumed. Double-click (or Show chart) reopens a run's chart.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from training.names import runs_dir
from training.runs import RunRecord, list_runs

from .manager import RunManager

COLUMNS = ("Run", "Status", "Encoder", "Epochs", "Best F1", "Started")


class RunsWindow(QWidget):
    open_chart = Signal(object)  # Path of the run folder
    train_new = Signal()

    def __init__(self, manager: RunManager, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.manager = manager
        self.records: list[RunRecord] = []
        self.setWindowTitle("Training runs")
        self.setObjectName("training_runs")
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.doubleClicked.connect(lambda _: self._chart())
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.folder_label = QLabel(self)
        self.folder_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail = QLabel(self)
        self.detail.setWordWrap(True)

        self.chart_button = QPushButton("Show chart", self)
        self.resume_button = QPushButton("Resume", self)
        self.stop_button = QPushButton("Stop", self)
        self.folder_button = QPushButton("Open folder", self)
        self.new_button = QPushButton("Train model…", self)
        self.refresh_button = QPushButton("Refresh", self)
        self.chart_button.clicked.connect(self._chart)
        self.resume_button.clicked.connect(self._resume)
        self.stop_button.clicked.connect(self._stop)
        self.folder_button.clicked.connect(self._open_folder)
        self.new_button.clicked.connect(self.train_new)
        self.refresh_button.clicked.connect(self.refresh)
        buttons = QHBoxLayout()
        for b in (self.chart_button, self.resume_button, self.stop_button, self.folder_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.new_button)
        buttons.addWidget(self.refresh_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.folder_label)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.detail)
        layout.addLayout(buttons)

        manager.run_started.connect(self._run_changed)
        manager.run_finished.connect(self._run_changed)
        manager.run_event.connect(self._run_event)
        self.resize(820, 420)
        self.refresh()

    def refresh(self) -> None:
        selected = self.selected()
        root = runs_dir()
        self.manager.discover(root)  # runs started elsewhere, or before a restart
        self.folder_label.setText(f"Runs in {root}")
        self.records = list_runs(root, self.manager.live_dirs())
        self.table.setRowCount(len(self.records))
        for row, r in enumerate(self.records):
            started = (
                _dt.datetime.fromtimestamp(r.started).strftime("%Y-%m-%d %H:%M")
                if r.started
                else ""
            )
            best = f"{r.best_f1:.3f}" if r.best_f1 is not None else ""
            total = r.epochs_total
            values = (
                r.name,
                r.status,
                str(r.config.get("encoder", "")),
                f"{r.epochs_done} / {total}" if total else str(r.epochs_done),
                best,
                started,
            )
            for col, value in enumerate(values):
                item = QTableWidgetItem(value)
                if col == 1 and r.message:
                    item.setToolTip(r.message)
                self.table.setItem(row, col, item)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        if selected is not None:
            self.select(selected.path)
        elif self.records:
            self.table.selectRow(0)
        self._update_buttons()

    def select(self, run_dir: Path) -> bool:
        for row, r in enumerate(self.records):
            if r.path.resolve() == Path(run_dir).resolve():
                self.table.selectRow(row)
                return True
        return False

    def selected(self) -> RunRecord | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows or rows[0].row() >= len(self.records):
            return None
        return self.records[rows[0].row()]

    def record(self, name: str) -> RunRecord | None:
        return next((r for r in self.records if r.name == name), None)

    def _update_buttons(self) -> None:
        r = self.selected()
        running = r is not None and self.manager.is_running(r.path)
        self.chart_button.setEnabled(r is not None)
        self.folder_button.setEnabled(r is not None)
        self.resume_button.setEnabled(r is not None and not running and r.can_resume)
        self.stop_button.setEnabled(running)
        self.detail.setText(r.message if r is not None else "")

    def _run_changed(self, *_: object) -> None:
        self.refresh()

    def _run_event(self, _run: Path, event: dict) -> None:
        if event.get("type") in ("start", "epoch", "end"):
            self.refresh()

    def _chart(self) -> None:
        r = self.selected()
        if r is not None:
            self.open_chart.emit(r.path)

    def _resume(self) -> None:
        r = self.selected()
        if r is None or not r.can_resume or self.manager.is_running(r.path):
            return
        self.manager.resume(r.path)
        self.open_chart.emit(r.path)

    def _stop(self) -> None:
        r = self.selected()
        if r is not None:
            self.manager.stop(r.path)

    def _open_folder(self) -> None:
        r = self.selected()
        if r is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(r.path)))
