# ruff: noqa: F811 - pytest fixtures imported from gui_support are parameters here
"""Editing masks in the viewer with real mouse and key events: brush, eraser, lasso fill and
erase, delete crack, reset, undo/redo, brush size; the store, measurements and threshold."""

from __future__ import annotations

import numpy as np
from gui_support import (  # noqa: F401 - fixtures
    _no_running_qthreads,
    make_window,
    photo_folder,
    wait_measured,
)
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QCursor
from review_support import click, drag, key, open_reviewing

from crackinspector.core.review import CORRECTED, UNREVIEWED


def measured_area(qtbot, window, path) -> int:
    wait_measured(qtbot, window, path)
    qtbot.waitUntil(lambda: not window.measurements.busy(), timeout=30_000)
    return window.measurements.measurement(path).crack_area_px


def area_now(window, path) -> int | None:
    """The crack area the panels show now (None while a measurement is pending)."""
    m = window.measurements.measurement(path)
    return None if m is None or window.measurements.busy() else m.crack_area_px


def test_brush_stroke_undo_redo_saved_and_measured(make_window, photo_folder, qtbot):
    window = make_window()
    first = open_reviewing(qtbot, window, photo_folder, wait_measured)
    review = window.review
    before = review.session.mask.copy()
    area_before = measured_area(qtbot, window, first)

    key(qtbot, window, Qt.Key.Key_E)  # brush
    assert review.tools.tool == "brush"
    assert not window.viewer.layer_visible("mask") and review.layer.isVisible()
    review.tools.set_radius(4)
    key(qtbot, window, Qt.Key.Key_BracketRight)  # [ ] size the brush, not the threshold
    assert review.tools.radius == 5.0 and window.state.threshold == 0.999
    drag(qtbot, window, [(60, 100), (120, 100), (180, 100), (240, 100)])

    mask = review.session.mask
    assert mask[100, 60:241].all() and mask[94, 100] == before[94, 100]
    assert not mask[100 + 7, 150] or before[107, 150]
    assert window.state.store.photo(first).status == CORRECTED
    assert window.state.review_status(first) == CORRECTED
    assert review.layer.mask_pixels() == int(mask.sum())
    # the layer was redrawn only around the stroke, never the whole 480 x 320 photo
    assert 0 < review.layer.pixels_written < 480 * 320 // 2
    qtbot.waitUntil(lambda: (area_now(window, first) or 0) > area_before, timeout=30_000)
    assert "edited by hand" in review.panel.edited_label.text()

    key(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # undo
    assert np.array_equal(review.session.mask, before)
    assert window.state.store.photo(first).status == UNREVIEWED
    qtbot.waitUntil(lambda: area_now(window, first) == area_before, timeout=30_000)
    key(
        qtbot,
        window,
        Qt.Key.Key_Z,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )  # redo
    assert review.session.mask[100, 60:241].all()
    assert window.state.store.photo(first).status == CORRECTED

    # the threshold slider changes the model's mask, never the edited one
    edited = review.session.mask.copy()
    key(qtbot, window, Qt.Key.Key_V)  # back to panning: [ ] move the threshold again
    key(qtbot, window, Qt.Key.Key_BracketLeft)
    assert window.state.threshold < 0.999
    assert np.array_equal(review.session.mask, edited)
    assert review.layer.isVisible()  # the edit still shows instead of the model's mask

    review.panel.reset_button.click()  # reset to model
    assert not review.session.edited
    assert window.state.store.photo(first).status == UNREVIEWED


def test_eraser_lasso_delete_crack_through_the_mouse(make_window, photo_folder, qtbot):
    window = make_window()
    first = open_reviewing(qtbot, window, photo_folder, wait_measured)
    review = window.review
    s = review.session
    base = s.mask.copy()

    key(qtbot, window, Qt.Key.Key_G)  # lasso fill: a 100 x 60 box
    drag(qtbot, window, [(50, 50), (150, 50), (150, 110), (50, 110)])
    assert s.mask[55:105, 55:145].all()
    assert s.mask[40, 100] == base[40, 100] and s.mask[120, 100] == base[120, 100]

    key(qtbot, window, Qt.Key.Key_G, Qt.KeyboardModifier.ShiftModifier)  # lasso erase
    assert review.tools.tool == "lasso_erase"
    drag(qtbot, window, [(90, 40), (110, 40), (110, 120), (90, 120)])
    assert not s.mask[50:110, 92:108].any()
    assert s.mask[80, 60] and s.mask[80, 140]  # two pieces left

    key(qtbot, window, Qt.Key.Key_E, Qt.KeyboardModifier.ShiftModifier)  # eraser
    assert review.tools.tool == "eraser"
    review.tools.set_radius(3)
    drag(qtbot, window, [(60, 60), (60, 100)])
    assert not s.mask[62:98, 60].any() and s.mask[80, 70]

    key(qtbot, window, Qt.Key.Key_D)  # delete the crack under the click
    click(qtbot, window, 140, 80)
    assert not s.mask[55:105, 112:145].any()  # the right piece is gone whole
    assert s.mask[80, 70]  # the left one stays
    assert window.state.store.photo(first).status == CORRECTED

    # every step is undoable, back to the model's mask
    for _ in range(4):
        review.undo()
    assert np.array_equal(s.mask, base)
    assert window.state.store.photo(first).status == UNREVIEWED


def test_brush_size_by_ctrl_wheel_and_true_size_outline(make_window, photo_folder, qtbot):
    window = make_window()
    open_reviewing(qtbot, window, photo_folder, wait_measured)
    review, vp = window.review, window.viewer.viewport()
    key(qtbot, window, Qt.Key.Key_E)
    review.tools.set_radius(8)
    for zoom in (1.0, 4.0):
        window.viewer.set_zoom(zoom)
        window.viewer.centerOn(100, 100)
        qtbot.mouseMove(vp, window.viewer.mapFromScene(QPointF(100, 100)))
        item = review.tools.cursor_item
        assert item.isVisible()
        rect = item.rect()
        assert rect.width() == 16.0  # image pixels, whatever the zoom
        under = window.viewer.mapToScene(vp.mapFromGlobal(QCursor.pos()))
        centre = rect.center()
        assert abs(centre.x() - 100) <= 2 and abs(centre.y() - 100) <= 2, (centre, under)
        on_screen = window.viewer.mapFromScene(rect).boundingRect().width()
        assert abs(on_screen - 16 * zoom) <= 2
    from PySide6.QtGui import QWheelEvent

    pos = window.viewer.mapFromScene(QPointF(100, 100))
    event = QWheelEvent(
        QPointF(pos),
        QPointF(vp.mapToGlobal(pos)),
        QPoint(0, 0),
        QPoint(0, 120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.ControlModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    zoom = window.viewer.zoom()
    from PySide6.QtWidgets import QApplication

    QApplication.sendEvent(vp, event)
    assert review.tools.radius == 10.0  # 8 x 1.25
    assert window.viewer.zoom() == zoom  # Ctrl+wheel sizes the brush, it does not zoom
    assert review.panel.size_spin.value() == 10.0
