"""Mouse input for the editing tools on the viewer: what the pointer does, in image pixels.

`ViewerTools` filters the viewer viewport's mouse and wheel events while a tool is chosen
(PAN gives the viewer back its hand-drag). It only reports gestures as signals in image
pixel coordinates (scene coordinates are image pixels); the review controller turns them
into EditSession calls. The brush outline is a scene item with the brush's radius in image
pixels and a cosmetic pen, so it shows the true size at any zoom.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QLineF, QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainterPath, QPen, QWheelEvent
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsLineItem,
    QGraphicsPathItem,
    QGraphicsView,
)

from ..viewer import ImageViewer

PAN, BRUSH, ERASER, LASSO, LASSO_ERASE, DELETE, CALIBRATE = (
    "pan",
    "brush",
    "eraser",
    "lasso",
    "lasso_erase",
    "delete",
    "calibrate",
)
TOOLS = (PAN, BRUSH, ERASER, LASSO, LASSO_ERASE, DELETE, CALIBRATE)
TOOL_LABELS = {
    PAN: "Pan",
    BRUSH: "Brush",
    ERASER: "Eraser",
    LASSO: "Lasso fill",
    LASSO_ERASE: "Lasso erase",
    DELETE: "Delete crack",
    CALIBRATE: "Reference line",
}
EDIT_TOOLS = (BRUSH, ERASER, LASSO, LASSO_ERASE, DELETE)
MIN_RADIUS, MAX_RADIUS = 0.5, 500.0
SIZE_STEP = 1.25
CLICK_TOLERANCE_SCREEN_PX = 6.0
Point = tuple[float, float]


def _cosmetic(color: str, width: float = 1.5, style=Qt.PenStyle.SolidLine) -> QPen:
    pen = QPen(QColor(color), width, style)
    pen.setCosmetic(True)
    return pen


class ViewerTools(QObject):
    """See the module docstring."""

    tool_changed = Signal(str)
    radius_changed = Signal(float)
    stroke_started = Signal(object, bool)  # point, erase
    stroke_moved = Signal(object)  # point
    stroke_finished = Signal()
    lasso_closed = Signal(object, bool)  # list of points, erase
    crack_clicked = Signal(object, float)  # point, tolerance in image px
    line_drawn = Signal(object, object)  # p1, p2

    def __init__(self, viewer: ImageViewer, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.viewer = viewer
        self.tool = PAN
        self.radius = 6.0
        self._drag_mode = viewer.dragMode()
        self._pressed = False
        self._points: list[Point] = []
        scene = viewer.scene()
        self.cursor_item = QGraphicsEllipseItem()
        self.cursor_item.setPen(_cosmetic("#ffffff"))
        self.cursor_item.setZValue(200)
        self.cursor_item.setVisible(False)
        scene.addItem(self.cursor_item)
        self.lasso_item = QGraphicsPathItem()
        self.lasso_item.setPen(_cosmetic("#00e5ff", 1.5, Qt.PenStyle.DashLine))
        self.lasso_item.setZValue(200)
        scene.addItem(self.lasso_item)
        self.line_item = QGraphicsLineItem()
        self.line_item.setPen(_cosmetic("#00e5ff", 2.0))
        self.line_item.setZValue(200)
        self.line_item.setVisible(False)
        scene.addItem(self.line_item)
        viewer.viewport().installEventFilter(self)
        viewer.viewport().setMouseTracking(True)

    # ------------------------------------------------------------------ settings
    def set_tool(self, tool: str) -> None:
        if tool not in TOOLS:
            raise ValueError(f"unknown tool {tool!r}")
        if tool == self.tool:
            return
        self._cancel_gesture()
        self.tool = tool
        if tool == PAN:
            self.viewer.setDragMode(self._drag_mode)
            self.viewer.viewport().unsetCursor()
        else:
            self.viewer.setDragMode(QGraphicsView.DragMode.NoDrag)
            self.viewer.viewport().setCursor(
                Qt.CursorShape.BlankCursor
                if tool in (BRUSH, ERASER)
                else Qt.CursorShape.CrossCursor
            )
        self.cursor_item.setVisible(False)
        self.tool_changed.emit(tool)

    def set_radius(self, radius: float) -> None:
        radius = min(max(float(radius), MIN_RADIUS), MAX_RADIUS)
        if radius == self.radius:
            return
        self.radius = radius
        self._place_cursor(
            self.cursor_item.rect().center() if self.cursor_item.isVisible() else None
        )
        self.radius_changed.emit(radius)

    def grow(self) -> None:
        self.set_radius(max(self.radius * SIZE_STEP, self.radius + 1))

    def shrink(self) -> None:
        self.set_radius(min(self.radius / SIZE_STEP, self.radius - 1))

    def line(self) -> tuple[Point, Point] | None:
        """The reference line on screen (calibration tool), None when there is none."""
        if not self.line_item.isVisible():
            return None
        ln = self.line_item.line()
        return (ln.x1(), ln.y1()), (ln.x2(), ln.y2())

    def clear_line(self) -> None:
        self.line_item.setVisible(False)

    # ------------------------------------------------------------------ events
    def _image_point(self, event: QMouseEvent) -> Point:
        p = self.viewer.mapToScene(event.position().toPoint())
        return (p.x(), p.y())

    def _place_cursor(self, centre: QPointF | None) -> None:
        if centre is None or self.tool not in (BRUSH, ERASER):
            self.cursor_item.setVisible(False)
            return
        r = self.radius
        self.cursor_item.setRect(QRectF(centre.x() - r, centre.y() - r, 2 * r, 2 * r))
        color = "#ffffff" if self.tool == BRUSH else "#ff9f0a"
        self.cursor_item.setPen(_cosmetic(color))
        self.cursor_item.setVisible(True)

    def _cancel_gesture(self) -> None:
        if self._pressed and self.tool in (BRUSH, ERASER):
            self.stroke_finished.emit()
        self._pressed = False
        self._points = []
        self.lasso_item.setPath(QPainterPath())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if self.tool == PAN or not self.viewer.has_photo():
            return False
        kind = event.type()
        if kind == QEvent.Type.Wheel and isinstance(event, QWheelEvent):
            if event.modifiers() & Qt.KeyboardModifier.ControlModifier and self.tool in (
                BRUSH,
                ERASER,
            ):
                steps = event.angleDelta().y() / 120.0
                self.set_radius(self.radius * (SIZE_STEP**steps))
                event.accept()
                return True
            return False
        if not isinstance(event, QMouseEvent):
            if kind == QEvent.Type.Leave:
                self.cursor_item.setVisible(False)
            return False
        if kind == QEvent.Type.MouseButtonPress and event.button() == Qt.MouseButton.LeftButton:
            self._press(self._image_point(event))
            return True
        if kind == QEvent.Type.MouseMove:
            point = self._image_point(event)
            self._place_cursor(QPointF(*point))
            if self._pressed:
                self._move(point)
            return self._pressed
        if kind == QEvent.Type.MouseButtonRelease and event.button() == Qt.MouseButton.LeftButton:
            if self._pressed:
                self._release(self._image_point(event))
            return True
        return False

    def _press(self, point: Point) -> None:
        self._pressed = True
        self._points = [point]
        if self.tool in (BRUSH, ERASER):
            self._place_cursor(QPointF(*point))
            self.stroke_started.emit(point, self.tool == ERASER)
        elif self.tool == CALIBRATE:
            self.line_item.setLine(QLineF(QPointF(*point), QPointF(*point)))
            self.line_item.setVisible(True)
        elif self.tool in (LASSO, LASSO_ERASE):
            self._draw_lasso()

    def _move(self, point: Point) -> None:
        if self.tool in (BRUSH, ERASER):
            self.stroke_moved.emit(point)
        elif self.tool in (LASSO, LASSO_ERASE):
            self._points.append(point)
            self._draw_lasso()
        elif self.tool == CALIBRATE:
            start = self.line_item.line().p1()
            self.line_item.setLine(QLineF(start, QPointF(*point)))

    def _release(self, point: Point) -> None:
        self._pressed = False
        tool = self.tool
        if tool in (BRUSH, ERASER):
            self.stroke_moved.emit(point)
            self.stroke_finished.emit()
        elif tool in (LASSO, LASSO_ERASE):
            self._points.append(point)
            points, self._points = self._points, []
            self.lasso_item.setPath(QPainterPath())
            if len(points) >= 3:
                self.lasso_closed.emit(points, tool == LASSO_ERASE)
        elif tool == DELETE:
            tolerance = CLICK_TOLERANCE_SCREEN_PX / max(self.viewer.zoom(), 1e-6)
            self.crack_clicked.emit(point, tolerance)
        elif tool == CALIBRATE:
            start = self.line_item.line().p1()
            self.line_item.setLine(QLineF(start, QPointF(*point)))
            if QLineF(start, QPointF(*point)).length() >= 2:
                self.line_drawn.emit((start.x(), start.y()), point)
            else:
                self.line_item.setVisible(False)

    def _draw_lasso(self) -> None:
        path = QPainterPath()
        if self._points:
            path.moveTo(*self._points[0])
            for p in self._points[1:]:
                path.lineTo(*p)
            path.closeSubpath()
        self.lasso_item.setPath(path)
