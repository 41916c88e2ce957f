"""Helpers for the review GUI tests: real mouse gestures on the viewer in image pixels."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QPoint, QPointF, Qt


def view_point(window, x: float, y: float) -> QPoint:
    """The viewport position of image pixel (x, y)."""
    return window.viewer.mapFromScene(QPointF(x, y))


def drag(qtbot, window, points: Sequence[tuple[float, float]]) -> None:
    """Press at the first point, move through the others, release at the last."""
    vp = window.viewer.viewport()
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=view_point(window, *points[0]))
    for p in points[1:]:
        qtbot.mouseMove(vp, view_point(window, *p))
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=view_point(window, *points[-1]))


def click(qtbot, window, x: float, y: float) -> None:
    vp = window.viewer.viewport()
    qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=view_point(window, x, y))


def key(qtbot, window, k, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    """A key press on the viewer, where the inspector's focus is while reviewing."""
    qtbot.keyClick(window.viewer, k, modifier)


def open_reviewing(qtbot, window, folder, wait_measured, threshold: float = 0.999):
    """Open `folder`, wait for the first photo measured; a high threshold makes the tiny
    untrained model's mask (nearly) empty so every crack pixel is the test's own."""
    window.open_path(folder)
    first = window.state.images[0]
    wait_measured(qtbot, window, first)
    window.state.set_threshold(threshold)
    wait_measured(qtbot, window, first)
    qtbot.waitUntil(lambda: window.review.session is not None, timeout=30_000)
    window.viewer.actual_size()
    window.viewer.centerOn(0, 0)
    return first
