"""The thumbnail strip: every image of the folder with a status badge.

A list model over `ImageEntry`s, a view of the application state's image list; statuses
come from the analysis controller and the crack area on each badge from
gui/measurements.py (the shared analysis function, the same numbers as the panels).
Thumbnails are requested lazily the first time a row is
painted (so a folder of thousands of photos costs nothing up front) and decoded by the
ImageLoader's pool. The delegate draws the badge: grey ring (not analysed), clock (queued),
progress arc (running), green tick with crack area % (analysed), red mark (failed; the reason is
in the tooltip). The review badge (bottom right) shows the photo's review status from the
application state (accepted, false alarm, corrected, follow-up; none while unreviewed).
"""

from __future__ import annotations

from pathlib import Path

import qtawesome as qta
from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QRectF,
    QSize,
    Qt,
)
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QListView, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from .controller import AnalysisController
from .loaders import ImageLoader
from .measurements import Measurements, Summary
from .results import ImageEntry, Status
from .state import AppState

EntryRole = Qt.ItemDataRole.UserRole + 1
STATUS_COLORS = {
    Status.NEW: QColor(140, 140, 140),
    Status.QUEUED: QColor(90, 150, 230),
    Status.RUNNING: QColor(240, 170, 30),
    Status.DONE: QColor(40, 170, 90),
    Status.FAILED: QColor(220, 50, 50),
}
STATUS_ICONS = {
    Status.NEW: "mdi6.circle-outline",
    Status.QUEUED: "mdi6.clock-outline",
    Status.RUNNING: "mdi6.progress-clock",
    Status.DONE: "mdi6.check-circle",
    Status.FAILED: "mdi6.alert-circle",
}


def badge_label(entry: ImageEntry, summary: Summary | None) -> str:
    """The text on a badge: crack area % once measured, progress while running."""
    if entry.status == Status.DONE and summary is not None:
        return f"{summary.crack_area_pct:.2f} %"
    if entry.status == Status.RUNNING and entry.progress:
        return f"{entry.progress * 100:.0f} %"
    return ""


def status_text(entry: ImageEntry, summary: Summary | None = None) -> str:
    if entry.status == Status.DONE and summary is not None:
        return f"analysed: {summary.text()}"
    if entry.status == Status.RUNNING and entry.progress:
        return f"running ({entry.progress * 100:.0f} %)"
    if entry.status == Status.FAILED:
        return f"failed: {entry.error}"
    return entry.status.value


