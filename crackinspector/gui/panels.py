"""Side panels: layer controls (threshold, opacity, colours, compare) and current-image facts.

Panels only hold widgets and emit what the user changed; the main window decides what that
means for the viewer, so these are easy to test and to move between docks.
"""

from __future__ import annotations

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

THRESHOLD_STEPS = 1000  # slider resolution: 0.001


def _swatch(color: str) -> QIcon:
    pm = QPixmap(16, 16)
    pm.fill(QColor(color))
    return QIcon(pm)


class LayersPanel(QWidget):
    """Which layers show, how strongly, in which colour, and the crack threshold."""

    threshold_changed = Signal(float)
    threshold_reset = Signal()
    layer_toggled = Signal(str, bool)  # "mask" | "heatmap" | "outlines"
    opacity_changed = Signal(str, float)  # "mask" | "heatmap"
    color_changed = Signal(str, str)  # "mask" | "outlines", "#rrggbb"
    compare_toggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
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
        self.reset_button.clicked.connect(self.threshold_reset)
        for name, color in self._colors.items():
            self.set_color(name, color)

    # ----------------------------------------------------------------- threshold
    def threshold(self) -> float:
        return round(self.threshold_spin.value(), 3)

    def set_threshold(self, value: float) -> None:
        """Show `value` without emitting (the window sets it from settings/model card)."""
        value = min(max(value, 0.001), 0.999)
        for w in (self.threshold_slider, self.threshold_spin):
            w.blockSignals(True)
        self.threshold_slider.setValue(round(value * THRESHOLD_STEPS))
        self.threshold_spin.setValue(value)
        for w in (self.threshold_slider, self.threshold_spin):
            w.blockSignals(False)

    def _slider_moved(self, step: int) -> None:
        value = step / THRESHOLD_STEPS
        self.threshold_spin.blockSignals(True)
        self.threshold_spin.setValue(value)
        self.threshold_spin.blockSignals(False)
        self.threshold_changed.emit(value)

    def _spin_changed(self, value: float) -> None:
        self.threshold_slider.blockSignals(True)
        self.threshold_slider.setValue(round(value * THRESHOLD_STEPS))
        self.threshold_slider.blockSignals(False)
        self.threshold_changed.emit(round(value, 3))

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
    """Facts about the image on screen and its analysis."""

    FIELDS = (
        ("file", "File"),
        ("size", "Size"),
        ("status", "Status"),
        ("model", "Model"),
        ("threshold", "Threshold"),
        ("crack", "Crack area"),
        ("segments", "Crack segments"),
        ("time", "Inference time"),
    )

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
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
        form.addRow(self.analyse_button)

    def set_values(self, **values: str) -> None:
        for key, text in values.items():
            self.labels[key].setText(text or "–")

    def text(self, key: str) -> str:
        return self.labels[key].text()

    def clear(self) -> None:
        for label in self.labels.values():
            label.setText("–")
        self.progress.setVisible(False)
        self.analyse_button.setVisible(False)

    def set_progress(self, done: int, total: int) -> None:
        if total <= 0:
            self.progress.setVisible(False)
            return
        self.progress.setVisible(True)
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.progress.setFormat(f"tile {done} of {total}")
