# ruff: noqa: F811 - pytest fixtures imported from gui_support are parameters here
"""The main window with real photos and the real tiny model: open, navigate, overlay, cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from gui_support import (  # noqa: F401 - fixtures
    _no_running_qthreads,
    make_window,
    photo_folder,
    wait_idle,
    wait_measured,
    wait_shown,
    wait_status,
)
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QImage
from PySide6.QtWidgets import QApplication, QMessageBox

from crackinspector.core.analysis.analyse import analyse
from crackinspector.core.io.cache import threshold_u16
from crackinspector.gui.actions import ShortcutsDialog, shortcut_rows
from crackinspector.gui.image_list import EntryRole
from crackinspector.gui.results import Status


def names(window) -> list[str]:
    return [p.name for p in window.state.images]


def opaque_pixels(pixmap) -> int:
    """Pixels with non-zero alpha in a layer pixmap, counted from its real rendered image."""
    image = pixmap.toImage().convertToFormat(QImage.Format.Format_ARGB32)
    buf = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), -1)
    argb = buf[:, : image.width() * 4].reshape(image.height(), image.width(), 4)
    return int((argb[..., 3] > 0).sum())


def test_open_folder_lists_images_and_analyses_the_viewed_one(make_window, photo_folder, qtbot):
    window = make_window()
    assert window.open_path(photo_folder)
    assert names(window) == ["001.jpg", "002.jpg", "003.jpg", "004.jpg", "zz_broken.jpg"]
    first = photo_folder / "001.jpg"
    wait_shown(qtbot, window, first)

    assert window.controller.status(first) == Status.DONE
    assert window.viewer.has_photo()
    mask_layer = window.viewer.layer_pixmap("mask")
    assert (mask_layer.width(), mask_layer.height()) == (480, 320)
    # Only the image on screen is analysed without being asked.
    assert [window.controller.status(p) for p in window.state.images[1:]] == [Status.NEW] * 4
    m = wait_measured(qtbot, window, first)
    info = window.info_panel
    assert info.text("file") == "001.jpg"
    assert info.text("size").startswith("480 × 320")
    assert info.text("crack") == f"{m.crack_area_pct:.2f} %"
    assert int(info.text("cracks")) == m.n_cracks
    assert info.text("model") == "tiny-resnet18"
    assert window.status.device_label.text().endswith("tiny-resnet18")
    assert window.windowTitle().startswith("photos")


def test_keyboard_navigation(make_window, photo_folder, qtbot):
    window = make_window()
    window.open_path(photo_folder)
    window.activateWindow()
    target = window.viewer
    target.setFocus()
    qtbot.keyClick(target, Qt.Key.Key_Right)
    assert window.state.current.name == "002.jpg"
    qtbot.keyClick(target, Qt.Key.Key_PageDown)
    assert window.state.current.name == "003.jpg"
    qtbot.keyClick(target, Qt.Key.Key_Left)
    assert window.state.current.name == "002.jpg"
    qtbot.keyClick(target, Qt.Key.Key_End)
    assert window.state.current.name == "zz_broken.jpg"
    qtbot.keyClick(target, Qt.Key.Key_Right)  # stays on the last image
    assert window.state.current.name == "zz_broken.jpg"
    qtbot.keyClick(target, Qt.Key.Key_Home)
    assert window.state.current.name == "001.jpg"
    selected = window.list_view.selectionModel().currentIndex()
    assert selected.data(EntryRole).path.name == "001.jpg"
    # zoom keys act on the viewer
    wait_shown(qtbot, window, photo_folder / "001.jpg")
    qtbot.keyClick(target, Qt.Key.Key_1)
    assert window.viewer.zoom() == pytest.approx(1.0)
    qtbot.keyClick(target, Qt.Key.Key_Plus)
    assert window.viewer.zoom() == pytest.approx(1.25)
    qtbot.keyClick(target, Qt.Key.Key_0)  # F is "false alarm" (review keys)
    assert window.viewer.is_fitted()


def test_overlay_toggle_and_rethreshold_without_new_inference(make_window, photo_folder, qtbot):
    window = make_window()
    window.open_path(photo_folder)
    first = photo_folder / "001.jpg"
    wait_shown(qtbot, window, first)
    inferences = window.controller.engine.inference_count
    assert inferences == 1

    window.activateWindow()
    qtbot.keyClick(window.viewer, Qt.Key.Key_O)
    assert not window.viewer.overlay_visible()
    qtbot.keyClick(window.viewer, Qt.Key.Key_O)
    assert window.viewer.overlay_visible()

    probability = window.overlay.result.probability
    counts = {}
    for t in (0.3, 0.5, 0.7):
        before = window.viewer.layer_pixmap("mask").cacheKey()
        window.layers_panel.threshold_spin.setValue(t)
        assert window.overlay.threshold == pytest.approx(t)
        expected = int((probability >= threshold_u16(t)).sum())
        assert int(window.overlay.mask().sum()) == expected
        layer = window.viewer.layer_pixmap("mask")
        if t != 0.5:  # 0.5 is the starting threshold: nothing to redraw
            assert layer.cacheKey() != before
        assert opaque_pixels(layer) == expected  # what is drawn is exactly the mask
        counts[t] = expected
        m = wait_measured(qtbot, window, first)  # the badge's numbers follow the threshold
        settings = window.state.analysis_settings(first)
        assert settings.threshold == pytest.approx(t)
        assert window.measurements.summary(first).crack_area_pct == pytest.approx(
            analyse(probability, settings).crack_area_pct
        )
        assert m.crack_area_pct == window.measurements.summary(first).crack_area_pct
    assert counts[0.3] > counts[0.5] > counts[0.7]
    assert window.controller.engine.inference_count == inferences  # no new inference

    # layer switches: heat map and outlines render on demand; mask can be hidden
    window.layers_panel.checks["heatmap"].setChecked(True)
    assert not window.viewer.layer_pixmap("heatmap").isNull()
    window.layers_panel.checks["outlines"].setChecked(True)
    outlines = opaque_pixels(window.viewer.layer_pixmap("outlines"))
    assert 0 < outlines <= counts[0.7] + 2 * probability.shape[0] * 4
    qtbot.keyClick(window.viewer, Qt.Key.Key_M)
    assert not window.viewer.layer_visible("mask")
    window.layers_panel.opacity["mask"].setValue(25)
    assert window.viewer._layers["mask"].opacity() == pytest.approx(0.25)


def test_failed_badge_names_the_reason_and_the_batch_goes_on(make_window, photo_folder, qtbot):
    window = make_window()
    window.open_path(photo_folder)
    window.commands.analyse_all.trigger()
    broken = photo_folder / "zz_broken.jpg"
    wait_status(qtbot, window, broken, Status.FAILED)
    wait_idle(qtbot, window)
    statuses = [window.controller.status(p) for p in window.state.images]
    assert statuses == [Status.DONE] * 4 + [Status.FAILED]
    reason = window.controller.error(broken)
    assert "truncated" in reason or "corrupt" in reason
    tooltip = window.list_model.index(4).data(Qt.ItemDataRole.ToolTipRole)
    assert reason in tooltip and "failed" in tooltip
    assert not [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox)]
    window.state.set_current(broken)  # viewing it shows the problem instead of crashing
    qtbot.waitUntil(lambda: "cannot open" in window.info_panel.text("status"), timeout=10_000)
    assert not window.viewer.has_photo()


def test_revisit_and_reopen_hit_the_cache(make_window, photo_folder, qtbot, tmp_path):
    cache_dir = tmp_path / "shared-cache"
    window = make_window(cache_dir=cache_dir)
    window.open_path(photo_folder)
    first, second = photo_folder / "001.jpg", photo_folder / "002.jpg"
    wait_shown(qtbot, window, first)
    window.state.step(1)
    wait_shown(qtbot, window, second)
    window.state.step(-1)
    wait_shown(qtbot, window, first)
    assert window.overlay.result.source == "inference"  # the same object, from memory
    assert window.controller.stats["memory_hits"] >= 1
    assert window.controller.engine.inference_count == 2
    window.close()

    again = make_window(cache_dir=cache_dir)  # new window: empty memory, same disk cache
    again.open_path(photo_folder)
    wait_shown(qtbot, again, first)
    assert again.overlay.result.source == "disk cache"
    assert again.controller.engine.inference_count == 0
    assert again.controller.stats["disk_hits"] == 1
    assert "cached" in again.info_panel.text("time")


def test_settings_are_remembered(make_window, photo_folder, qtbot):
    window = make_window()
    window.open_path(photo_folder)
    window.layers_panel.threshold_spin.setValue(0.42)
    window.layers_panel.opacity["mask"].setValue(30)
    window.layers_panel.checks["outlines"].setChecked(True)
    window.close()

    again = make_window()
    assert again.layers_panel.threshold() == pytest.approx(0.42)
    assert again.overlay.threshold == pytest.approx(0.42)
    assert again.overlay.opacity["mask"] == pytest.approx(0.30)
    assert again.layers_panel.checks["outlines"].isChecked()
    assert again.settings.get("folders/last") == str(photo_folder.resolve())
    again.recent_menu.aboutToShow.emit()
    assert str(photo_folder.resolve()) in [a.text() for a in again.recent_menu.actions()]
    again.layers_panel.reset_button.click()  # back to the model card's threshold
    assert again.layers_panel.threshold() == pytest.approx(0.5)
    assert again.settings.get("view/threshold") is None


def test_drop_a_folder_opens_it(make_window, photo_folder, qtbot):
    window = make_window()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(photo_folder / "003.jpg"))])
    event = QDropEvent(
        QPointF(QPoint(50, 50)),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.dropEvent(event)
    assert window.state.folder == photo_folder
    assert window.state.current.name == "003.jpg"
    wait_shown(qtbot, window, photo_folder / "003.jpg")


def test_shortcuts_help_lists_the_real_keys(make_window, qtbot):
    window = make_window()
    rows = dict(shortcut_rows(window.commands))
    assert "Right" in rows["Next image"] and "Left" in rows["Previous image"]
    assert rows["Show overlay"] == "O"
    assert "1" in rows["Actual size (1:1)"]
    dialog = ShortcutsDialog(window.commands, window)
    qtbot.addWidget(dialog)
    assert dialog.table.rowCount() == len(rows) >= 15


def test_missing_path_is_a_message_not_a_crash(make_window, tmp_path: Path):
    window = make_window()
    assert not window.open_path(tmp_path / "nowhere")
    assert "not found" in window.statusBar().currentMessage()


def test_big_photo_path_preview_then_full_size_off_thread(
    make_window, photo_folder, qtbot, monkeypatch
):
    """With a tiny preview limit, a CrackForest photo takes the code path of a 24 MP photo."""
    monkeypatch.setattr("crackinspector.gui.results.PREVIEW_PIXELS", 40_000)
    window = make_window()
    window.open_path(photo_folder)
    first = photo_folder / "001.jpg"
    wait_shown(qtbot, window, first)
    result = window.overlay.result
    assert result.preview_factor == 2 and result.preview.shape == (160, 240)
    # preview keeps every crack pixel of its block (max-pooling)
    assert result.preview.max() == result.probability.max()

    window.viewer.set_zoom(0.3)  # zoomed out: a screen pixel covers > 2 image pixels
    window.layers_panel.threshold_spin.setValue(0.55)
    assert window.overlay.drawn_factor("mask") == 2
    assert window.viewer.layer_pixmap("mask").width() == 240
    expected = int((result.probability >= threshold_u16(0.55)).sum())
    qtbot.wait(400)  # past the settle delay: still the preview, enough at this zoom
    assert window.overlay.drawn_factor("mask") == 2

    window.viewer.actual_size()  # zoomed in: full-size layers are swapped in
    qtbot.waitUntil(lambda: window.overlay.drawn_factor("mask") == 1, timeout=10_000)
    layer = window.viewer.layer_pixmap("mask")
    assert layer.width() == 480
    assert opaque_pixels(layer) == expected
