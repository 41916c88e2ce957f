"""Decoding photos and thumbnails in background tasks, never on the GUI thread.

Photos come back as numpy arrays already in the screen's 32-bit layout (converted with cv2,
which releases the GIL); the GUI thread wraps them as a pixmap without a copy
(layers.photo_pixmap). Thumbnails come back as small QImages. JPEG
thumbnails use PIL's draft mode (DCT scaling), a few ms even for a 24-megapixel photo.
A newer photo request replaces an unfinished one (the helper's latest-wins key), so a slow
photo never replaces a newer one.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from crackinspector.core.io.imageio import read_image

from .tasks import TaskRunner, one_line


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


class ImageLoader(QObject):
    """Thumbnails and full photos decoded by a two-thread task runner (gui/tasks.py)."""

    thumbnail_ready = Signal(object, QImage)  # path, image
    thumbnail_failed = Signal(object, str)  # path, reason
    photo_ready = Signal(object, object)  # path, BGRA uint8 (H, W, 4)
    photo_failed = Signal(object, str)  # path, reason

    def __init__(self, thumb_size: int = 160, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.thumb_size = thumb_size
        self.runner = TaskRunner("images", threads=2, parent=self)

    def request_thumbnail(self, path: Path) -> None:
        self.runner.start(
            load_thumbnail,
            path,
            self.thumb_size,
            key=("thumb", path),
            on_returned=lambda image: self.thumbnail_ready.emit(path, image),
            on_errored=lambda exc: self.thumbnail_failed.emit(path, one_line(exc)),
        )

    def request_photo(self, path: Path) -> None:
        """Decode `path` at full size; a newer request replaces an unfinished one."""
        self.runner.start(
            decode_photo,
            path,
            key="photo",
            priority=10,  # the photo on screen goes before thumbnails
            on_returned=lambda bgra: self.photo_ready.emit(path, bgra),
            on_errored=lambda exc: self.photo_failed.emit(path, one_line(exc)),
        )

    def cancel_thumbnails(self) -> None:
        """Forget thumbnails not yet decoded (a new folder was opened)."""
        for task in self.runner.tasks():
            if task.key != "photo":
                task.cancel()

    def shutdown(self) -> None:
        self.runner.shutdown()


def decode_photo(path: Path) -> np.ndarray:
    return rgb_to_bgra(read_image(path))