class ImageListModel(QAbstractListModel):
    def __init__(
        self,
        state: AppState,
        controller: AnalysisController,
        measurements: Measurements,
        loader: ImageLoader,
        parent=None,
    ) -> None:
        super().__init__(parent)
        self.loader = loader
        self.controller = controller
        self.measurements = measurements
        self.state = state
        self.entries: list[ImageEntry] = []
        self._rows: dict[Path, int] = {}
        self._thumbs: dict[Path, QPixmap] = {}
        self._requested: set[Path] = set()
        self._broken: dict[Path, str] = {}
        loader.thumbnail_ready.connect(self._on_thumbnail)
        loader.thumbnail_failed.connect(self._on_thumbnail_failed)
        state.images_changed.connect(self._set_paths)
        controller.status_changed.connect(self._on_status)
        controller.progress.connect(self._on_progress)
        measurements.measured.connect(self._row_changed)
        state.review_changed.connect(self._row_changed)

    # ----------------------------------------------------------------- content
    def summary(self, path: Path) -> Summary | None:
        return self.measurements.summary(path)

    def review_status(self, path: Path) -> str:
        return self.state.review_status(path)

    def _on_status(self, path: Path, status: Status, reason: str) -> None:
        self.update_entry(path, status=status, error=reason, progress=0.0)

    def _on_progress(self, path: Path, done: int, total: int) -> None:
        self.update_entry(path, progress=done / total if total else 0.0)

    def _row_changed(self, path: Path) -> None:
        row = self._rows.get(path)
        if row is not None:
            self.dataChanged.emit(self.index(row), self.index(row))

    def _set_paths(self, paths: list[Path]) -> None:
        self.beginResetModel()
        self.loader.cancel_thumbnails()
        c = self.controller  # statuses it still knows (a folder opened again)
        self.entries = [ImageEntry(p, c.status(p), c.error(p)) for p in paths]
        self._rows = {p: i for i, p in enumerate(paths)}
        self._thumbs.clear()
        self._requested.clear()
        self._broken.clear()
        self.endResetModel()

    def paths(self) -> list[Path]:
        return [e.path for e in self.entries]

    def row_of(self, path: Path) -> int:
        return self._rows.get(path, -1)

    def entry(self, path: Path) -> ImageEntry | None:
        row = self._rows.get(path)
        return self.entries[row] if row is not None else None

    def update_entry(self, path: Path, **changes) -> None:
        row = self._rows.get(path)
        if row is None:
            return
        entry = self.entries[row]
        for key, value in changes.items():
            setattr(entry, key, value)
        index = self.index(row)
        self.dataChanged.emit(index, index)

    def thumbnail(self, path: Path) -> QPixmap | None:
        return self._thumbs.get(path)

    # ----------------------------------------------------------------- Qt model
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.entries)

    def data(self, index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self.entries):
            return None
        entry = self.entries[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return entry.path.name
        if role == Qt.ItemDataRole.DecorationRole:
            return self._decoration(entry.path)
        if role == Qt.ItemDataRole.ToolTipRole:
            broken = self._broken.get(entry.path)
            lines = [str(entry.path), status_text(entry, self.summary(entry.path))]
            if broken and entry.status != Status.FAILED:
                lines.append(f"cannot show a preview: {broken}")
            return "\n".join(lines)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{entry.path.name}, {status_text(entry, self.summary(entry.path))}"
        if role == EntryRole:
            return entry
        return None

    def _decoration(self, path: Path) -> QPixmap | None:
        pixmap = self._thumbs.get(path)
        if pixmap is not None:
            return pixmap
        if path not in self._requested:
            self._requested.add(path)
            self.loader.request_thumbnail(path)
        return None

    def _on_thumbnail(self, path: Path, image: QImage) -> None:
        if path not in self._rows:
            return
        self._thumbs[path] = QPixmap.fromImage(image)
        index = self.index(self._rows[path])
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])

    def _on_thumbnail_failed(self, path: Path, reason: str) -> None:
        if path not in self._rows:
            return
        self._broken[path] = reason
        self._thumbs[path] = qta.icon("mdi6.image-broken-variant", color="#b0b0b0").pixmap(64, 64)
        index = self.index(self._rows[path])
        self.dataChanged.emit(index, index)


# review status -> (badge text, colour); unreviewed photos have no review badge
REVIEW_BADGES = {
    "accepted": ("✓ accepted", "#2e9d4a"),
    "false_alarm": ("✗ false alarm", "#6b6f76"),
    "corrected": ("✎ corrected", "#2f6fd0"),
    "follow_up": ("! follow-up", "#d9822b"),
}


