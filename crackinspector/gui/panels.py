"""Side panels: layer controls (threshold, opacity, colours, compare) and current-image facts.

Both are views of the application state (gui/state.py): the threshold slider writes the
state's threshold and follows it; the current-image panel shows the state's image, the
controller's status for it and the numbers of gui/measurements.py (the shared analysis
function), never numbers of its own.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QColorDialog,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from .controller import AnalysisController
from .measurements import Measurements
from .results import Status
from .state import AppState

THRESHOLD_STEPS = 1000  # slider resolution: 0.001


def _swatch(color: str) -> QIcon:
    pm = QPixmap(16, 16)
    pm.fill(QColor(color))
    return QIcon(pm)


class LayersPanel(QWidget):
    """Which layers show, how strongly, in which colour, and the crack threshold."""

    threshold_reset = Signal()  # the user asked for the model's own threshold
    layer_toggled = Signal(str, bool)  # "mask" | "heatmap" | "outlines"
    opacity_changed = Signal(str, float)  # "mask" | "heatmap"
    color_changed = Signal(str, str)  # "mask" | "outlines", "#rrggbb"
    compare_toggled = Signal(bool)

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)

        thr_box = QGroupBox("Crack threshold")
        thr = QVBoxLayout(thr_box)
        row = QHBoxLayout()
        self.threshold_slider = QSlider(Qt.Orientation.Horizontal)
        self.threshold_slider.setRange(1, THRESHOLD_STEPS - 1)
        self.threshold_slider.setAccessibleName("Crack threshold")
        self.threshold_slider.setToolTip(
            "Pixels with crack probability at or above this are crack. "
            "Changing it re-thresholds the stored probability map; no new analysis."
        )
        self.threshold_spin = QDoubleSpinBox()
        self.threshold_spin.setRange(0.001, 0.999)
        self.threshold_spin.setDecimals(3)
        self.threshold_spin.setSingleStep(0.01)
        self.threshold_spin.setAccessibleName("Crack threshold value")
        self.reset_button = QToolButton()
        self.reset_button.setText("Model default")
        self.reset_button.setToolTip("Use the threshold chosen for the model during training")
        row.addWidget(self.threshold_slider, 1)
        row.addWidget(self.threshold_spin)
        thr.addLayout(row)
        thr.addWidget(self.reset_button, 0, Qt.AlignmentFlag.AlignRight)
        outer.addWidget(thr_box)

        layers_box = QGroupBox("Layers")
        form = QFormLayout(layers_box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.checks: dict[str, QCheckBox] = {}
        self.opacity: dict[str, QSlider] = {}
        self.color_buttons: dict[str, QToolButton] = {}
        self._colors: dict[str, str] = {"mask": "#ff2d55", "outlines": "#ffd60a"}
        for name, label, has_opacity, has_color in (
            ("mask", "Crack mask", True, True),
            ("heatmap", "Probability heat map", True, False),
            ("outlines", "Crack outlines", False, True),
        ):
            check = QCheckBox(label)
            check.toggled.connect(lambda on, n=name: self.layer_toggled.emit(n, on))
            self.checks[name] = check
            line = QHBoxLayout()
            line.addWidget(check, 1)
            if has_color:
                button = QToolButton()
                button.setToolTip(f"{label} colour")
                button.setAccessibleName(f"{label} colour")
                button.clicked.connect(lambda _=False, n=name: self._pick_color(n))
                self.color_buttons[name] = button
                line.addWidget(button)
            form.addRow(line)
            if has_opacity:
                slider = QSlider(Qt.Orientation.Horizontal)
                slider.setRange(0, 100)
                slider.setAccessibleName(f"{label} opacity")
                slider.setToolTip(f"{label} opacity")
                slider.valueChanged.connect(
                    lambda v, n=name: self.opacity_changed.emit(n, v / 100.0)
                )
                self.opacity[name] = slider
                form.addRow("   opacity", slider)
        self.compare_check = QCheckBox("Before / after (drag the divider)")
        self.compare_check.toggled.connect(self.compare_toggled)
        form.addRow(self.compare_check)
        outer.addWidget(layers_box)
        outer.addStretch(1)

        self.threshold_slider.valueChanged.connect(self._slider_moved)
        self.threshold_spin.valueChanged.connect(self._spin_changed)
        self.reset_button.clicked.connect(self._reset_threshold)
        for name, color in self._colors.items():
            self.set_color(name, color)
        state.threshold_changed.connect(self._show_threshold)
        self._show_threshold(state.threshold)

    # ----------------------------------------------------------------- threshold
    def threshold(self) -> float:
        return round(self.threshold_spin.value(), 3)

    def _show_threshold(self, value: float) -> None:
        """Follow the state's threshold without writing it back."""
        for w in (self.threshold_slider, self.threshold_spin):
            w.blockSignals(True)
        self.threshold_slider.setValue(round(value * THRESHOLD_STEPS))
        self.threshold_spin.setValue(value)
        for w in (self.threshold_slider, self.threshold_spin):
            w.blockSignals(False)

    def _slider_moved(self, step: int) -> None:
        self.state.set_threshold(step / THRESHOLD_STEPS)

    def _spin_changed(self, value: float) -> None:
        self.state.set_threshold(value)

    def _reset_threshold(self) -> None:
        model = self.state.model
        self.state.set_threshold(model.card.threshold if model is not None else 0.5)
        self.threshold_reset.emit()

    # ----------------------------------------------------------------- layers
    def set_layer_checked(self, name: str, on: bool) -> None:
        self.checks[name].setChecked(on)

    def set_opacity(self, name: str, value: float) -> None:
        self.opacity[name].setValue(round(value * 100))

    def color(self, name: str) -> str:
        return self._colors[name]

    def set_color(self, name: str, color: str) -> None:
        self._colors[name] = color
        self.color_buttons[name].setIcon(_swatch(color))

    def _pick_color(self, name: str) -> None:
        chosen = QColorDialog.getColor(QColor(self._colors[name]), self, "Layer colour")
        if chosen.isValid():
            self.set_color(name, chosen.name())
            self.color_changed.emit(name, chosen.name())


