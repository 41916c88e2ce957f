"""Report layout: labels never overlap, the summary pairs px and mm of one photo, the model
row, the line for marks not listed, and the per-crack confidence column in every format."""

from __future__ import annotations

import csv
import json
import shutil
from itertools import combinations
from pathlib import Path

import cv2
import numpy as np
import pypdf
import pytest

from crackinspector.core.analysis.analyse import AnalysisSettings, analyse
from crackinspector.core.analysis.calibration import (
    Calibration,
    FolderCalibration,
    save_calibration,
)
from crackinspector.core.infer.predictor import Predictor
from crackinspector.core.io.imageio import read_image, read_mask
from crackinspector.core.pipeline.engine import MaskFolderSource
from crackinspector.core.pipeline.export import ExportOptions, run_export
from crackinspector.core.report.overlay import render_overlay


def overlaps(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.fixture(scope="module")
def busy(shared_data: Path):
    """A real cobblestone photo whose dark joints, taken as "cracks", make dozens of them
    close together: far more labels than fit."""
    path = sorted((shared_data / "negatives" / "images").glob("pavements__cobblestone__*"))[0]
    photo = read_image(path)
    gray = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)
    mask = gray < np.percentile(gray, 12)
    return photo, analyse(None, AnalysisSettings(0.5, min_area_px=8), mask=mask)


def test_no_two_labels_overlap_on_a_busy_photo(busy) -> None:
    photo, m = busy
    assert m.n_cracks >= 30
    drawn = render_overlay(photo, m)
    h, w = photo.shape[:2]
    assert len(drawn.labels) >= 3
    for a, b in combinations(drawn.labels, 2):
        assert not overlaps(a, b), (a, b)
    for x0, y0, x1, y1 in drawn.labels:
        assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
    # priority: labels go to cracks in table order (analyse(): most severe, then longest);
    # the first crack always gets one, and a crack is only skipped for lack of room
    order = [c.id for c in m.cracks]
    assert drawn.labelled[0] == order[0]
    assert drawn.labelled == sorted(drawn.labelled, key=order.index)
    assert len(drawn.labelled) < min(m.n_cracks, 40)  # some were left out on this photo


@pytest.fixture(scope="module")
def calibrated_export(crackforest, tmp_path_factory):
    """Two real photos with different calibrations, chosen so that the photo widest in px
    is not the one widest in mm."""
    tmp = tmp_path_factory.mktemp("layout")
    site = tmp / "site"
    site.mkdir()
    widths = {}
    for stem in ("001", "081", "097", "104"):
        shutil.copy(crackforest / "images" / f"{stem}.jpg", site / f"{stem}.jpg")
        mask = read_mask(crackforest / "masks" / f"{stem}.png").astype(np.float32)
        photo = read_image(crackforest / "images" / f"{stem}.jpg")
        widths[stem] = analyse(mask, AnalysisSettings(0.5), image=photo).max_width_px
    wide, narrow = max(widths, key=widths.get), min(widths, key=widths.get)
    assert widths[wide] > widths[narrow]
    cal = FolderCalibration(site, Calibration(0.1))
    cal.set_image(f"{wide}.jpg", Calibration(0.01))  # the widest in px is narrow in mm
    cal.set_image(f"{narrow}.jpg", Calibration(1.0))
    save_calibration(cal)
    result = run_export(
        sorted(site.glob("*.jpg")),
        MaskFolderSource(crackforest / "masks"),
        ExportOptions(tmp / "out", formats=("json", "pdf", "html"), min_area_px=40),
    )
    return result, narrow


def test_summary_pairs_px_and_mm_of_one_photo(calibrated_export) -> None:
    result, narrow = calibrated_export
    s = result.doc["summary"]
    by_file = {i["file"]: i for i in result.doc["images"]}
    widest = by_file[s["max_width_file"]]
    assert s["max_width_file"] == f"{narrow}.jpg"  # widest in mm, every photo calibrated
    assert (s["max_width_px"], s["max_width_mm"]) == (
        widest["max_width_px"],
        widest["max_width_mm"],
    )
    assert s["max_width_mm"] == max(i["max_width_mm"] for i in by_file.values())
    page = pypdf.PdfReader(result.out_dir / "report.pdf").pages[0].extract_text()
    px, mm = s["max_width_px"], s["max_width_mm"]
    assert f"{px:.1f} px ({mm:.2f} mm) in {narrow}.jpg" in page
    assert (
        f"{px:.1f} px ({mm:.2f} mm) in {narrow}.jpg" in (result.out_dir / "report.html").read_text()
    )


def test_marks_under_the_size_filter_are_counted_in_one_line(calibrated_export) -> None:
    result, _ = calibrated_export
    html = (result.out_dir / "report.html").read_text()
    pages = [p.extract_text() for p in pypdf.PdfReader(result.out_dir / "report.pdf").pages]
    counted = [i for i in result.doc["images"] if i["specks_removed"]]
    assert counted
    for img in counted:
        n = img["specks_removed"]
        line = f"{n} mark{'s' if n != 1 else ''} under 40 px not listed"
        assert line in html
        section = next(t for t in pages[1:] if t.startswith(img["file"]))
        assert line in section.replace("\n", " ")


def test_model_row_and_confidence_column_with_a_real_model(crackforest, tiny_model_path, tmp_path):
    predictor = Predictor(tiny_model_path, backend="onnx")
    photos = [crackforest / "images" / "001.jpg"]
    result = run_export(
        photos, predictor, ExportOptions(tmp_path / "out", threshold=0.6, min_area_px=30)
    )
    out = result.out_dir
    row = "tiny-resnet18, threshold 0.60, CPU (ONNX)"
    assert row in pypdf.PdfReader(out / "report.pdf").pages[0].extract_text()
    assert row in (out / "report.html").read_text()
    doc = json.loads((out / "report.json").read_text())
    assert doc["model"]["runtime"] == "CPU (ONNX)"

    # confidence per crack: the value analyse() gives, in JSON, CSV, HTML and PDF
    photo = read_image(photos[0])
    m = analyse(predictor.predict(photo), AnalysisSettings(0.6, min_area_px=30), image=photo)
    assert m.n_cracks > 0
    want = [c.confidence for c in m.cracks]
    assert None not in want  # a model's map gives every crack a confidence
    got = [c["confidence"] for c in doc["images"][0]["cracks"]]
    assert got == [None if v is None else round(v, 3) for v in want]
    with open(out / "cracks.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["confidence"] for r in rows] == ["" if v is None else str(v) for v in got]
    assert "<th>Confidence</th>" in (out / "report.html").read_text()
    assert "Conf." in pypdf.PdfReader(out / "report.pdf").pages[1].extract_text()
