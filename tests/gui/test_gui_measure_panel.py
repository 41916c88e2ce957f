"""MeasurePanel (offscreen, real widgets) on real CrackForest masks, fed by the real
application state and Measurements service (the shared analysis function)."""

from __future__ import annotations

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
from crackinspector.core.model.registry import resolve
from crackinspector.gui.measure_panel import MeasurePanel, crack_highlight
from crackinspector.gui.measurements import Measurements
from crackinspector.gui.results import AnalysisResult
from crackinspector.gui.state import AppState


@pytest.fixture()
def mask(crackforest) -> np.ndarray:
    return read_mask(crackforest / "masks" / "081.png")


@pytest.fixture()
def photo(tmp_path, crackforest):
    path = tmp_path / "081.jpg"
    shutil.copy(crackforest / "images" / "081.jpg", path)
    return path


@pytest.fixture()
def parts(qtbot, mask, photo, tiny_model_path):
    """State, Measurements and panel, with the ground-truth mask as the 'probability map'."""
    result = AnalysisResult(
        photo, resolve(tiny_model_path), mask.astype(np.uint16) * 65535, 0.0, "inference"
    )
    state = AppState()
    measurements = Measurements(state, lambda p: result if p == photo else None)
    p = MeasurePanel(state, measurements)
    qtbot.addWidget(p)
    state.set_folder(photo.parent, [photo])
    yield state, measurements, p
    measurements.shutdown()


@pytest.fixture()
def panel(parts) -> MeasurePanel:
    return parts[2]


def show(qtbot, state, panel, photo):
    with qtbot.waitSignal(panel.measurementChanged, timeout=30_000, check_params_cb=bool):
        state.set_current(photo)
    return panel.measurement


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
    calibrated = measure_mask(mask, mm_per_px=0.5)  # its own crack order (mm severity)
    panel.set_measurement(calibrated)
    lengths = [float(v) for v in column(panel, "Length mm")]
    assert lengths == pytest.approx([c.length_px * 0.5 for c in calibrated.cracks], abs=0.01)
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


def test_the_panel_shows_the_shared_analysis_with_the_folder_calibration(parts, mask, photo, qtbot):
    state, measurements, panel = parts
    save_calibration(FolderCalibration(photo.parent, Calibration(0.25)))
    state.set_folder(photo.parent, [photo])  # re-reads calibration files
    m = show(qtbot, state, panel, photo)
    assert m.mm_per_px == 0.25 and m.severity_scale.name == "concrete"
    assert panel.table.rowCount() == m.n_cracks == measure_mask(mask, 0.25).n_cracks
    assert measurements.summary(photo).crack_area_pct == m.crack_area_pct


def test_typed_calibration_is_saved_with_the_photo(parts, photo, qtbot):
    """Into the folder's inspection store (issue 10), where the state reads it back."""
    state, _, panel = parts
    assert state.store is not None and not state.store.read_only
    assert show(qtbot, state, panel, photo).mm_per_px is None
    panel.mm_spin.setValue(0.1)
    with qtbot.waitSignal(state.calibration_changed, timeout=2000) as sig:
        panel.save_button.click()
    assert sig.args == [photo]
    own, source = state.store.calibration_for(photo)
    assert source == "image" and own.mm_per_px == pytest.approx(0.1)
    qtbot.waitUntil(
        lambda: panel.measurement is not None and panel.measurement.mm_per_px == 0.1,
        timeout=30_000,
    )
    assert column(panel, "Length mm")[0] != ""
    # a reference line: 200 px = 10 mm -> 0.05 mm/px for the whole folder
    panel.scope_combo.setCurrentIndex(panel.scope_combo.findData("folder"))
    cal = panel.apply_reference_line((10, 10), (210, 10), 10.0, scope="folder")
    assert cal.mm_per_px == pytest.approx(0.05)
    assert state.store.folder_calibration().method == "reference"
    assert state.mm_per_px(photo) == pytest.approx(0.1)  # the image's own still wins


def test_mm_severity_without_calibration_falls_back_to_pixels(parts, photo, qtbot) -> None:
    state, _, panel = parts
    show(qtbot, state, panel, photo)
    panel.scale_combo.setCurrentIndex(panel.scale_combo.findData("concrete"))
    assert "calibration" in panel.message.text()
    assert state.severity == "concrete"
    qtbot.wait(100)
    assert panel.measurement.severity_scale.name == "pixels"


def test_minimum_crack_size_goes_to_the_state_and_re_measures(parts, mask, photo, qtbot):
    state, _, panel = parts
    before = show(qtbot, state, panel, photo).n_cracks
    with qtbot.waitSignal(panel.measurementChanged, timeout=30_000, check_params_cb=bool):
        panel.min_area_spin.setValue(400)
    assert state.min_area_px == 400
    assert panel.measurement.n_cracks == measure_mask(mask, None, 400).n_cracks < before
