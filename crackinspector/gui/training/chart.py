"""A small QPainter line chart of a training run (QtCharts is not in PySide6-Essentials).

Top plot: training loss per logged step (raw, faint) and its moving average (bold), and
validation loss per epoch (dots). Bottom plot, fixed 0..1: validation F1 and IoU per epoch,
the best epoch ringed. Both share the x axis, in epochs, so a step's loss and its epoch's
validation line up.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from training.history import RunHistory

RAW = QColor(90, 140, 210, 130)
SMOOTH = QColor(31, 96, 196)
VAL_LOSS = QColor(230, 120, 20)
F1 = QColor(30, 150, 70)
IOU = QColor(150, 70, 170)
GRID = QColor(0, 0, 0, 28)
AXIS = QColor(90, 90, 90)


def nice_step(span: float, ticks: int = 5) -> float:
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / ticks
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def tick_values(lo: float, hi: float, ticks: int = 5) -> list[float]:
    step = nice_step(hi - lo, ticks)
    first = math.ceil(lo / step - 1e-9) * step
    values, v = [], first
    while v <= hi + 1e-9 * max(1.0, abs(hi)):
        values.append(round(v, 10))
        v += step
    return values


def loss_range(history: RunHistory) -> tuple[float, float]:
    """0 to a robust top: the 98th percentile of raw losses, so one spike doesn't flatten
    the curve, but never below the smoothed or validation losses."""
    raw = sorted(y for _, y in history.steps)
    top = raw[min(len(raw) - 1, int(0.98 * len(raw)))] if raw else 0.0
    for _, y in history.smoothed + history.val_series("val_loss"):
        top = max(top, y)
    return 0.0, (top * 1.08 if top > 0 else 1.0)


class LossChart(QWidget):
    def __init__(self, history: RunHistory | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.history = history or RunHistory()
        self.setMinimumSize(420, 300)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAccessibleName("Training loss chart")

    def set_history(self, history: RunHistory) -> None:
        self.history = history
        self.update()

    # what tests and the monitor read
    def step_points(self) -> list[tuple[float, float]]:
        return list(self.history.steps)

    def epoch_points(self) -> list[tuple[float, float]]:
        return self.history.val_series("f1")

    def x_range(self) -> tuple[float, float]:
        h = self.history
        right = max([h.epochs_total, h.epochs_done] + [x for x, _ in h.steps[-1:]] + [1])
        return 0.0, float(right)

    # ------------------------------------------------------------------ painting
    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), self.palette().base())
        font = QFont(self.font())
        font.setPointSizeF(max(7.5, font.pointSizeF() * 0.9))
        p.setFont(font)
        fm = p.fontMetrics()
        left = fm.horizontalAdvance("0.000") + 14
        right, top, gap, bottom = 12, 8, fm.height() + 16, fm.height() * 2 + 10
        usable = self.height() - top - bottom - gap
        loss_h = usable * 0.62
        loss_rect = QRectF(left, top + fm.height() + 4, self.width() - left - right, loss_h)
        met_rect = QRectF(
            left,
            loss_rect.bottom() + gap + fm.height() + 4,
            loss_rect.width(),
            usable - loss_h - 2 * (fm.height() + 4),
        )
        x0, x1 = self.x_range()
        y0, y1 = loss_range(self.history)
        self._axes(p, loss_rect, x0, x1, y0, y1, label_x=False)
        self._axes(p, met_rect, x0, x1, 0.0, 1.0, label_x=True)
        h = self.history
        self._line(p, loss_rect, x0, x1, y0, y1, h.steps, QPen(RAW, 1))
        self._line(p, loss_rect, x0, x1, y0, y1, h.smoothed, QPen(SMOOTH, 2))
        self._line(p, loss_rect, x0, x1, y0, y1, h.val_series("val_loss"), QPen(VAL_LOSS, 2), True)
        self._line(p, met_rect, x0, x1, 0, 1, h.val_series("f1"), QPen(F1, 2), True)
        self._line(p, met_rect, x0, x1, 0, 1, h.val_series("iou"), QPen(IOU, 2), True)
        self._best_marker(p, met_rect, x0, x1)
        self._legend(
            p,
            loss_rect.topLeft() - QPointF(0, fm.height() + 2),
            [("training loss", RAW), ("smoothed", SMOOTH), ("validation loss", VAL_LOSS)],
        )
        self._legend(
            p,
            met_rect.topLeft() - QPointF(0, fm.height() + 2),
            [("validation F1", F1), ("IoU", IOU), ("at threshold 0.5; ring: best epoch", None)],
        )
        p.setPen(AXIS)
        p.drawText(
            QRectF(
                met_rect.left(),
                met_rect.bottom() + fm.height() + 2,
                met_rect.width(),
                fm.height() + 4,
            ),
            Qt.AlignmentFlag.AlignHCenter,
            "epoch",
        )
        if not h.steps and not h.epochs:
            p.setPen(self.palette().placeholderText().color())
            p.drawText(loss_rect, Qt.AlignmentFlag.AlignCenter, "Waiting for the first step…")
        p.end()

    @staticmethod
    def _map(rect: QRectF, x0, x1, y0, y1, x: float, y: float) -> QPointF:
        fx = (x - x0) / (x1 - x0) if x1 > x0 else 0.0
        fy = (y - y0) / (y1 - y0) if y1 > y0 else 0.0
        fy = min(max(fy, -0.02), 1.02)  # a clipped spike stays at the top edge
        return QPointF(rect.left() + fx * rect.width(), rect.bottom() - fy * rect.height())

    def _axes(self, p: QPainter, rect: QRectF, x0, x1, y0, y1, label_x: bool) -> None:
        fm = p.fontMetrics()
        for y in tick_values(y0, y1, 4):
            pt = self._map(rect, x0, x1, y0, y1, x0, y)
            p.setPen(QPen(GRID, 1))
            p.drawLine(QPointF(rect.left(), pt.y()), QPointF(rect.right(), pt.y()))
            p.setPen(AXIS)
            text = f"{y:.3g}" if y1 - y0 < 10 else f"{y:.0f}"
            p.drawText(
                QRectF(0, pt.y() - fm.height() / 2, rect.left() - 6, fm.height()),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                text,
            )
        for x in tick_values(x0, x1, 8):
            if abs(x - round(x)) > 1e-9:
                continue  # whole epochs only
            pt = self._map(rect, x0, x1, y0, y1, x, y0)
            p.setPen(QPen(GRID, 1))
            p.drawLine(QPointF(pt.x(), rect.top()), QPointF(pt.x(), rect.bottom()))
            if label_x:
                p.setPen(AXIS)
                p.drawText(
                    QRectF(pt.x() - 30, rect.bottom() + 3, 60, fm.height()),
                    Qt.AlignmentFlag.AlignHCenter,
                    f"{x:.0f}",
                )
        p.setPen(QPen(AXIS, 1))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRect(rect)

    def _line(self, p: QPainter, rect, x0, x1, y0, y1, points, pen: QPen, dots=False) -> None:
        if not points:
            return
        mapped = [self._map(rect, x0, x1, y0, y1, x, y) for x, y in points]
        path = QPainterPath(mapped[0])
        for pt in mapped[1:]:
            path.lineTo(pt)
        p.setPen(pen)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.save()
        p.setClipRect(rect.adjusted(-4, -4, 4, 4))
        p.drawPath(path)
        if dots:
            p.setBrush(pen.color())
            for pt in mapped:
                p.drawEllipse(pt, 3.0, 3.0)
        p.restore()

    def _best_marker(self, p: QPainter, rect: QRectF, x0, x1) -> None:
        best = self.history.best_epoch()
        if not best or best.get("f1") is None:
            return
        pt = self._map(rect, x0, x1, 0, 1, float(best["epoch"]), float(best["f1"]))
        p.setPen(QPen(F1, 1.5))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawEllipse(pt, 7.0, 7.0)

    @staticmethod
    def _legend(p: QPainter, at: QPointF, items: list[tuple[str, QColor | None]]) -> None:
        fm = p.fontMetrics()
        x = at.x()
        for text, color in items:
            if color is not None:
                solid = QColor(color)
                solid.setAlpha(max(color.alpha(), 160))
                p.setPen(QPen(solid, 3))
                mid = at.y() + fm.height() / 2
                p.drawLine(QPointF(x, mid), QPointF(x + 16, mid))
                x += 20
            p.setPen(AXIS)
            p.drawText(QPointF(x, at.y() + fm.ascent()), text)
            x += fm.horizontalAdvance(text) + 16
