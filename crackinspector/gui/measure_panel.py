"""The measurements panel: totals and a crack table for the image on screen, plus its scale.

Standalone: it does not know the main window. Hook-up (see also docs/REPORTS.md):

    panel = MeasurePanel()
    window.install_measure_panel(panel)
    window.measurements_input.connect(panel.on_mask_settled)   # (result, mask, threshold)
    panel.crackSelected.connect(lambda i: viewer_highlight(crack_highlight(panel.measurement, i)))

Signals
- `crackSelected(int)`: crack index (0-based, `Crack.index`) when a table row is selected,
  -1 when the selection is cleared or the measurement changes.
- `measurementChanged(object)`: the ImageMeasurement now shown (or None).
- `calibrationChanged(object, float)`: (image Path, mm per pixel or 0.0 when removed) after
  the panel saved a calibration into the folder's `.crackinspector/calibration.json`.
- `busyChanged(bool)`: a background measurement started / finished.

Measuring runs off the GUI thread (`measure_async` / `on_mask_settled`) in a one-thread
pool; a result for an outdated request is dropped. Call `shutdown()` before deleting.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal
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
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from crackinspector.core.analysis.calibration import (
    Calibration,
    CalibrationLookup,
    load_calibration,
    save_calibration,
)
from crackinspector.core.analysis.measure import (
    DEFAULT_MIN_AREA_PX,
    ImageMeasurement,
    crack_outline,
    measure_mask,
)
from crackinspector.core.analysis.severity import (
    PRESETS,
    SeverityError,
    SeverityScale,
    default_scale,
)
from crackinspector.core.errors import CrackInspectorError

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


class _Signals(QObject):
    done = Signal(int, object, object)  # request id, ImageMeasurement | None, error text


class _MeasureTask(QRunnable):
    def __init__(self, rid: int, mask, mm, min_area, scale, signals: _Signals) -> None:
        super().__init__()
        self.args = (rid, mask, mm, min_area, scale)
        self.signals = signals

    def run(self) -> None:
        rid, mask, mm, min_area, scale = self.args
        try:
            result = measure_mask(mask, mm, min_area, scale)
            self.signals.done.emit(rid, result, None)
        except Exception as exc:  # shown in the panel; never kills the pool thread
            self.signals.done.emit(rid, None, f"{type(exc).__name__}: {exc}")


class MeasurePanel(QWidget):
    """Totals, crack table, severity scale and calibration of the image on screen."""

    crackSelected = Signal(int)  # the interface name other parts code against
    measurementChanged = Signal(object)
    calibrationChanged = Signal(object, float)
    busyChanged = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.measurement: ImageMeasurement | None = None
        self.mm_per_px: float | None = None
        self.image_path: Path | None = None
        self.min_area_px = DEFAULT_MIN_AREA_PX
        self._scale_choice = "auto"
        self._request = 0
        self._pending_mm: float | None = None
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        try:  # let the GUI tests' leak check see this pool
            from .worker import register_pool

            register_pool(self._pool)
        except ImportError:  # pragma: no cover - the worker module is optional here
            pass
        self._signals = _Signals()
        self._signals.done.connect(self._measured)

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
        self.scale_combo.setToolTip("\n".join(s.describe() for s in PRESETS.values()))
        self.scale_combo.currentIndexChanged.connect(self._scale_changed)
        sform.addRow("Severity", self.scale_combo)
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

    # ----------------------------------------------------------------- showing
    def set_measurement(
        self, measurement: ImageMeasurement | None, mm_per_px: float | None = None
    ) -> None:
        """Show `measurement` (None clears). `mm_per_px` defaults to the measurement's own."""
        self.measurement = measurement
        if mm_per_px is None and measurement is not None:
            mm_per_px = measurement.mm_per_px
        self.mm_per_px = mm_per_px if mm_per_px else None
        self.mm_spin.blockSignals(True)
        self.mm_spin.setValue(self.mm_per_px or 0.0)
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

    # ----------------------------------------------------------------- measuring
    def severity_scale(self, calibrated: bool) -> SeverityScale:
        if self._scale_choice == "auto":
            return default_scale(calibrated)
        return PRESETS[self._scale_choice]

    def on_mask_settled(self, result: object, mask: np.ndarray, threshold: float) -> None:
        """Slot for MainWindow.measurements_input: measure the mask on screen."""
        path = getattr(result, "path", None)
        self.measure_async(mask, Path(path) if path is not None else None)

    def measure_async(self, mask: np.ndarray, image_path: Path | None = None) -> int:
        """Measure `mask` in the background with the image's calibration; returns a request id."""
        self._request += 1
        self.image_path = image_path
        mm = None
        if image_path is not None:
            try:
                mm, _ = CalibrationLookup().lookup(image_path)
            except CrackInspectorError as exc:
                self.message.setText(str(exc))
        scale = self.severity_scale(bool(mm))
        if scale.unit == "mm" and not mm:
            self.message.setText(
                f"'{scale.name}' needs a calibration: showing the 'pixels' scale. "
                "Enter mm per pixel below and Save."
            )
            scale = PRESETS["pixels"]
        self._pending_mm = mm
        self._pool.clear()
        self._pool.start(
            _MeasureTask(
                self._request, np.asarray(mask, bool), mm, self.min_area_px, scale, self._signals
            )
        )
        self.busyChanged.emit(True)
        return self._request

    def _measured(self, rid: int, measurement, error) -> None:
        if rid != self._request:
            return  # an older request finished after a newer one was made
        self.busyChanged.emit(False)
        if error:
            self.message.setText(f"Could not measure: {error}")
            self.set_measurement(None)
            return
        self.set_measurement(measurement, self._pending_mm)

    def wait(self, msecs: int = 30_000) -> bool:
        """Block until background measuring is done (tests, closing)."""
        return self._pool.waitForDone(msecs)

    def shutdown(self) -> None:
        self._request += 1  # anything still running is outdated
        self._pool.clear()
        self._pool.waitForDone()

    def closeEvent(self, event) -> None:  # Qt override
        self.shutdown()
        super().closeEvent(event)

    # ----------------------------------------------------------------- scale
    def _scale_changed(self) -> None:
        choice = self.scale_combo.currentData()
        previous = self._scale_choice
        self._scale_choice = choice
        if self.measurement is None:
            return
        try:
            scale = self.severity_scale(bool(self.measurement.mm_per_px))
            updated = self.measurement.reclassified(scale)
        except SeverityError as exc:
            self.message.setText(str(exc))
            self._scale_choice = previous
            self.scale_combo.blockSignals(True)
            self.scale_combo.setCurrentIndex(self.scale_combo.findData(previous))
            self.scale_combo.blockSignals(False)
            return
        self.message.setText("")
        self.set_measurement(updated, self.mm_per_px)

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
        """Store (or with None remove) the scale for this image or its folder; re-measure."""
        if self.image_path is None:
            self.message.setText("Open an image first: the scale is stored with its folder.")
            return False
        try:
            folder_cal = load_calibration(self.image_path.parent)
            if scope == "folder":
                folder_cal.default = calibration
            else:
                folder_cal.set_image(self.image_path, calibration)
            save_calibration(folder_cal)
        except CrackInspectorError as exc:
            self.message.setText(str(exc))
            return False
        mm = folder_cal.mm_per_px(self.image_path)
        self.message.setText(
            f"Saved {calibration.mm_per_px:g} mm/px for the {scope}."
            if calibration
            else "Scale removed."
        )
        self.calibrationChanged.emit(self.image_path, float(mm or 0.0))
        if self.measurement is not None:
            self._rescale(mm)
        return True

    def _rescale(self, mm: float | None) -> None:
        """Same pixels, new scale: re-derive mm values and classes without re-measuring."""
        m = self.measurement
        assert m is not None
        scale = self.severity_scale(bool(mm))
        if scale.unit == "mm" and not mm:
            scale = PRESETS["pixels"]
        cracks = tuple(replace(c, mm_per_px=mm) for c in m.cracks)
        rescaled = replace(m, cracks=cracks, mm_per_px=mm).reclassified(scale)
        self.set_measurement(rescaled, mm)
