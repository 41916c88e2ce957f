"""Small dialogs of the review loop: inspection details, severity classes, reference length.

Each is opened with `open()` (window-modal, returns at once) and reports through
`accepted`; the values are read from the dialog's typed accessors, so tests fill them the
way a user does and press the real OK button.
"""

from __future__ import annotations

from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QColorDialog,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from crackinspector.core.analysis.severity import (
    PRESETS,
    SeverityClass,
    SeverityError,
    SeverityScale,
    default_colors,
)
from crackinspector.core.review import InspectionInfo

LABELS = {
    "project": "Project",
    "element": "Structure / element",
    "location": "Location",
    "inspector": "Inspector",
    "date": "Date",
    "notes": "Notes",
}


def _buttons(dialog: QDialog) -> QDialogButtonBox:
    box = QDialogButtonBox(
        QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
    )
    box.accepted.connect(dialog.accept)
    box.rejected.connect(dialog.reject)
    return box


class InspectionDialog(QDialog):
    """Project, element, location, inspector, date and notes of the inspection."""

    def __init__(
        self, info: InspectionInfo, read_only: str = "", parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Inspection details")
        self.setObjectName("inspection_dialog")
        form = QFormLayout()
        self.fields: dict[str, QLineEdit | QPlainTextEdit] = {}
        for name in InspectionInfo.field_names():
            value = getattr(info, name)
            widget: QLineEdit | QPlainTextEdit
            if name == "notes":
                widget = QPlainTextEdit(value)
                widget.setMaximumHeight(90)
            else:
                widget = QLineEdit(value)
                if name == "date":
                    widget.setPlaceholderText("YYYY-MM-DD")
            widget.setObjectName(f"info_{name}")
            widget.setReadOnly(bool(read_only))
            self.fields[name] = widget
            form.addRow(LABELS.get(name, name), widget)
        layout = QVBoxLayout(self)
        if read_only:
            layout.addWidget(QLabel(read_only))
        layout.addLayout(form)
        self.buttons = _buttons(self)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not read_only)
        layout.addWidget(self.buttons)

    def values(self) -> dict[str, str]:
        out = {}
        for name, w in self.fields.items():
            out[name] = w.toPlainText() if isinstance(w, QPlainTextEdit) else w.text().strip()
        return out


