"""The measurements dock: totals and a crack table for the image on screen, plus its scale.

A view of the application state and of gui/measurements.py: it shows
`measurements.measurement(state.current)` (the shared analysis function's result) and
writes what the user changes (severity scale, minimum crack size, calibration) into the
state, which re-measures every view. It measures nothing itself.

Signals
- `crackSelected(int)`: crack index (0-based, `Crack.index`) when a table row is selected,
  -1 when the selection is cleared or the measurement changes.
- `measurementChanged(object)`: the ImageMeasurement now shown (or None).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPainterPath
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from crackinspector.core.analysis.calibration import Calibration
from crackinspector.core.analysis.measure import ImageMeasurement, crack_outline
from crackinspector.core.analysis.severity import PRESETS
from crackinspector.core.errors import CrackInspectorError

from .measurements import Measurements
from .state import AppState

COLUMNS = ("#", "Severity", "Length px", "Length mm", "Max width px", "Max width mm", "Type")


@dataclass
class CrackHighlight:
    """What a viewer draws to point at one crack (image pixel coordinates)."""

    index: int
    contours: list[np.ndarray]  # (N, 2) x, y outlines: outer boundary and holes
    widest_point: tuple[int, int]
    max_width_px: float
    bbox: tuple[int, int, int, int]  # x, y, w, h
    color: tuple[int, int, int]  # severity colour, RGB
    label: str  # e.g. "#2 5.0 px (0.50 mm)"

    def painter_path(self) -> QPainterPath:
        """The outlines as one QPainterPath (odd-even fill keeps holes open)."""
        path = QPainterPath()
        path.setFillRule(Qt.FillRule.OddEvenFill)
        for contour in self.contours:
            if len(contour) == 0:
                continue
            path.moveTo(float(contour[0, 0]) + 0.5, float(contour[0, 1]) + 0.5)
            for x, y in contour[1:]:
                path.lineTo(float(x) + 0.5, float(y) + 0.5)
            path.closeSubpath()
        return path


def crack_highlight(measurement: ImageMeasurement | None, index: int) -> CrackHighlight | None:
    """Outline, widest point and label of crack `index`; None for -1 or no measurement."""
    if measurement is None or not 0 <= index < measurement.n_cracks:
        return None
    c = measurement.cracks[index]
    label = f"#{c.id} {c.max_width_px:.1f} px"
    if c.max_width_mm is not None:
        label += f" ({c.max_width_mm:.2f} mm)"
    return CrackHighlight(
        index=index,
        contours=crack_outline(measurement, index),
        widest_point=c.widest_point,
        max_width_px=c.max_width_px,
        bbox=c.bbox,
        color=measurement.severity_scale.color_of(c.severity),
        label=label,
    )


def _fmt(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}"


class _NumberItem(QTableWidgetItem):
    """Sorts by the number it holds, not by its text."""

    def __init__(self, text: str, value: float) -> None:
        super().__init__(text)
        self.value = value
        self.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

    def __lt__(self, other: QTableWidgetItem) -> bool:
        if isinstance(other, _NumberItem):
            return self.value < other.value
        return super().__lt__(other)


class MeasurePanel(QWidget):
    """Totals, crack table, severity scale and calibration of the image on screen."""

    crackSelected = Signal(int)
    measurementChanged = Signal(object)

    def __init__(
        self, state: AppState, measurements: Measurements, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.state = state
        self.measurements = measurements
        self.measurement: ImageMeasurement | None = None

        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)
        totals = QGroupBox("This image")
        form = QFormLayout(totals)
        self.count_label = QLabel("-")
        self.area_label = QLabel("-")
        self.length_label = QLabel("-")
        self.width_label = QLabel("-")
        self.severity_label = QLabel("-")
        self.severity_label.setWordWrap(True)
        form.addRow("Cracks", self.count_label)
        form.addRow("Crack area", self.area_label)
        form.addRow("Total length", self.length_label)
        form.addRow("Max width", self.width_label)
        form.addRow("By severity", self.severity_label)
        outer.addWidget(totals)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setAccessibleName("Cracks")
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setSortingEnabled(True)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        outer.addWidget(self.table, 1)

        scale_box = QGroupBox("Severity and scale")
        sform = QFormLayout(scale_box)
        self.scale_combo = QComboBox()
        self.scale_combo.addItem("auto (concrete if calibrated, else pixels)", "auto")
        for name, scale in PRESETS.items():
            self.scale_combo.addItem(f"{name} ({scale.unit})", name)
        self.scale_combo.addItem("this inspection's table (Review → Severity classes)", "custom")
        self.scale_combo.setToolTip("\n".join(s.describe() for s in PRESETS.values()))
        self._sync_scale_combo()
        self.scale_combo.currentIndexChanged.connect(self._scale_changed)
        sform.addRow("Severity", self.scale_combo)
        self.min_area_spin = QSpinBox()
        self.min_area_spin.setRange(1, 1_000_000)
        self.min_area_spin.setSuffix(" px")
        self.min_area_spin.setValue(state.min_area_px)
        self.min_area_spin.setToolTip("Regions smaller than this are specks, not cracks")
        self.min_area_spin.valueChanged.connect(state.set_min_area_px)
        sform.addRow("Ignore specks under", self.min_area_spin)
        self.min_confidence_spin = QDoubleSpinBox()
        self.min_confidence_spin.setObjectName("min_confidence")
        self.min_confidence_spin.setRange(0.0, 1.0)
        self.min_confidence_spin.setSingleStep(0.05)
        self.min_confidence_spin.setDecimals(2)
        self.min_confidence_spin.setSpecialValueText("off")
        self.min_confidence_spin.setValue(state.min_confidence)
        self.min_confidence_spin.setToolTip(
            "Leave out cracks whose mean probability along their centre line is lower"
        )
        self.min_confidence_spin.valueChanged.connect(state.set_min_confidence)
        sform.addRow("Ignore cracks under confidence", self.min_confidence_spin)
        row = QHBoxLayout()
        self.mm_spin = QDoubleSpinBox()
        self.mm_spin.setDecimals(5)
        self.mm_spin.setRange(0.0, 1000.0)
        self.mm_spin.setSingleStep(0.01)
        self.mm_spin.setSpecialValueText("not calibrated")
        self.mm_spin.setSuffix(" mm/px")
        self.mm_spin.setAccessibleName("Millimetres per pixel")
        self.scope_combo = QComboBox()
        self.scope_combo.addItem("this image", "image")
        self.scope_combo.addItem("whole folder", "folder")
        self.save_button = QPushButton("Save")
        self.save_button.setToolTip(
            "Store the scale in the folder's .crackinspector/calibration.json"
        )
        self.save_button.clicked.connect(self._save_typed_calibration)
        row.addWidget(self.mm_spin, 1)
        row.addWidget(self.scope_combo)
        row.addWidget(self.save_button)
        sform.addRow("Scale", row)
        outer.addWidget(scale_box)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        outer.addWidget(self.message)
        self._show_totals()
        measurements.measured.connect(self._measured)
        state.current_changed.connect(self._current_changed)
        state.settings_changed.connect(self._sync_scale_combo)

    @property
    def image_path(self) -> Path | None:
        return self.state.current

    @property
    def mm_per_px(self) -> float | None:
        return self.measurement.mm_per_px if self.measurement is not None else None

    def _current_changed(self, path: Path | None) -> None:
        self.set_measurement(self.measurements.measurement(path))
        self._show_scale()

    def _measured(self, path: Path) -> None:
        if path == self.state.current:
            self.set_measurement(self.measurements.measurement(path))

    def _show_scale(self) -> None:
        path = self.state.current
        mm = self.state.mm_per_px(path) if path is not None else None
        self.mm_spin.blockSignals(True)
        self.mm_spin.setValue(mm or 0.0)
        self.mm_spin.blockSignals(False)

    # ----------------------------------------------------------------- showing
    def set_measurement(self, measurement: ImageMeasurement | None) -> None:
        """Show `measurement` (None clears)."""
        self.measurement = measurement
        if measurement is not None:
            self.mm_spin.blockSignals(True)
            self.mm_spin.setValue(measurement.mm_per_px or 0.0)
            self.mm_spin.blockSignals(False)
        self._fill_table()
        self._show_totals()
        self.measurementChanged.emit(measurement)
        self.crackSelected.emit(-1)

    def _mm(self, px: float) -> float | None:
        return px * self.mm_per_px if self.mm_per_px else None

    def _fill_table(self) -> None:
        table = self.table
        table.blockSignals(True)
        table.setSortingEnabled(False)
        table.clearContents()
        m = self.measurement
        cracks = m.cracks if m is not None else ()
        table.setRowCount(len(cracks))
        for row, c in enumerate(cracks):
            first = _NumberItem(str(c.id), c.id)
            first.setData(Qt.ItemDataRole.UserRole, c.index)
            sev = QTableWidgetItem(c.severity)
            sev.setBackground(QBrush(QColor(*m.severity_scale.color_of(c.severity))))
            sev.setForeground(QBrush(QColor("black")))
            length_mm, width_mm = self._mm(c.length_px), self._mm(c.max_width_px)
            cells = [
                first,
                sev,
                _NumberItem(f"{c.length_px:.1f}", c.length_px),
                _NumberItem(_fmt(length_mm, 2), length_mm or 0.0),
                _NumberItem(f"{c.max_width_px:.1f}", c.max_width_px),
                _NumberItem(_fmt(width_mm, 3), width_mm or 0.0),
                QTableWidgetItem(c.orientation),
            ]
            for col, item in enumerate(cells):
                table.setItem(row, col, item)
        table.setSortingEnabled(True)
        table.sortItems(0, Qt.SortOrder.AscendingOrder)
        table.blockSignals(False)

    def _show_totals(self) -> None:
        m = self.measurement
        if m is None:
            for label in (self.count_label, self.area_label, self.length_label, self.width_label):
                label.setText("-")
            self.severity_label.setText("-")
            return
        self.count_label.setText(str(m.n_cracks))
        self.area_label.setText(f"{m.crack_area_pct:.2f} % ({m.crack_area_px} px)")
        length_mm, width_mm = self._mm(m.total_length_px), self._mm(m.max_width_px)
        self.length_label.setText(
            f"{m.total_length_px:.1f} px" + (f" ({length_mm:.1f} mm)" if length_mm else "")
        )
        self.width_label.setText(
            f"{m.max_width_px:.1f} px" + (f" ({width_mm:.2f} mm)" if width_mm else "")
        )
        counts = ", ".join(f"{k} {v}" for k, v in m.severity_counts.items())
        self.severity_label.setText(f"{counts}  [{m.severity_scale.name}]")

    # ----------------------------------------------------------------- selection
    def selected_crack(self) -> int:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows:
            return -1
        item = self.table.item(rows[0].row(), 0)
        return int(item.data(Qt.ItemDataRole.UserRole)) if item is not None else -1

    def select_crack(self, index: int) -> None:
        """Select crack `index`'s row (-1 clears); emits crackSelected like a click."""
        if index < 0:
            self.table.clearSelection()
            return
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 0)
            if item is not None and item.data(Qt.ItemDataRole.UserRole) == index:
                self.table.selectRow(row)
                self.table.scrollToItem(item)
                return

    def _selection_changed(self) -> None:
        self.crackSelected.emit(self.selected_crack())

    # ----------------------------------------------------------------- scale
    def _sync_scale_combo(self) -> None:
        """Show the state's choice (a table saved with the inspection selects 'custom')."""
        index = self.scale_combo.findData(self.state.severity)
        if index >= 0 and index != self.scale_combo.currentIndex():
            self.scale_combo.blockSignals(True)
            self.scale_combo.setCurrentIndex(index)
            self.scale_combo.blockSignals(False)

    def _scale_changed(self) -> None:
        choice = self.scale_combo.currentData()
        scale = PRESETS.get(choice)
        path = self.state.current
        if scale is not None and scale.unit == "mm" and path and not self.state.mm_per_px(path):
            self.message.setText(
                f"'{choice}' needs a calibration: this image shows the 'pixels' scale. "
                "Enter mm per pixel below and Save."
            )
        elif choice == "custom" and self.state.custom_severity is None:
            self.message.setText(
                "This inspection has no severity table yet (Review → Severity classes…); "
                "the 'auto' scale is used."
            )
        else:
            self.message.setText("")
        self.state.set_severity(choice)

    def _save_typed_calibration(self) -> None:
        value = self.mm_spin.value()
        self.save_calibration(
            Calibration(value) if value > 0 else None, self.scope_combo.currentData()
        )

    def apply_reference_line(
        self,
        p1: tuple[float, float],
        p2: tuple[float, float],
        length_mm: float,
        scope: str = "image",
    ) -> Calibration:
        """Calibrate from a line drawn on the photo (two points) of known length; saves it."""
        cal = Calibration.from_reference(p1, p2, length_mm)
        self.save_calibration(cal, scope)
        return cal

    def save_calibration(self, calibration: Calibration | None, scope: str = "image") -> bool:
        """Store (or with None remove) the scale for this image or its folder."""
        path = self.state.current
        if path is None:
            self.message.setText("Open an image first: the scale is stored with its folder.")
            return False
        try:
            self.state.save_calibration(path, calibration, scope)
        except CrackInspectorError as exc:
            self.message.setText(str(exc))
            return False
        self.message.setText(
            f"Saved {calibration.mm_per_px:g} mm/px for the {scope}."
            if calibration
            else "Scale removed."
        )
        self._show_scale()
        return True
