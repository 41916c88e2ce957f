"""Decoding photos and thumbnails in a small thread pool, never on the GUI thread.

Workers produce QImage (safe off the GUI thread, unlike QPixmap) already converted to the
screen's 32-bit format, so the GUI thread's QPixmap.fromImage is a plain copy. JPEG
thumbnails use PIL's draft mode (DCT scaling), a few ms even for a 24-megapixel photo.
Requests carry a generation number so a slow photo never replaces a newer one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtGui import QImage

from crackinspector.core.imageio import read_image

from .worker import one_line, register_pool


def qimage_from_rgb(rgb: np.ndarray) -> QImage:
    """A QImage owning its pixels (RGB32) from an RGB uint8 array."""
    rgb = np.ascontiguousarray(rgb)
    h, w, _ = rgb.shape
    view = QImage(rgb.data, w, h, rgb.strides[0], QImage.Format.Format_RGB888)
    return view.convertToFormat(QImage.Format.Format_RGB32)


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
    photo_ready = Signal(object, int, QImage)  # path, generation, image
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
    photo_ready = Signal(object, int, QImage)
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
                emitter.photo_ready.emit(path, generation, qimage_from_rgb(read_image(path)))
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
