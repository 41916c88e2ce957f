"""Saving what a widget shows as a PNG, atomically (screenshots for the README and tests)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QBuffer, QIODevice
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QWidget

from crackinspector.core.io.atomic import atomic_write_bytes


def save_widget_png(widget: QWidget, path: str | Path) -> QPixmap:
    """Grab `widget`, write it to `path` as PNG, and return the pixmap."""
    pixmap = widget.grab()
    buf = QBuffer()
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    pixmap.save(buf, "PNG")
    atomic_write_bytes(path, bytes(buf.data().data()))
    return pixmap
