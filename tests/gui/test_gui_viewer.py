"""The viewer and the layer rendering on a real photo, checked on rendered pixels."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from gui_support import _no_running_qthreads  # noqa: F401 - fixture
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QImage, QWheelEvent

from crackinspector.core.analysis.analyse import threshold_mask
from crackinspector.core.io.cache import to_u16
from crackinspector.core.io.imageio import read_image, read_mask
from crackinspector.gui import layers
from crackinspector.gui.viewer import ImageViewer


@pytest.fixture()
def photo(crackforest: Path) -> np.ndarray:
    return read_image(crackforest / "images" / "010.jpg")


@pytest.fixture()
def probability(crackforest: Path) -> np.ndarray:
    """uint16 probability map made from the photo's real ground-truth mask."""
    mask = read_mask(crackforest / "masks" / "010.png").astype(np.float32)
    return to_u16(np.clip(cv2.GaussianBlur(mask, (9, 9), 2.5) * 1.2, 0, 1))


@pytest.fixture()
def viewer(qtbot, photo) -> ImageViewer:
    v = ImageViewer()
    qtbot.addWidget(v)
    v.resize(600, 420)
    v.show()
    qtbot.waitExposed(v)
    v.set_photo(layers.rgb_pixmap(photo))
    return v


def pixels(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    buf = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return buf[:, : image.width() * 3].reshape(image.height(), image.width(), 3).copy()


def argb(pixmap) -> np.ndarray:
    image = pixmap.toImage().convertToFormat(QImage.Format.Format_ARGB32)
    buf = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return buf[:, : image.width() * 4].reshape(image.height(), image.width(), 4).copy()  # BGRA


def test_mask_layer_is_exactly_the_thresholded_map(qtbot, probability):
    for t in (0.2, 0.5, 0.8):
        mask = threshold_mask(probability, t)
        bgra = argb(layers.mask_pixmap(mask, "#00ff00"))
        drawn = bgra[..., 3] > 0
        assert np.array_equal(drawn, mask)
        assert (bgra[drawn][:, :3] == (0, 255, 0)).all()  # BGR order in ARGB32 memory


def test_heatmap_is_transparent_where_there_is_no_crack(qtbot, probability):
    bgra = argb(layers.heatmap_pixmap(probability))
    assert (bgra[probability == 0][:, 3] == 0).all()
    assert bgra[probability == probability.max()][:, 3].min() > 150


def test_outlines_are_the_region_borders(qtbot):
    mask = np.zeros((120, 200), bool)
    mask[10:30, 10:60] = True
    mask[50:52, 20:180] = True
    mask[80:110, 150:190] = True
    edges = layers.outline_mask(mask)
    assert edges[10, 30] and not edges[20, 30]  # border yes, interior no
    assert edges.sum() < mask.sum()


def test_zoom_fit_and_actual_size(viewer, photo):
    h, w = photo.shape[:2]
    viewer.fit()
    fitted = viewer.zoom()
    assert fitted == pytest.approx(
        min(viewer.viewport().width() / w, viewer.viewport().height() / h), rel=0.05
    )
    viewer.zoom_in()
    assert viewer.zoom() == pytest.approx(fitted * 1.25)
    assert not viewer.is_fitted()
    viewer.actual_size()
    assert viewer.zoom() == pytest.approx(1.0)
    viewer.zoom_out()
    assert viewer.zoom() == pytest.approx(0.8)


def test_wheel_zooms_about_the_cursor(viewer, qtbot):
    viewer.set_zoom(2.0)  # image larger than the view, so it can scroll
    spot = QPoint(150, 100)
    before = viewer.mapToScene(spot)
    event = QWheelEvent(
        QPointF(spot),
        QPointF(viewer.viewport().mapToGlobal(spot)),
        QPoint(0, 0),
        QPoint(0, 120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    viewer.wheelEvent(event)
    assert viewer.zoom() == pytest.approx(2.5)
    after = viewer.mapToScene(spot)
    assert abs(after.x() - before.x()) < 2 and abs(after.y() - before.y()) < 2


def test_swipe_compare_shows_photo_left_and_overlay_right(viewer, qtbot, photo, probability):
    viewer.set_layer("mask", layers.mask_pixmap(np.ones(probability.shape, bool), "#0000ff"))
    viewer.set_layer_opacity("mask", 1.0)
    viewer.set_compare(True)
    viewer.set_divider(0.5)
    assert viewer.divider_fraction() == pytest.approx(0.5)
    qtbot.wait(50)
    shot = pixels(viewer.grab().toImage())
    h, w = photo.shape[:2]
    left = viewer.mapFromScene(QPointF(w * 0.25, h / 2))
    right = viewer.mapFromScene(QPointF(w * 0.75, h / 2))
    scale = viewer.devicePixelRatioF()
    lpx = shot[int(left.y() * scale), int(left.x() * scale)]
    rpx = shot[int(right.y() * scale), int(right.x() * scale)]
    assert tuple(rpx) == (0, 0, 255)  # overlay (opaque blue) on the right
    assert tuple(lpx) != (0, 0, 255)  # photo on the left
    viewer.set_compare(False)
    qtbot.wait(50)
    shot = pixels(viewer.grab().toImage())
    assert tuple(shot[int(left.y() * scale), int(left.x() * scale)]) == (0, 0, 255)


def test_divider_drag_is_clamped_to_the_image(viewer, photo):
    viewer.set_compare(True)
    viewer._divider.setPos(10_000, 55)
    assert viewer.divider_fraction() == pytest.approx(1.0)
    assert viewer._divider.pos().y() == 0
    viewer._divider.setPos(-50, 0)
    assert viewer.divider_fraction() == 0.0
