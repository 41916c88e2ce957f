"""The photo viewer: zoom about the cursor, pan by dragging, layers, before/after swipe.

One QGraphicsPixmapItem for the photo and one per layer, so zooming only changes the view
transform and never re-renders a layer. The layers sit under a clipping group; in compare
mode the group's clip rectangle starts at a draggable divider, so the photo shows on the
left and the overlay on the right, at the cost of moving one rectangle.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap, QWheelEvent
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsObject,
    QGraphicsPixmapItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsView,
    QStyleOptionGraphicsItem,
    QWidget,
)

LAYERS = ("heatmap", "mask", "outlines")  # bottom to top
ZOOM_STEP = 1.25
MIN_ZOOM, MAX_ZOOM = 0.01, 64.0


class SwipeDivider(QGraphicsObject):
    """A vertical line with a knob, dragged horizontally; its hit area stays ~16 screen px."""

    moved = Signal(float)

    def __init__(self, height: float) -> None:
        super().__init__()
        self._height = height
        self._half = 8.0  # half width in scene units; set from the view's scale
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsMovable, True)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges, True)
        self.setCursor(Qt.CursorShape.SplitHCursor)
        self.setZValue(100)
        self._limit = (0.0, 0.0)

    def set_geometry(self, width: float, height: float, scene_per_px: float) -> None:
        self.prepareGeometryChange()
        self._height = height
        self._half = 8.0 * scene_per_px
        self._limit = (0.0, width)

    def boundingRect(self) -> QRectF:
        return QRectF(-self._half * 2, 0, self._half * 4, self._height)

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        shadow = QPen(QColor(0, 0, 0, 160), 4)
        shadow.setCosmetic(True)
        line = QPen(QColor(255, 255, 255), 2)
        line.setCosmetic(True)
        for pen in (shadow, line):
            painter.setPen(pen)
            painter.drawLine(QPointF(0, 0), QPointF(0, self._height))
        r = self._half * 1.5
        painter.setBrush(QColor(255, 255, 255, 230))
        painter.setPen(shadow)
        painter.drawEllipse(QPointF(0, self._height / 2), r, r)

    def itemChange(self, change, value):
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionChange:
            x = min(max(value.x(), self._limit[0]), self._limit[1])
            return QPointF(x, 0)
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged:
            self.moved.emit(self.pos().x())
        return super().itemChange(change, value)


class ImageViewer(QGraphicsView):
    """QGraphicsView with a photo, stacked layers and an optional swipe compare."""

    zoom_changed = Signal(float)  # view scale, 1.0 = one image pixel per screen pixel

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        # Keys zoom about the centre; the wheel anchors the point under the cursor itself.
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setBackgroundBrush(QColor(38, 40, 44))
        self.setFrameShape(QGraphicsView.Shape.NoFrame)
        self.setAccessibleName("Image viewer")

        self._photo = QGraphicsPixmapItem()
        self._photo.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.scene().addItem(self._photo)
        self._overlay = QGraphicsRectItem()
        self._overlay.setPen(QPen(Qt.PenStyle.NoPen))
        self._overlay.setFlag(QGraphicsItem.GraphicsItemFlag.ItemClipsChildrenToShape, True)
        self.scene().addItem(self._overlay)
        self._layers: dict[str, QGraphicsPixmapItem] = {}
        for z, name in enumerate(LAYERS):
            item = QGraphicsPixmapItem(self._overlay)
            item.setZValue(z)
            # Nearest-neighbour keeps mask pixels crisp when zoomed in.
            item.setTransformationMode(Qt.TransformationMode.FastTransformation)
            self._layers[name] = item
        self._divider = SwipeDivider(0)
        self._divider.setVisible(False)
        self._divider.moved.connect(self._update_clip)
        self.scene().addItem(self._divider)
        self._compare = False
        self._photo_buffer: object = None
        self._fit_mode = True
        self._size = (0, 0)
        self._highlight: QGraphicsItem | None = None

    # ----------------------------------------------------------------- content
    def set_photo(self, pixmap: QPixmap | None, buffer: object = None) -> None:
        """Show a new photo (None clears) and fit it if its size changed. `buffer` is the
        memory a shared pixmap lives in (layers.photo_pixmap); it is kept while shown."""
        if pixmap is None or pixmap.isNull():
            self._photo.setPixmap(QPixmap())
            self._size = (0, 0)
        else:
            same_size = self._size == (pixmap.width(), pixmap.height())
            self._photo.setPixmap(pixmap)
            self._size = (pixmap.width(), pixmap.height())
            if not same_size:
                self._fit_mode = True
        self._photo_buffer = buffer  # only now may the previous photo's memory go
        self.set_highlight(None)  # a crack marker belongs to the previous photo
        w, h = self._size
        self.scene().setSceneRect(QRectF(0, 0, w, h))
        self._divider.setPos(w / 2, 0)
        self._update_clip()
        if self._fit_mode:
            self.fit()

    def has_photo(self) -> bool:
        return self._size != (0, 0)

    def set_layer(self, name: str, pixmap: QPixmap | None, factor: int = 1) -> None:
        """Show `pixmap` as layer `name`; `factor` > 1 for a downscaled (preview) pixmap."""
        item = self._layers[name]
        item.setPixmap(pixmap if pixmap is not None else QPixmap())
        item.setScale(factor)

    def layer_pixmap(self, name: str) -> QPixmap:
        return self._layers[name].pixmap()

    def add_overlay_item(self, item: QGraphicsItem, z: float) -> None:
        """An extra layer (e.g. the review's edited mask) inside the layer group: clipped
        by the compare divider and hidden with the overlay like the built-in layers."""
        item.setParentItem(self._overlay)
        item.setZValue(z)

    def set_layer_visible(self, name: str, visible: bool) -> None:
        self._layers[name].setVisible(visible)

    def layer_visible(self, name: str) -> bool:
        return self._layers[name].isVisible()

    def set_layer_opacity(self, name: str, opacity: float) -> None:
        self._layers[name].setOpacity(opacity)

    def set_overlay_visible(self, visible: bool) -> None:
        """All layers on or off at once (the 'toggle overlay' key)."""
        self._overlay.setVisible(visible)

    def overlay_visible(self) -> bool:
        return self._overlay.isVisible()

    # ----------------------------------------------------------------- crack highlight
    def set_highlight(self, item: QGraphicsItem | None, focus: QRectF | None = None) -> None:
        """Show `item` (image coordinates, e.g. highlight.highlight_item) over the photo,
        replacing the previous one; None removes it. `focus` is scrolled into view."""
        if self._highlight is not None:
            self.scene().removeItem(self._highlight)
            self._highlight = None
        if item is not None:
            self.scene().addItem(item)
            self._highlight = item
            if focus is not None:
                self.ensureVisible(focus, 40, 40)

    def highlight(self) -> QGraphicsItem | None:
        return self._highlight

    # ----------------------------------------------------------------- compare
    def set_compare(self, enabled: bool) -> None:
        """Swipe mode: photo left of the divider, photo + layers right of it."""
        self._compare = enabled
        self._divider.setVisible(enabled and self.has_photo())
        self._update_clip()

    def set_divider(self, fraction: float) -> None:
        self._divider.setPos(self._size[0] * min(max(fraction, 0.0), 1.0), 0)
        self._update_clip()

    def divider_fraction(self) -> float:
        return self._divider.pos().x() / self._size[0] if self._size[0] else 0.5

    def _update_clip(self, *_: object) -> None:
        w, h = self._size
        x = self._divider.pos().x() if self._compare else 0.0
        self._overlay.setRect(QRectF(x, 0, max(w - x, 0), h))
        self._divider.set_geometry(w, h, 1.0 / max(self.zoom(), 1e-6))

    # ----------------------------------------------------------------- zoom
    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, scale: float) -> None:
        scale = min(max(scale, MIN_ZOOM), MAX_ZOOM)
        factor = scale / self.zoom()
        self.scale(factor, factor)
        self._after_zoom()

    def zoom_in(self) -> None:
        self._fit_mode = False
        self.set_zoom(self.zoom() * ZOOM_STEP)

    def zoom_out(self) -> None:
        self._fit_mode = False
        self.set_zoom(self.zoom() / ZOOM_STEP)

    def actual_size(self) -> None:
        """1:1: one image pixel per screen pixel."""
        self._fit_mode = False
        self.set_zoom(1.0)

    def fit(self) -> None:
        """Whole image in view; stays fitted when the window is resized."""
        self._fit_mode = True
        if self.has_photo():
            self.fitInView(self.scene().sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)
        self._after_zoom()

    def is_fitted(self) -> bool:
        return self._fit_mode

    def _after_zoom(self) -> None:
        self._divider.set_geometry(self._size[0], self._size[1], 1.0 / max(self.zoom(), 1e-6))
        self.zoom_changed.emit(self.zoom())

    def wheelEvent(self, event: QWheelEvent) -> None:
        """Zoom about the point under the cursor (it stays under the cursor when it can)."""
        steps = event.angleDelta().y() / 120.0
        if not steps or not self.has_photo():
            return super().wheelEvent(event)
        self._fit_mode = False
        pos = event.position()
        anchor = self.mapToScene(pos.toPoint())
        self.set_zoom(self.zoom() * (ZOOM_STEP**steps))
        moved = self.mapFromScene(anchor) - pos.toPoint()
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + moved.x())
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + moved.y())
        event.accept()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._fit_mode:
            self.fit()
