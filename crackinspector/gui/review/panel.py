"""The Review dock: the photo's decision, note, list filter, editing tools, severity legend.

It holds widgets only; ReviewController connects them. The severity legend lists the
classes in use (colour, name, width range) and, under it, the resolution sentence of the
measurement engine (`ImageMeasurement.resolution_note`).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from crackinspector.core.analysis.severity import SeverityScale
from crackinspector.core.review.flow import FILTERS

from .tools import TOOL_LABELS, TOOLS


def legend_rows(scale: SeverityScale) -> list[tuple[str, str, tuple[int, int, int]]]:
    """(name, range text, colour) per class, narrowest first."""
    rows = []
    classes = scale.classes
    for i, c in enumerate(classes):
        if i + 1 < len(classes):
            text = f"{c.lower:g} – {classes[i + 1].lower:g} {scale.unit}"
        else:
            text = f"over {c.lower:g} {scale.unit}"
        rows.append((c.name, text, c.color))
    return rows


class SeverityLegend(QWidget):
    """Colour swatches with the class names and limits of a scale."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("severity_legend")
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.title = QLabel("-")
        self.rows: list[tuple[str, str]] = []

    def set_scale(self, scale: SeverityScale | None) -> None:
        while self.grid.count():
            item = self.grid.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None and widget is not self.title:
                widget.deleteLater()
        self.rows = []
        if scale is None:
            self.title.setText("-")
            self.grid.addWidget(self.title, 0, 0, 1, 3)
            return
        self.title.setText(f"<b>{scale.name}</b> ({scale.unit})")
        self.title.setToolTip(scale.source)
        self.grid.addWidget(self.title, 0, 0, 1, 3)
        for r, (name, text, color) in enumerate(legend_rows(scale), start=1):
            swatch = QLabel()
            pix = QPixmap(14, 14)
            pix.fill(QColor(*color))
            swatch.setPixmap(pix)
            self.grid.addWidget(swatch, r, 0)
            self.grid.addWidget(QLabel(name), r, 1)
            self.grid.addWidget(QLabel(text), r, 2)
            self.rows.append((name, text))


def legend_html(scale: SeverityScale) -> str:
    """The legend as rich text for the label over the viewer."""
    rows = "".join(
        f'<tr><td style="background-color: rgb{color}">&nbsp;&nbsp;&nbsp;</td>'
        f"<td>&nbsp;{name}</td><td>&nbsp;{text}</td></tr>"
        for name, text, color in legend_rows(scale)
    )
    return f"<b>{scale.name}</b><table cellspacing=1>{rows}</table>"


class OverlayLegend(QLabel):
    """The severity legend in the viewer's top-right corner (shown with the overlay)."""

    MARGIN = 10

    def __init__(self, viewer: QWidget) -> None:
        super().__init__(viewer)
        self.setObjectName("overlay_legend")
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setStyleSheet(
            "QLabel { background: rgba(20, 22, 26, 190); color: white; padding: 5px;"
            " border-radius: 4px; }"
        )
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, True)
        viewer.installEventFilter(self)

    def set_scale(self, scale: SeverityScale | None) -> None:
        self.setText(legend_html(scale) if scale is not None else "")
        self.adjustSize()
        self._place()

    def _place(self) -> None:
        parent = self.parentWidget()
        if parent is not None:
            self.move(parent.width() - self.width() - self.MARGIN - 14, self.MARGIN)

    def eventFilter(self, watched, event) -> bool:
        if event.type() == event.Type.Resize:
            self._place()
        return False


