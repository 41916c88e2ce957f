"""The edited crack mask over the photo, repainted only where an edit changed it.

One premultiplied ARGB32 QImage at the photo's native size, backed by a numpy array: an
edit rewrites the pixels of its changed rectangle (a numpy `where` on that slice) and asks
the scene to repaint that rectangle; painting draws only the exposed part of the image.
Nothing is converted for the whole photo after the first draw.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from crackinspector.core.review.edits import Rect


def premultiplied_bgra(color: QColor | str) -> np.ndarray:
    """The 4 bytes (B, G, R, A; little-endian ARGB32 premultiplied) of an opaque colour."""
    c = QColor(color)
    return np.array([c.blue(), c.green(), c.red(), 255], np.uint8)


class EditLayer(QGraphicsItem):
    """See the module docstring. `set_mask` once per photo, `update_rect` after each edit."""

    def __init__(self, parent: QGraphicsItem | None = None) -> None:
        super().__init__(parent)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)
        self._buffer: np.ndarray | None = None
        self._image: QImage | None = None
        self._color = premultiplied_bgra("#ff2d55")
        self.pixels_written = 0  # pixels rewritten since set_mask (tests read it)
        self.paints = 0  # paint() calls (the benchmark checks repaints are in its timing)

    def set_color(self, color: QColor | str, mask: np.ndarray | None = None) -> None:
        self._color = premultiplied_bgra(color)
        if mask is not None and self._buffer is not None:
            self.set_mask(mask)

    def set_mask(self, mask: np.ndarray | None) -> None:
        """Draw a whole mask (None clears)."""
        self.prepareGeometryChange()
        if mask is None:
            self._buffer, self._image = None, None
        else:
            h, w = mask.shape
            self._buffer = np.zeros((h, w, 4), np.uint8)
            self._buffer[mask] = self._color
            self._image = QImage(
                self._buffer.data, w, h, w * 4, QImage.Format.Format_ARGB32_Premultiplied
            )
        self.pixels_written = 0
        self.update()

    def update_rect(self, mask: np.ndarray, rect: Rect | None) -> None:
        """Redraw `rect` (image pixels) from `mask` and repaint only that part."""
        if rect is None or self._buffer is None:
            return
        ys, xs = rect.slices()
        self._buffer[ys, xs] = np.where(mask[ys, xs, None], self._color, np.uint8(0))
        self.pixels_written += rect.width * rect.height
        self.update(QRectF(rect.x0, rect.y0, rect.width, rect.height))

    def mask_pixels(self) -> int:
        """Opaque pixels drawn now (tests compare it with the mask)."""
        return 0 if self._buffer is None else int((self._buffer[..., 3] > 0).sum())

    def boundingRect(self) -> QRectF:
        if self._image is None:
            return QRectF()
        return QRectF(0, 0, self._image.width(), self._image.height())

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        self.paints += 1
        if self._image is None:
            return
        exposed = option.exposedRect.intersected(self.boundingRect()).toAlignedRect()
        if exposed.isEmpty():
            return
        # crisp pixels when zoomed in, smoothed (thin cracks stay visible) when zoomed out
        zoomed_in = painter.worldTransform().m11() >= 1.0
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, not zoomed_in)
        painter.drawImage(exposed, self._image, exposed)
