# ruff: noqa: F811 - pytest fixtures imported from gui_support are parameters here
"""Reference-line calibration drawn with the mouse, the inspection details dialog, the
severity class table (saved per inspection, the legend and the resolution sentence) and
the minimum-confidence filter."""

from __future__ import annotations

import pytest
from gui_support import (  # noqa: F401 - fixtures
    _no_running_qthreads,
    make_window,
    photo_folder,
    wait_measured,
)
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox
from review_support import drag, key, open_reviewing

from crackinspector.core.analysis.calibration import Calibration
from crackinspector.core.review import load_reviews


def ok(dialog) -> None:
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()


def test_reference_line_sets_the_scale_of_photo_or_folder(make_window, photo_folder, qtbot):
    window = make_window()
    first = open_reviewing(qtbot, window, photo_folder, wait_measured, threshold=0.5)
    key(qtbot, window, Qt.Key.Key_K)
    drag(qtbot, window, [(40, 50), (140, 50), (240, 50)])  # a 200 px line
    dialog = window.review.calibration_dialog()
    assert dialog is not None and dialog.isVisible()
    assert dialog.length_px == pytest.approx(200, abs=1.5)
    dialog.length.setValue(50.0)  # it is 50 mm long: 0.25 mm/px
    ok(dialog)
    mm = 50.0 / dialog.length_px
    store = window.state.store
    cal = store.photo_calibration(first)
    assert cal.mm_per_px == pytest.approx(mm) and cal.method == "reference"
    assert cal.reference["length_mm"] == 50.0
    assert window.state.mm_per_px(first) == pytest.approx(mm)
    assert window.state.mm_per_px(window.state.images[1]) is None
    m = wait_measured(qtbot, window, first)
    assert m.mm_per_px == pytest.approx(mm)
    assert not window.review.tools.line()  # the line goes with the dialog

    # the same for the whole folder
    drag(qtbot, window, [(40, 80), (140, 80)])
    dialog = window.review.calibration_dialog()
    dialog.length.setValue(10.0)
    dialog.scope.setCurrentIndex(dialog.scope.findData("folder"))
    ok(dialog)
    assert store.folder_calibration().mm_per_px == pytest.approx(10.0 / dialog.length_px)
    assert window.state.mm_per_px(window.state.images[1]) == pytest.approx(10.0 / dialog.length_px)
    # reports read it from the store too
    assert load_reviews(photo_folder).calibration_for(window.state.images[1])[1] == "folder"


def test_details_severity_table_resolution_and_confidence(make_window, photo_folder, qtbot):
    window = make_window()
    first = open_reviewing(qtbot, window, photo_folder, wait_measured, threshold=0.5)
    review = window.review

    dialog = review.open_details()
    for name, text in (("project", "Bridge A7"), ("element", "Pier 3"), ("inspector", "R. K.")):
        widget = dialog.fields[name]
        widget.clear()
        qtbot.keyClicks(widget, text)
    ok(dialog)
    info = window.state.store.info()
    assert (info.project, info.element, info.inspector) == ("Bridge A7", "Pier 3", "R. K.")

    # a calibration that cannot resolve the finest classes: the panel says so
    assert window.measure_panel.save_calibration(Calibration(0.5))
    qtbot.waitUntil(lambda: "cannot be told apart" in review.panel.resolution_label.text())
    assert "at 0.5 mm/px" in review.panel.resolution_label.text()
    assert [r[0] for r in review.panel.legend.rows] == [
        "hairline",
        "low",
        "moderate",
        "high",
        "severe",
    ]

    sev = review.open_severity()
    table = sev.table
    assert table.rowCount() == 5
    sev.unit.setCurrentText("mm")
    while table.rowCount() > 3:
        table.selectRow(table.rowCount() - 1)
        table.setCurrentCell(table.rowCount() - 1, 0)
        sev._remove_row()
    for row, (name, lower) in enumerate((("fine", "0"), ("open", "1.0"), ("wide", "2.5"))):
        table.item(row, 0).setText(name)
        table.item(row, 1).setText(lower)
    sev.set_color(2, "#8000ff")
    sev.name.setText("site table")
    ok(sev)
    saved = window.state.store.severity()
    assert saved.names == ("fine", "open", "wide") and saved.limits == (1.0, 2.5)
    assert saved.colors[2] == (128, 0, 255)
    assert window.state.analysis_settings(first).severity == saved
    assert window.measure_panel.scale_combo.currentData() == "custom"
    assert [r[0] for r in review.panel.legend.rows] == ["fine", "open", "wide"]
    assert review.panel.legend.rows[1][1] == "1 – 2.5 mm"
    # the legend over the viewer shows the same classes
    assert review.legend.isVisible() and "site table" in review.legend.text()
    assert all(name in review.legend.text() for name in ("fine", "open", "wide"))
    window.commands.toggle_overlay.setChecked(False)
    assert not review.legend.isVisible()
    window.commands.toggle_overlay.setChecked(True)
    assert review.panel.resolution_label.text() == ""  # 1 mm is two pixels: resolvable
    m = wait_measured(qtbot, window, first)
    assert set(m.severity_counts) <= {"fine", "open", "wide", "below resolution"}

    # a bad table is refused in the dialog with the reason, nothing saved
    sev = review.open_severity()
    sev.table.item(0, 1).setText("0.3")
    ok(sev)
    assert sev.isVisible() and "must start at 0" in sev.error.text()
    sev.reject()

    # minimum confidence next to the minimum size: applied by the one analysis function
    before = wait_measured(qtbot, window, first)
    window.measure_panel.min_confidence_spin.setValue(0.99)
    assert window.state.analysis_settings(first).min_confidence == 0.99
    after = wait_measured(qtbot, window, first)
    assert after.min_confidence == 0.99
    assert after.n_cracks + after.low_confidence_removed >= before.n_cracks
    assert after.n_cracks <= before.n_cracks