class SeverityDialog(QDialog):
    """The severity classes as an editable table: name, lower limit, colour; a unit and a
    preset to start from. `scale()` builds the SeverityScale (SeverityError when the table
    cannot be one; the dialog then stays open and says why)."""

    COLUMNS = ("Class", "Lower limit", "Colour")

    def __init__(self, scale: SeverityScale, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Severity classes")
        self.setObjectName("severity_dialog")
        self.preset = QComboBox()
        self.preset.addItem("(start from a preset)", "")
        for name, preset in PRESETS.items():
            self.preset.addItem(f"{name} ({preset.unit})", name)
        self.preset.activated.connect(lambda _i: self._load_preset())
        self.unit = QComboBox()
        self.unit.addItems(["mm", "px"])
        self.unit.setCurrentText(scale.unit)
        self.name = QLineEdit(scale.name if scale.name not in PRESETS else f"{scale.name} (edited)")
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setObjectName("severity_table")
        self.table.setHorizontalHeaderLabels(self.COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.cellDoubleClicked.connect(self._pick_color)
        add, remove = QPushButton("Add class"), QPushButton("Remove class")
        add.clicked.connect(self.add_row)
        remove.clicked.connect(self._remove_row)
        self.source = QLabel(scale.source)
        self.source.setWordWrap(True)
        self.error = QLabel("")
        self.error.setStyleSheet("color: #d03030;")
        self.error.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Start from", self.preset)
        form.addRow("Name", self.name)
        form.addRow("Unit", self.unit)
        row = QHBoxLayout()
        row.addWidget(add)
        row.addWidget(remove)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.table, 1)
        layout.addLayout(row)
        layout.addWidget(
            QLabel(
                "Double-click a colour to change it. Widths above a class's "
                "lower limit (up to the next one) belong to it."
            )
        )
        layout.addWidget(self.source)
        layout.addWidget(self.error)
        self.buttons = _buttons(self)
        layout.addWidget(self.buttons)
        self.set_scale(scale)
        self.resize(460, 420)

    def cell(self, row: int, column: int) -> QTableWidgetItem:
        item = self.table.item(row, column)
        if item is None:  # every row is created with its three items
            item = QTableWidgetItem("")
            self.table.setItem(row, column, item)
        return item

    def set_scale(self, scale: SeverityScale) -> None:
        self.table.setRowCount(0)
        self.unit.setCurrentText(scale.unit)
        for c in scale.classes:
            self.add_row(c.name, c.lower, c.color)

    def _load_preset(self) -> None:
        name = self.preset.currentData()
        if name:
            self.set_scale(PRESETS[name])
            self.name.setText(f"{name} (edited)")
            self.source.setText(PRESETS[name].source)

    def add_row(self, name: str = "", lower: float | None = None, color=None) -> None:
        r = self.table.rowCount()
        self.table.insertRow(r)
        if lower is None:
            lower = float(self.cell(r - 1, 1).text()) * 2 if r > 0 else 0.0
        if color is None:
            color = default_colors(r + 1)[-1]
        self.table.setItem(r, 0, QTableWidgetItem(name or f"class {r + 1}"))
        self.table.setItem(r, 1, QTableWidgetItem(f"{lower:g}"))
        item = QTableWidgetItem(QColor(*color).name())
        item.setBackground(QColor(*color))
        self.table.setItem(r, 2, item)

    def _remove_row(self) -> None:
        if self.table.rowCount() > 1:
            self.table.removeRow(
                self.table.currentRow()
                if self.table.currentRow() >= 0
                else self.table.rowCount() - 1
            )

    def set_color(self, row: int, color: str) -> None:
        item = self.cell(row, 2)
        item.setText(QColor(color).name())
        item.setBackground(QColor(color))

    def _pick_color(self, row: int, column: int) -> None:
        if column != 2:
            return
        color = QColorDialog.getColor(QColor(self.cell(row, 2).text()), self)
        if color.isValid():
            self.set_color(row, color.name())

    def scale(self) -> SeverityScale:
        rows = []
        for r in range(self.table.rowCount()):
            name = self.cell(r, 0).text().strip()
            try:
                lower = float(self.cell(r, 1).text().replace(",", "."))
            except ValueError:
                raise SeverityError(f"row {r + 1}: the lower limit must be a number") from None
            c = QColor(self.cell(r, 2).text())
            rows.append(SeverityClass(name, lower, (c.red(), c.green(), c.blue())))
        return SeverityScale.from_classes(
            self.name.text().strip() or "custom", self.unit.currentText(), rows, "edited in the app"
        )

    def accept(self) -> None:
        try:
            self.scale()
        except SeverityError as exc:
            self.error.setText(str(exc))
            return
        super().accept()


class CalibrationDialog(QDialog):
    """The real length of the reference line just drawn, and what it calibrates."""

    def __init__(self, length_px: float, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Reference line")
        self.setObjectName("calibration_dialog")
        self.length_px = length_px
        self.length = QDoubleSpinBox()
        self.length.setObjectName("reference_length")
        self.length.setRange(0.001, 1_000_000.0)
        self.length.setDecimals(3)
        self.length.setValue(100.0)
        self.length.setSuffix(" mm")
        self.scope = QComboBox()
        self.scope.setObjectName("reference_scope")
        self.scope.addItem("this photo", "image")
        self.scope.addItem("the whole folder", "folder")
        self.result_label = QLabel()
        self.length.valueChanged.connect(self._show)
        form = QFormLayout(self)
        form.addRow(QLabel(f"The line is {length_px:.1f} px long. How long is it really?"))
        form.addRow("Length", self.length)
        form.addRow("Use for", self.scope)
        form.addRow(self.result_label)
        self.buttons = _buttons(self)
        form.addRow(self.buttons)
        self._show()

    def mm_per_px(self) -> float:
        return self.length.value() / self.length_px

    def _show(self) -> None:
        self.result_label.setText(f"= {self.mm_per_px():.4g} mm per pixel")
