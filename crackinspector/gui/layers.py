"""Numpy arrays to pixmaps for the viewer's layers, cheaply enough for 24-megapixel photos.

Every layer is an 8-bit *indexed* image made straight from a numpy buffer, with a colour
table carrying colour and alpha: a mask is 0/1 with two table entries, the heat map is the
probability's top byte with 256 entries. So a threshold change costs one numpy comparison
and one indexed->ARGB conversion inside Qt; a colour change only swaps the table. Opacity is
the graphics item's, so it never re-renders anything.
"""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtGui import QColor, QImage, QPixmap

from crackinspector.core.cache import threshold_u16


def _indexed_pixmap(data: np.ndarray, colors: list[int]) -> QPixmap:
    """A pixmap of an (H, W) uint8 index array; the array only needs to live for this call."""
    data = np.ascontiguousarray(data)
    h, w = data.shape
    image = QImage(data.data, w, h, data.strides[0], QImage.Format.Format_Indexed8)
    image.setColorTable(colors)
    return QPixmap.fromImage(image)


def rgb_pixmap(rgb: np.ndarray) -> QPixmap:
    """A pixmap of an RGB uint8 (H, W, 3) photo."""
    rgb = np.ascontiguousarray(rgb)
    h, w, _ = rgb.shape
    image = QImage(rgb.data, w, h, rgb.strides[0], QImage.Format.Format_RGB888)
    return QPixmap.fromImage(image)


def crack_mask(probability_u16: np.ndarray, threshold: float) -> np.ndarray:
    """Boolean crack mask of a uint16 probability map at `threshold` in [0, 1]."""
    return probability_u16 >= max(threshold_u16(threshold), 1)


def mask_pixmap(mask: np.ndarray, color: QColor | str) -> QPixmap:
    """Crack pixels in `color`, everything else transparent."""
    c = QColor(color)
    return _indexed_pixmap(mask.view(np.uint8), [0, c.rgb() | 0xFF000000])


def outline_mask(mask: np.ndarray) -> np.ndarray:
    """The boundary pixels of each crack region, thicker on big photos so they stay visible."""
    m = mask.view(np.uint8)
    width = max(1, round(max(m.shape) / 1600))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * width + 1, 2 * width + 1))
    return cv2.morphologyEx(m, cv2.MORPH_GRADIENT, kernel).astype(bool)


def _heat_table() -> list[int]:
    """Turbo colours with alpha rising from 0 (no crack) to about 0.9 (certain crack)."""
    ramp = np.arange(256, dtype=np.uint8).reshape(1, 256)
    bgr = cv2.applyColorMap(ramp, cv2.COLORMAP_TURBO)[0]
    alpha = np.clip(np.arange(256) / 255.0 * 1.6, 0, 1) * 230
    return [
        (int(a) << 24) | (int(c[2]) << 16) | (int(c[1]) << 8) | int(c[0])
        for c, a in zip(bgr, alpha, strict=True)
    ]


HEAT_TABLE = _heat_table()


def heatmap_pixmap(probability_u16: np.ndarray) -> QPixmap:
    """The probability map as a translucent heat map (independent of the threshold)."""
    top = (probability_u16 >> 8).astype(np.uint8)
    return _indexed_pixmap(top, HEAT_TABLE)


def count_segments(mask: np.ndarray) -> int:
    """Number of separate crack regions (8-connected components, background excluded)."""
    if not mask.any():
        return 0
    n, _ = cv2.connectedComponents(mask.view(np.uint8), connectivity=8)
    return int(n) - 1
