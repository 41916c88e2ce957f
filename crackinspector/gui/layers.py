"""Numpy arrays to pixmaps for the viewer's layers, cheaply enough for 24-megapixel photos.

On-screen drawing only: burned-in overlays of exports and reports are drawn by the core's
report renderer, and crack counts come from core.analysis.analyse (gui/measurements.py).

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


def photo_pixmap(bgra: np.ndarray) -> QPixmap:
    """A pixmap of a BGRA (RGB32 layout) photo array. Qt gets its own copy: a pixmap sharing
    a numpy buffer crashed the GUI thread when the array was freed before a repaint."""
    h, w, _ = bgra.shape
    image = QImage(bgra.data, w, h, bgra.strides[0], QImage.Format.Format_RGB32)
    return QPixmap.fromImage(image.copy())


def mask_table(color: QColor | str) -> list[int]:
    """Colour table for a 0/1 mask: transparent, then `color` opaque."""
    return [0, QColor(color).rgb() | 0xFF000000]


def mask_pixmap(mask: np.ndarray, color: QColor | str) -> QPixmap:
    """Crack pixels in `color`, everything else transparent."""
    return _indexed_pixmap(mask.view(np.uint8), mask_table(color))


def outline_mask(mask: np.ndarray) -> np.ndarray:
    """The inner boundary pixels of each crack region (1 px; thicker on big photos so they
    stay visible when zoomed out)."""
    m = mask.view(np.uint8)
    width = max(1, round(max(m.shape) / 1600))
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (2 * width + 1, 2 * width + 1))
    inner = cv2.erode(m, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0)
    return m > inner


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


def layer_indices(name: str, probability_u16: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The uint8 index image of layer `name` (to be coloured by its table)."""
    if name == "heatmap":
        return (probability_u16 >> 8).astype(np.uint8)
    if name == "outlines":
        return outline_mask(mask).view(np.uint8)
    return mask.view(np.uint8)


def bgra_lut(table: list[int]) -> np.ndarray:
    """A colour table as a premultiplied BGRA lookup table for cv2.LUT, shape (256, 1, 4)."""
    argb = np.zeros(256, np.uint32)
    argb[: len(table)] = np.asarray(table, np.uint32)
    a = (argb >> 24).astype(np.float32)
    lut = np.zeros((256, 1, 4), np.uint8)
    for channel, shift in ((0, 0), (1, 8), (2, 16)):  # B, G, R premultiplied by alpha
        lut[:, 0, channel] = np.round(((argb >> shift) & 0xFF) * a / 255.0).astype(np.uint8)
    lut[:, 0, 3] = a.astype(np.uint8)
    return lut


def indexed_to_bgra(indices: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """(H, W) indices to premultiplied BGRA (H, W, 4) with cv2 only, so the GIL is released
    and a worker thread can do it without stalling the GUI thread."""
    return cv2.LUT(cv2.merge([indices, indices, indices, indices]), lut)


def shared_pixmap(bgra: np.ndarray) -> QPixmap:
    """A pixmap of a premultiplied BGRA array. Qt gets its own copy (see photo_pixmap): the
    zero-copy version left pixmaps over freed numpy buffers."""
    h, w, _ = bgra.shape
    image = QImage(bgra.data, w, h, bgra.strides[0], QImage.Format.Format_ARGB32_Premultiplied)
    return QPixmap.fromImage(image.copy())
