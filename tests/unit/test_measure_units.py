"""Severity scales and calibrations: classes, limits, mm per pixel stored with the photos."""

from __future__ import annotations

import json
import math

import pytest

from crackinspector.core.analysis.calibration import (
    Calibration,
    CalibrationError,
    CalibrationLookup,
    FolderCalibration,
    calibration_path,
    load_calibration,
    save_calibration,
)
from crackinspector.core.analysis.severity import (
    PRESETS,
    SeverityError,
    SeverityScale,
    default_scale,
    get_preset,
)
from crackinspector.core.errors import FileProblem


def test_presets_classify_with_inclusive_upper_limits() -> None:
    concrete = get_preset("concrete")
    assert concrete.unit == "mm"
    assert [concrete.classify(w) for w in (0.05, 0.1, 0.15, 0.3, 0.31, 0.4, 2.0)] == [
        "hairline", "hairline", "low", "moderate", "high", "high", "severe",
    ]  # fmt: skip
    pavement = get_preset("pavement")
    assert [pavement.classify(w) for w in (3, 6, 6.1, 19, 25)] == [
        "low", "low", "moderate", "moderate", "high",
    ]  # fmt: skip
    assert "ACI 224R" in concrete.source and "EN 1992-1-1" in concrete.source
    assert "LTPP" in pavement.source
    assert get_preset("pixels").unit == "px"
    assert default_scale(False).name == "pixels" and default_scale(True).name == "concrete"
    with pytest.raises(SeverityError, match="unknown severity preset"):
        get_preset("nope")


def test_mm_scale_refuses_uncalibrated_widths() -> None:
    with pytest.raises(SeverityError, match="needs a calibration"):
        PRESETS["concrete"].classify_crack(5.0, None)
    assert PRESETS["concrete"].classify_crack(5.0, 0.05) == "moderate"  # 0.25 mm
    assert PRESETS["pixels"].classify_crack(5.0, None) == "medium"


def test_edited_limits_and_round_trip() -> None:
    edited = PRESETS["concrete"].with_limits([0.2, 0.3, 0.5, 1.0])
    assert edited.name == "custom" and edited.classify(0.45) == "moderate"
    assert SeverityScale.from_dict(edited.to_dict()) == edited
    with pytest.raises(SeverityError, match="increasing"):
        PRESETS["concrete"].with_limits([0.3, 0.2, 0.5, 1.0])
    with pytest.raises(SeverityError, match="names"):
        SeverityScale("x", "mm", (1.0,), ("a", "b", "c"))
    with pytest.raises(SeverityError, match="unit"):
        SeverityScale("x", "in", (1.0,), ("a", "b"))
    assert "hairline <= 0.1" in PRESETS["concrete"].describe()
    for scale in PRESETS.values():
        assert len(scale.colors) == len(scale.names)


def test_reference_line_calibration() -> None:
    cal = Calibration.from_reference((10, 20), (310, 420), 100.0)  # 500 px long
    assert cal.mm_per_px == pytest.approx(0.2)
    assert cal.px_per_mm == pytest.approx(5.0)
    assert cal.method == "reference" and cal.reference["length_px"] == pytest.approx(500)
    with pytest.raises(CalibrationError, match="shorter than a pixel"):
        Calibration.from_reference((5, 5), (5, 5), 10)
    with pytest.raises(CalibrationError, match="positive"):
        Calibration.from_reference((0, 0), (100, 0), -1)
    for bad in (0, -0.1, math.inf, float("nan"), "abc"):
        with pytest.raises(CalibrationError):
            Calibration(bad)


def test_folder_calibration_saved_with_the_photos(tmp_path) -> None:
    folder = tmp_path / "site-A"
    folder.mkdir()
    assert load_calibration(folder).default is None  # nothing yet: empty, not an error
    cal = FolderCalibration(folder, Calibration(0.1))
    cal.set_image("IMG_2.jpg", Calibration.from_reference((0, 0), (400, 0), 20.0))
    path = save_calibration(cal)
    assert path == calibration_path(folder) == folder / ".crackinspector" / "calibration.json"
    assert not list(path.parent.glob("*.part"))
    data = json.loads(path.read_text())
    assert data["schema_version"] == 1 and data["folder"]["mm_per_px"] == 0.1

    loaded = load_calibration(folder)
    assert loaded.mm_per_px(folder / "IMG_1.jpg") == pytest.approx(0.1)
    assert loaded.mm_per_px("IMG_2.jpg") == pytest.approx(0.05)
    assert loaded.source("IMG_2.jpg") == "image" and loaded.source("IMG_1.jpg") == "folder"
    loaded.set_image("IMG_2.jpg", None)
    save_calibration(loaded)
    assert load_calibration(folder).mm_per_px("IMG_2.jpg") == pytest.approx(0.1)


def test_damaged_calibration_file_is_named(tmp_path) -> None:
    path = calibration_path(tmp_path)
    path.parent.mkdir()
    path.write_text("{ not json")
    with pytest.raises(FileProblem, match=r"calibration\.json"):
        load_calibration(tmp_path)
    path.write_text(json.dumps({"schema_version": 1, "folder": {"mm_per_px": -2}}))
    with pytest.raises(FileProblem, match="damaged"):
        load_calibration(tmp_path)


def test_lookup_prefers_a_fixed_value(tmp_path) -> None:
    save_calibration(FolderCalibration(tmp_path, Calibration(0.3)))
    other = tmp_path / "other"
    other.mkdir()
    lookup = CalibrationLookup()
    assert lookup.lookup(tmp_path / "a.jpg") == (pytest.approx(0.3), "folder")
    assert lookup.lookup(other / "b.jpg") == (None, "none")
    assert CalibrationLookup(0.05).lookup(tmp_path / "a.jpg") == (0.05, "fixed")
