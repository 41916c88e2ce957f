"""The viewer's marker for the crack selected in the measurements table.

One QGraphicsPathItem in image coordinates (the crack's outline, filled faintly in its
severity colour) with two children that keep their screen size at any zoom: a ring at the
widest point and a label there ("#2 5.0 px (0.50 mm)"). Built from a
measure_panel.CrackHighlight so the viewer needs no measuring code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPen
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsRectItem,
    QGraphicsSimpleTextItem,
)

if TYPE_CHECKING:
    from .measure_panel import CrackHighlight

HIGHLIGHT_Z = 50  # above the layers, below the swipe divider (100)
RING_RADIUS = 9.0  # screen pixels


def _cosmetic(color: QColor, width: float) -> QPen:
    pen = QPen(color, width)
    pen.setCosmetic(True)  # same thickness at every zoom
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    return pen


def highlight_item(h: CrackHighlight, image_width: int = 0) -> QGraphicsPathItem:
    """The outline item (with ring and label children) for crack highlight `h`; the label
    goes left of the ring when the crack is in the right third of an `image_width` photo."""
    color = QColor(*h.color)
    item = QGraphicsPathItem(h.painter_path())
    item.setPen(_cosmetic(color, 2.5))
    fill = QColor(color)
    fill.setAlpha(70)
    item.setBrush(QBrush(fill))
    item.setZValue(HIGHLIGHT_Z)
    item.setAcceptedMouseButtons(Qt.MouseButton.NoButton)  # panning still works over it
    item.setToolTip(h.label)

    x, y = h.widest_point
    centre = QPointF(x + 0.5, y + 0.5)
    ring = QGraphicsEllipseItem(
        QRectF(-RING_RADIUS, -RING_RADIUS, 2 * RING_RADIUS, 2 * RING_RADIUS), item
    )
    ring.setPen(_cosmetic(QColor("white"), 2.0))
    ring.setBrush(Qt.BrushStyle.NoBrush)
    ring.setPos(centre)
    ring.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
    inner = QGraphicsEllipseItem(QRectF(-2.5, -2.5, 5, 5), ring)
    inner.setPen(QPen(Qt.PenStyle.NoPen))
    inner.setBrush(QBrush(color))

    label = QGraphicsSimpleTextItem(h.label)
    font = QFont()
    font.setBold(True)
    label.setFont(font)
    label.setBrush(QBrush(QColor("white")))
    box = QGraphicsRectItem(label.boundingRect().adjusted(-4, -2, 4, 2), ring)
    box.setPen(QPen(Qt.PenStyle.NoPen))
    box.setBrush(QBrush(QColor(0, 0, 0, 170)))
    box_width = box.rect().width()
    left = image_width > 0 and x > image_width * 2 / 3
    box.setPos(-RING_RADIUS - 6 - box_width + 4 if left else RING_RADIUS + 6 + 4, 0)
    box.setY(-label.boundingRect().height() / 2)
    label.setParentItem(box)
    item.label_item = label  # for tests and callers that want the text
    return item
