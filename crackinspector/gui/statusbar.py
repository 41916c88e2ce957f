"""The status bar: transient messages, a sticky problem line, batch progress, device and model."""

from __future__ import annotations

import qtawesome as qta
from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar, QWidget


class StatusBar(QStatusBar):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.problem = QLabel()
        self.problem.setStyleSheet("color: #d03030; font-weight: bold;")
        self.problem.setVisible(False)
        self.addWidget(self.problem, 1)
        self.batch = QProgressBar()
        self.batch.setMaximumWidth(220)
        self.batch.setAccessibleName("Batch progress")
        self.batch.setVisible(False)
        self.addPermanentWidget(self.batch)
        self.device_icon = QLabel()
        self.device_icon.setPixmap(qta.icon("mdi6.chip").pixmap(16, 16))
        self.addPermanentWidget(self.device_icon)
        self.device_label = QLabel("no model loaded")
        self.device_label.setAccessibleName("Device, backend and model")
        self.addPermanentWidget(self.device_label)

    def show_problem(self, text: str) -> None:
        """A message that stays until cleared (e.g. no model available)."""
        self.problem.setText(text)
        self.problem.setToolTip(text)
        self.problem.setVisible(bool(text))

    def problem_text(self) -> str:
        return self.problem.text() if self.problem.isVisible() else ""

    def set_description(self, text: str) -> None:
        self.device_label.setText(text)
        self.device_label.setToolTip(text)

    def set_batch(self, done: int, total: int) -> None:
        if total <= 0:
            self.batch.setVisible(False)
            return
        self.batch.setVisible(True)
        self.batch.setRange(0, total)
        self.batch.setValue(done)
        self.batch.setFormat(f"analysed {done} of {total}")