class InfoPanel(QWidget):
    """Facts about the image on screen and its analysis (a view; see the module docstring)."""

    FIELDS = (
        ("file", "File"),
        ("size", "Size"),
        ("status", "Status"),
        ("model", "Model"),
        ("threshold", "Threshold"),
        ("cracks", "Cracks"),
        ("crack", "Crack area"),
        ("width", "Max width"),
        ("time", "Inference time"),
    )

    def __init__(
        self,
        state: AppState,
        controller: AnalysisController,
        measurements: Measurements,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.state = state
        self.controller = controller
        self.measurements = measurements
        self._photo_size: tuple[int, int] | None = None
        self._photo_problem = ""
        outer = QVBoxLayout(self)
        outer.setContentsMargins(8, 8, 8, 8)
        form = QFormLayout()
        outer.addLayout(form)
        outer.addStretch(1)  # facts stay together at the top when the dock is tall
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        self.labels: dict[str, QLabel] = {}
        for key, title in self.FIELDS:
            label = QLabel("–")
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setWordWrap(True)
            label.setAccessibleName(title)
            self.labels[key] = label
            form.addRow(f"{title}:", label)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setVisible(False)
        form.addRow(self.progress)
        self.analyse_button = QPushButton("Analyse this image")
        self.analyse_button.setVisible(False)
        self.analyse_button.clicked.connect(controller.analyse_current)
        form.addRow(self.analyse_button)

        state.current_changed.connect(self._current_changed)
        state.threshold_changed.connect(self.refresh)
        state.model_changed.connect(self.refresh)
        controller.status_changed.connect(self._status_changed)
        controller.progress.connect(self._progress)
        controller.busy_changed.connect(self.refresh)
        controller.result_ready.connect(self.refresh)
        measurements.measured.connect(self._measured)
        self.refresh()

    def text(self, key: str) -> str:
        return self.labels[key].text()

    def set_photo(self, size: tuple[int, int] | None, problem: str = "") -> None:
        """The photo on screen was decoded (width, height) or could not be (`problem`)."""
        self._photo_size, self._photo_problem = size, problem
        self.refresh()

    def _current_changed(self, _path: Path | None) -> None:
        self._photo_size, self._photo_problem = None, ""
        self.progress.setVisible(False)
        self.refresh()

    def _status_changed(self, path: Path, status: Status, _reason: str) -> None:
        if path == self.state.current:
            if status != Status.RUNNING:
                self.progress.setVisible(False)
            self.refresh()

    def _progress(self, path: Path, done: int, total: int) -> None:
        if path != self.state.current or total <= 0:
            return
        self.progress.setVisible(True)
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.progress.setFormat(f"tile {done} of {total}")

    def _measured(self, path: Path) -> None:
        if path == self.state.current:
            self.refresh()

    def refresh(self, *_: object) -> None:
        path, c = self.state.current, self.controller
        if path is None:
            for label in self.labels.values():
                label.setText("–")
            self.progress.setVisible(False)
            self.analyse_button.setVisible(False)
            return
        model = self.state.model
        status = c.status(path)
        values = {
            "file": path.name,
            "status": _status_text(status, c.error(path)),
            "model": model.name if model is not None else "none",
            "threshold": f"{self.state.threshold:.3f}",
            "cracks": "",
            "crack": "",
            "width": "",
            "time": "",
            "size": "",
        }
        if self._photo_size is not None:
            w, h = self._photo_size
            values["size"] = f"{w} × {h} px ({w * h / 1e6:.1f} MP)"
        summary = self.measurements.summary(path)
        if summary is not None and summary.settings == self.state.analysis_settings(path):
            values["cracks"] = str(summary.n_cracks)
            values["crack"] = f"{summary.crack_area_pct:.2f} %"
            width = f"{summary.max_width_px:.1f} px"
            if summary.max_width_mm is not None:
                width += f" ({summary.max_width_mm:.2f} mm)"
            values["width"] = width
        elif status == Status.DONE:
            values["cracks"] = values["crack"] = values["width"] = "…"
        result = c.result_for(path)
        if result is not None:
            when = "cached" if result.source != "inference" else "just now"
            values["time"] = f"{result.seconds:.2f} s ({when})"
        if self._photo_problem:
            values["status"] = f"cannot open: {self._photo_problem}"
        for key, text in values.items():
            self.labels[key].setText(text or "–")
        self.labels["status"].setToolTip(c.error(path))
        self.analyse_button.setVisible(
            model is not None and status in (Status.NEW, Status.FAILED) and not c.busy
        )


def _status_text(status: Status, error: str) -> str:
    return f"failed: {error}" if status == Status.FAILED else status.value