class ReviewPanel(QWidget):
    """See the module docstring; widgets are public attributes for the controller."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("review_panel")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)

        photo = QGroupBox("This photo")
        form = QFormLayout(photo)
        self.status_label = QLabel("-")
        self.status_label.setObjectName("review_status")
        self.status_label.setWordWrap(True)
        form.addRow("Review", self.status_label)
        buttons = QGridLayout()
        self.accept_button = QPushButton("Accept (A)")
        self.false_button = QPushButton("False alarm (F)")
        self.follow_button = QPushButton("Follow-up (U)")
        self.next_button = QPushButton("Next unreviewed (N)")
        for i, b in enumerate(
            (self.accept_button, self.false_button, self.follow_button, self.next_button)
        ):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            buttons.addWidget(b, i // 2, i % 2)
        form.addRow(buttons)
        self.note = QLineEdit()
        self.note.setObjectName("review_note")
        self.note.setPlaceholderText("Note (T), Enter saves")
        form.addRow("Note", self.note)
        self.edited_label = QLabel("")
        self.edited_label.setObjectName("edited_notice")
        self.edited_label.setWordWrap(True)
        self.edited_label.setStyleSheet("color: #d08000;")
        self.reset_button = QPushButton("Reset to model")
        self.reset_button.setToolTip("Drop the hand edits of this photo (undoable)")
        row = QHBoxLayout()
        row.addWidget(self.edited_label, 1)
        row.addWidget(self.reset_button)
        form.addRow(row)
        outer.addWidget(photo)

        tools = QGroupBox("Edit the mask")
        grid = QGridLayout(tools)
        self.tool_buttons: dict[str, QToolButton] = {}
        self.tool_group = QButtonGroup(self)
        self.tool_group.setExclusive(True)
        for i, name in enumerate(TOOLS):
            tb = QToolButton()
            tb.setText(TOOL_LABELS[name])
            tb.setCheckable(True)
            tb.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            tb.setObjectName(f"tool_{name}")
            self.tool_group.addButton(tb)
            self.tool_buttons[name] = tb
            tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            tb.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            grid.addWidget(tb, i // 3, i % 3)
        self.tool_buttons["pan"].setChecked(True)
        self.size_spin = QDoubleSpinBox()
        self.size_spin.setObjectName("brush_size")
        self.size_spin.setRange(0.5, 500.0)
        self.size_spin.setDecimals(1)
        self.size_spin.setSuffix(" px")
        self.size_spin.setPrefix("r ")
        self.size_spin.setToolTip("Brush size: [ and ], or Ctrl + mouse wheel")
        self.undo_button = QPushButton("Undo")
        self.redo_button = QPushButton("Redo")
        for b in (self.undo_button, self.redo_button):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        grid.addWidget(self.size_spin, 3, 0, 1, 1)
        grid.addWidget(self.undo_button, 3, 1)
        grid.addWidget(self.redo_button, 3, 2)
        outer.addWidget(tools)

        folder = QGroupBox("Inspection")
        fform = QFormLayout(folder)
        self.filter_combo = QComboBox()
        self.filter_combo.setObjectName("review_filter")
        for fid, label in FILTERS:
            self.filter_combo.addItem(label, fid)
        fform.addRow("Show", self.filter_combo)
        self.progress_label = QLabel("-")
        self.progress_label.setObjectName("review_progress")
        fform.addRow("Progress", self.progress_label)
        self.details_button = QPushButton("Inspection details…")
        fform.addRow(self.details_button)
        self.store_label = QLabel("")
        self.store_label.setWordWrap(True)
        self.store_label.setStyleSheet("color: #d03030;")
        fform.addRow(self.store_label)
        outer.addWidget(folder)

        severity = QGroupBox("Severity classes")
        sv = QVBoxLayout(severity)
        self.legend = SeverityLegend()
        sv.addWidget(self.legend)
        self.resolution_label = QLabel("")
        self.resolution_label.setObjectName("resolution_note")
        self.resolution_label.setWordWrap(True)
        self.resolution_label.setStyleSheet("color: #b06000;")
        sv.addWidget(self.resolution_label)
        self.severity_button = QPushButton("Edit classes…")
        sv.addWidget(self.severity_button)
        outer.addWidget(severity)
        outer.addStretch(1)
