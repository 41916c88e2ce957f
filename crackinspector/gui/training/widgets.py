"""Small widgets of the run monitor: the log pane and the model comparison table."""

from __future__ import annotations

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from crackinspector.core.model.card import ModelCard
from training.compare import NOT_MEASURED, comparable, comparison_rows


class LogPane(QWidget):
    """Kept log lines above, the trainer's live progress bar (one line) below."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.text = QPlainTextEdit(self)
        self.text.setReadOnly(True)
        self.text.setMaximumBlockCount(5000)
        self.text.setFont(mono)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setAccessibleName("Training log")
        self.progress = QLabel(self)
        self.progress.setFont(mono)
        self.progress.setAccessibleName("Trainer progress")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.text)
        layout.addWidget(self.progress)

    def append(self, line: str) -> None:
        self.text.appendPlainText(line)

    def set_lines(self, lines) -> None:
        self.text.setPlainText("\n".join(lines))
        self.text.verticalScrollBar().setValue(self.text.verticalScrollBar().maximum())

    def set_progress(self, text: str) -> None:
        self.progress.setText(text)

    def lines(self) -> list[str]:
        return self.text.toPlainText().splitlines()


class ComparisonTable(QWidget):
    """Validation metrics of the new model beside the model in use (see compare.py)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = QTableWidget(0, 3, self)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setAccessibleName("Model comparison")
        self.note = QLabel(self)
        self.note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        layout.addWidget(self.note)

    def show_cards(
        self, new: ModelCard, current: ModelCard | None, scored: dict | None = None
    ) -> None:
        """`scored`: the model in use's metrics on the new model's validation pairs."""
        rows, note = comparison_rows(new, current, scored)
        current_title = "in use: none"
        if current is not None:
            current_title = f"in use: {current.name}"
            if scored is None and not comparable(new, current):
                current_title += f"\n({NOT_MEASURED})"
        self.table.setHorizontalHeaderLabels(["validation", f"new: {new.name}", current_title])
        self.table.setRowCount(len(rows))
        for r, values in enumerate(rows):
            for c, value in enumerate(values):
                self.table.setItem(r, c, QTableWidgetItem(value))
        self.table.setColumnHidden(2, current is None)
        self.table.resizeRowsToContents()
        self.note.setText(note)

    def cell(self, row: int, column: int) -> str:
        item = self.table.item(row, column)
        return item.text() if item is not None else ""