class ThumbnailDelegate(QStyledItemDelegate):
    """Thumbnail, file name, and a status badge in the top-left corner."""

    def __init__(self, thumb: int, parent=None) -> None:
        super().__init__(parent)
        self.thumb = thumb
        self.thumb_h = thumb * 3 // 4  # most photos are landscape 4:3 or 3:2
        self._icons = {
            s: qta.icon(name, color="white").pixmap(14, 14) for s, name in STATUS_ICONS.items()
        }

    def sizeHint(self, option, index) -> QSize:
        return QSize(self.thumb + 16, self.thumb_h + 34)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        entry: ImageEntry = index.data(EntryRole)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        r = option.rect
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if selected:
            painter.fillRect(r, option.palette.highlight())
        elif option.state & QStyle.StateFlag.State_MouseOver:
            painter.fillRect(r, option.palette.alternateBase())

        box = QRect(r.x() + 8, r.y() + 6, self.thumb, self.thumb_h)
        pixmap = index.data(Qt.ItemDataRole.DecorationRole)
        if isinstance(pixmap, QPixmap) and not pixmap.isNull():
            scaled = pixmap.size().scaled(box.size(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRect(0, 0, scaled.width(), scaled.height())
            target.moveCenter(box.center())
            painter.drawPixmap(target, pixmap)
        else:
            painter.fillRect(
                box.adjusted(0, box.height() // 6, 0, -box.height() // 6), QColor(60, 62, 66)
            )

        model = index.model()
        summary = model.summary(entry.path) if isinstance(model, ImageListModel) else None
        self._paint_badge(painter, entry, badge_label(entry, summary), box)
        if isinstance(model, ImageListModel):
            self._paint_review(painter, model.review_status(entry.path), box)

        text_rect = QRect(r.x() + 4, box.bottom() + 4, r.width() - 8, 22)
        painter.setPen(
            option.palette.highlightedText().color() if selected else option.palette.text().color()
        )
        name = option.fontMetrics.elidedText(
            entry.path.name, Qt.TextElideMode.ElideMiddle, text_rect.width()
        )
        painter.drawText(
            text_rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignVCenter, name
        )
        painter.restore()

    def _paint_review(self, painter: QPainter, status: str, box: QRect) -> None:
        """The review badge in the bottom-right corner (none while unreviewed)."""
        badge = REVIEW_BADGES.get(status)
        if badge is None:
            return
        text, color = badge
        font = QFont(painter.font())
        font.setBold(True)
        painter.setFont(font)
        width = painter.fontMetrics().horizontalAdvance(text) + 12
        rect = QRectF(box.right() - 3 - width, box.bottom() - 22, width, 19)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(color))
        painter.drawRoundedRect(rect, 10, 10)
        painter.setPen(QColor("white"))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)

    def _paint_badge(self, painter: QPainter, entry: ImageEntry, label: str, box: QRect) -> None:
        color = STATUS_COLORS[entry.status]
        font = QFont(painter.font())
        font.setPointSizeF(max(font.pointSizeF() * 0.85, 7))
        font.setBold(True)
        painter.setFont(font)
        text_w = painter.fontMetrics().horizontalAdvance(label) + 6 if label else 0
        badge = QRectF(box.x() + 3, box.y() + 3, 20 + text_w, 20)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        painter.drawRoundedRect(badge, 10, 10)
        painter.drawPixmap(int(badge.x() + 3), int(badge.y() + 3), self._icons[entry.status])
        if entry.status == Status.RUNNING and entry.progress:
            pen = QPen(QColor("white"), 2)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            arc = QRectF(badge.x() + 1, badge.y() + 1, 18, 18)
            painter.drawArc(arc, 90 * 16, -int(360 * 16 * entry.progress))
        if label:
            painter.setPen(QColor("white"))
            text = QRectF(badge.x() + 19, badge.y(), text_w, badge.height())
            painter.drawText(
                text, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, label
            )


class ImageListView(QListView):
    """A vertical icon-mode strip of thumbnails."""

    def __init__(self, model: ImageListModel, thumb: int = 120, parent=None) -> None:
        super().__init__(parent)
        self.setModel(model)
        self.setItemDelegate(ThumbnailDelegate(thumb, self))
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(True)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setSpacing(2)
        self.setMouseTracking(True)
        self.setSelectionMode(QListView.SelectionMode.SingleSelection)
        self.setVerticalScrollMode(QListView.ScrollMode.ScrollPerPixel)
        self.setAccessibleName("Images in folder")
        self.setMinimumWidth(thumb + 40)
