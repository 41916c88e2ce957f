"""MeasurePanel (offscreen, real widgets) on real CrackForest masks."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from gui_support import _no_running_qthreads  # noqa: F401 - autouse leak check
from PySide6.QtCore import Qt

from crackinspector.core.analysis.calibration import (
    Calibration,
    FolderCalibration,
    save_calibration,
)
from crackinspector.core.analysis.measure import measure_mask
from crackinspector.core.io.imageio import read_mask
from crackinspector.gui.measure_panel import MeasurePanel, crack_highlight


@pytest.fixture()
def mask(crackforest) -> np.ndarray:
    return read_mask(crackforest / "masks" / "081.png")


@pytest.fixture()
def panel(qtbot) -> MeasurePanel:
    p = MeasurePanel()
    qtbot.addWidget(p)
    yield p
    p.shutdown()


def column(panel: MeasurePanel, name: str) -> list[str]:
    from crackinspector.gui.measure_panel import COLUMNS

    col = COLUMNS.index(name)
    return [panel.table.item(r, col).text() for r in range(panel.table.rowCount())]


def test_rows_and_totals_for_a_real_mask(panel, mask) -> None:
    m = measure_mask(mask)
    assert m.n_cracks >= 5
    panel.set_measurement(m)
    assert panel.table.rowCount() == m.n_cracks
    assert column(panel, "#") == [str(i) for i in range(1, m.n_cracks + 1)]
    assert panel.count_label.text() == str(m.n_cracks)
    assert f"{m.total_length_px:.1f} px" in panel.length_label.text()
    assert set(column(panel, "Length mm")) == {""}  # no calibration, no mm
    panel.set_measurement(measure_mask(mask), mm_per_px=0.5)
    lengths = [float(v) for v in column(panel, "Length mm")]
    assert lengths == pytest.approx([c.length_px * 0.5 for c in m.cracks], abs=0.01)
    panel.set_measurement(None)
    assert panel.table.rowCount() == 0 and panel.count_label.text() == "-"


def test_selecting_a_row_emits_crack_selected(panel, mask, qtbot) -> None:
    m = measure_mask(mask)
    panel.set_measurement(m)
    # sort by max width, widest first, then pick the top row: the widest crack
    from crackinspector.gui.measure_panel import COLUMNS

    panel.table.sortItems(COLUMNS.index("Max width px"), Qt.SortOrder.DescendingOrder)
    widest = max(m.cracks, key=lambda c: c.max_width_px)
    with qtbot.waitSignal(panel.crackSelected, timeout=2000) as sig:
        panel.table.selectRow(0)
    assert sig.args == [widest.index]
    other = next(i for i in range(m.n_cracks) if i != widest.index)
    with qtbot.waitSignal(panel.crackSelected, timeout=2000) as sig:
        panel.select_crack(other)
    assert sig.args == [other] and panel.selected_crack() == other
    with qtbot.waitSignal(panel.crackSelected, timeout=2000) as sig:
        panel.table.clearSelection()
    assert sig.args == [-1]


def test_crack_highlight_outlines_the_crack(mask) -> None:
    m = measure_mask(mask, mm_per_px=0.2)
    assert crack_highlight(m, -1) is None and crack_highlight(None, 0) is None
    for i, c in enumerate(m.cracks):
        h = crack_highlight(m, i)
        pts = np.concatenate(h.contours)
        assert np.all(m.labels[pts[:, 1], pts[:, 0]] == c.label)
        assert h.widest_point == c.widest_point and "mm" in h.label
        rect = h.painter_path().boundingRect()
        x, y, w, hh = c.bbox
        assert rect.left() == pytest.approx(x + 0.5) and rect.top() == pytest.approx(y + 0.5)
        assert rect.width() == pytest.approx(w - 1) and rect.height() == pytest.approx(hh - 1)


def test_background_measuring_uses_the_folder_calibration(
    panel, mask, crackforest, tmp_path, qtbot
):
    photo = tmp_path / "081.jpg"
    shutil.copy(crackforest / "images" / "081.jpg", photo)
    save_calibration(FolderCalibration(tmp_path, Calibration(0.25)))
    with qtbot.waitSignal(panel.measurementChanged, timeout=30_000) as sig:
        panel.measure_async(mask, photo)
    m = sig.args[0]
    assert m.mm_per_px == 0.25 and m.severity_scale.name == "concrete"
    assert panel.table.rowCount() == m.n_cracks
    assert panel.wait()


def test_typed_calibration_is_saved_with_the_photo(panel, mask, crackforest, tmp_path, qtbot):
    photo = tmp_path / "081.jpg"
    shutil.copy(crackforest / "images" / "081.jpg", photo)
    with qtbot.waitSignal(panel.measurementChanged, timeout=30_000):
        panel.measure_async(mask, photo)
    assert panel.measurement.mm_per_px is None
    panel.mm_spin.setValue(0.1)
    with qtbot.waitSignal(panel.calibrationChanged, timeout=2000) as sig:
        panel.save_button.click()
    assert sig.args == [photo, pytest.approx(0.1)]
    data = json.loads((tmp_path / ".crackinspector" / "calibration.json").read_text())
    assert data["images"]["081.jpg"]["mm_per_px"] == pytest.approx(0.1)
    assert panel.measurement.mm_per_px == pytest.approx(0.1)
    assert column(panel, "Length mm")[0] != ""
    # a reference line: 200 px = 10 mm -> 0.05 mm/px for the whole folder
    panel.scope_combo.setCurrentIndex(panel.scope_combo.findData("folder"))
    cal = panel.apply_reference_line((10, 10), (210, 10), 10.0, scope="folder")
    assert cal.mm_per_px == pytest.approx(0.05)
    data = json.loads((tmp_path / ".crackinspector" / "calibration.json").read_text())
    assert data["folder"]["method"] == "reference"
    assert panel.measurement.mm_per_px == pytest.approx(0.1)  # the image's own still wins


def test_mm_severity_without_calibration_is_refused(panel, mask) -> None:
    panel.set_measurement(measure_mask(mask))
    panel.scale_combo.setCurrentIndex(panel.scale_combo.findData("concrete"))
    assert "calibration" in panel.message.text()
    assert panel.scale_combo.currentData() == "auto"
    assert panel.measurement.severity_scale.name == "pixels"
    panel.scale_combo.setCurrentIndex(panel.scale_combo.findData("pixels"))
    assert panel.measurement.severity_scale.name == "pixels"
