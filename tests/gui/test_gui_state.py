"""The application state object: typed signals only on real changes, one analysis recipe."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from crackinspector.core.analysis.calibration import Calibration
from crackinspector.core.infer.options import InferenceOptions
from crackinspector.gui.state import UNREVIEWED, AppState


@pytest.fixture()
def photos(tmp_path: Path, crackforest: Path) -> list[Path]:
    out = []
    for name in ("001.jpg", "002.jpg", "003.jpg"):
        shutil.copy(crackforest / "images" / name, tmp_path / name)
        out.append(tmp_path / name)
    return out


def test_signals_fire_once_per_real_change(qtbot, photos):
    state = AppState()
    seen: list[tuple[str, object]] = []
    state.current_changed.connect(lambda p: seen.append(("current", p)))
    state.threshold_changed.connect(lambda t: seen.append(("threshold", t)))
    state.images_changed.connect(lambda ps: seen.append(("images", len(ps))))
    state.set_folder(photos[0].parent, photos)
    state.set_current(photos[0])
    state.set_current(photos[0])  # no change, no signal
    state.step(1)
    state.step(10)  # clamped to the last
    state.step(10)  # already there
    state.set_threshold(0.3)
    state.set_threshold(0.3)
    assert seen == [
        ("images", 3),
        ("current", photos[0]),
        ("current", photos[1]),
        ("current", photos[2]),
        ("threshold", 0.3),
    ]
    with pytest.raises(ValueError, match="not in the open folder"):
        state.set_current(photos[0].parent / "elsewhere.jpg")


def test_analysis_settings_follow_calibration_and_severity(qtbot, photos):
    state = AppState()
    state.set_folder(photos[0].parent, photos)
    state.set_threshold(0.42)
    s = state.analysis_settings(photos[0])
    assert (s.threshold, s.mm_per_px, s.severity.name) == (0.42, None, "pixels")

    changed: list[Path] = []
    state.calibration_changed.connect(changed.append)
    assert state.save_calibration(photos[0], Calibration(0.2)) == pytest.approx(0.2)
    assert changed == [photos[0]]
    s = state.analysis_settings(photos[0])
    assert s.mm_per_px == pytest.approx(0.2) and s.severity.unit == "mm"
    assert state.analysis_settings(photos[1]).mm_per_px is None

    state.set_severity("concrete")  # a mm scale: pixels for the uncalibrated photo
    assert state.analysis_settings(photos[0]).severity.name == "concrete"
    assert state.analysis_settings(photos[1]).severity.name == "pixels"
    with pytest.raises(ValueError):
        state.set_severity("no-such-scale")


def test_inference_options_and_review_placeholder(qtbot, photos):
    state = AppState()
    got: list[InferenceOptions] = []
    state.inference_changed.connect(got.append)
    state.set_inference(InferenceOptions(precision="bf16", threads=2, tta=True))
    state.set_inference(InferenceOptions(precision="bf16", threads=2, tta=True))
    assert len(got) == 1 and got[0].precision == "bf16" and got[0].model is None
    assert state.inference_options().tta
    assert state.review_status(photos[0]) == UNREVIEWED
    state.set_folder(photos[0].parent, photos)
    assert state.store is not None and not state.store.read_only
    reviewed: list[Path] = []
    state.review_changed.connect(reviewed.append)
    state.set_review_status(photos[1], "accepted")
    assert reviewed == [photos[1]] and state.review_status(photos[1]) == "accepted"
    assert state.review_summary().text() == f"1 of {len(photos)} reviewed"
    state.close_store()
