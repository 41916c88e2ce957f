"""Decoding photos and thumbnails in a small thread pool, never on the GUI thread.

Photos come back as numpy arrays already in the screen's 32-bit layout (converted with cv2,
which releases the GIL); the GUI thread wraps them as a pixmap without a copy
(layers.photo_pixmap). Thumbnails come back as small QImages. JPEG
thumbnails use PIL's draft mode (DCT scaling), a few ms even for a 24-megapixel photo.
Requests carry a generation number so a slow photo never replaces a newer one.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtGui import QImage

from crackinspector.core.io.imageio import read_image

from .worker import one_line, register_pool


def rgb_to_bgra(rgb: np.ndarray) -> np.ndarray:
    """RGB uint8 (H, W, 3) to the memory layout of QImage.Format_RGB32, with cv2 (no GIL).

    Qt's own conversions and copies hold the GIL when called from Python: ~100 ms on a
    24 MP photo, during which the GUI thread is frozen even if the work is in a pool thread.
    """
    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGRA)


def qimage_from_rgb(rgb: np.ndarray) -> QImage:
    """A QImage owning its pixels (RGB32); for small images such as thumbnails."""
    bgra = rgb_to_bgra(rgb)
    h, w, _ = bgra.shape
    return QImage(bgra.data, w, h, bgra.strides[0], QImage.Format.Format_RGB32).copy()


def load_thumbnail(path: Path, size: int) -> QImage:
    with Image.open(path) as img:
        img.draft("RGB", (size, size))  # JPEG: decode at 1/2..1/8 scale directly
        img = ImageOps.exif_transpose(img)
        img.thumbnail((size, size), Image.Resampling.BILINEAR)
        rgb = np.asarray(img.convert("RGB"))
    return qimage_from_rgb(rgb)


class _Emitter(QObject):
    thumbnail_ready = Signal(object, QImage)  # path, image
    thumbnail_failed = Signal(object, str)
    photo_ready = Signal(object, int, object)  # path, generation, BGRA array
    photo_failed = Signal(object, int, str)


class _Task(QRunnable):
    def __init__(self, fn) -> None:
        super().__init__()
        self._fn = fn
        self.setAutoDelete(True)

    def run(self) -> None:
        self._fn()


class ImageLoader(QObject):
    """Thumbnails and full photos decoded in a private QThreadPool."""

    thumbnail_ready = Signal(object, QImage)
    thumbnail_failed = Signal(object, str)
    photo_ready = Signal(object, int, object)  # path, generation, BGRA uint8 (H, W, 4)
    photo_failed = Signal(object, int, str)

    def __init__(self, thumb_size: int = 160, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.thumb_size = thumb_size
        self.pool = register_pool(QThreadPool(self))
        self.pool.setMaxThreadCount(2)
        self._emitter = _Emitter()
        self._emitter.thumbnail_ready.connect(self.thumbnail_ready)
        self._emitter.thumbnail_failed.connect(self.thumbnail_failed)
        self._emitter.photo_ready.connect(self.photo_ready)
        self._emitter.photo_failed.connect(self.photo_failed)
        self._generation = 0
        self._closed = False

    def request_thumbnail(self, path: Path) -> None:
        if self._closed:
            return
        emitter, size = self._emitter, self.thumb_size

        def work() -> None:
            try:
                emitter.thumbnail_ready.emit(path, load_thumbnail(path, size))
            except Exception as exc:  # any unreadable file gets a 'broken' thumbnail
                emitter.thumbnail_failed.emit(path, one_line(exc))

        self.pool.start(_Task(work), priority=0)

    def request_photo(self, path: Path) -> int:
        """Decode `path` at full size; returns the generation its signal will carry."""
        self._generation += 1
        generation = self._generation
        if self._closed:
            return generation
        emitter = self._emitter

        def work() -> None:
            try:
                emitter.photo_ready.emit(path, generation, rgb_to_bgra(read_image(path)))
            except Exception as exc:
                emitter.photo_failed.emit(path, generation, one_line(exc))

        self.pool.start(_Task(work), priority=10)  # the photo on screen goes first
        return generation

    @property
    def generation(self) -> int:
        return self._generation

    def cancel_thumbnails(self) -> None:
        """Forget thumbnails not yet started (a new folder was opened)."""
        self.pool.clear()

    def shutdown(self) -> None:
        self._closed = True
        self.pool.clear()
        self.pool.waitForDone()
