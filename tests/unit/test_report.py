"""Report contents: PDF pages, HTML links, CSV/JSON against the measurements, overlays.

Real CrackForest photos with their ground-truth masks standing in for a model's output
(`MaskFolderSource`), so the numbers in the reports are those of real cracks.
"""

from __future__ import annotations

import csv
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import cv2
import numpy as np
import pypdf
import pytest

from crackinspector.core.analysis.analyse import AnalysisSettings, analyse
from crackinspector.core.analysis.severity import BELOW_RESOLUTION, PRESETS
from crackinspector.core.io.imageio import read_image, read_mask
from crackinspector.core.pipeline.engine import MaskFolderSource
from crackinspector.core.pipeline.export import ExportOptions, run_export
from crackinspector.core.report.model import SCHEMA_VERSION
from crackinspector.core.report.overlay import render_overlay

STEMS = ["001", "081", "097"]
MM = 0.5
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def exported(crackforest, tmp_path_factory):
    """One full export of three real photos plus one broken file."""
    tmp = tmp_path_factory.mktemp("report")
    broken = tmp / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 this is not really a JPEG")
    inputs = [crackforest / "images" / f"{s}.jpg" for s in STEMS] + [broken]
    options = ExportOptions(
        tmp / "out", overlays=True, masks=True, prob=True, mm_per_px=MM, severity="concrete"
    )
    result = run_export(inputs, MaskFolderSource(crackforest / "masks"), options)
    return result, crackforest


def _truth(crackforest, stem):
    """What the export must report: analyse() of the mask as the map, with the photo."""
    mask = read_mask(crackforest / "masks" / f"{stem}.png").astype(np.float32)
    settings = AnalysisSettings(0.5, mm_per_px=MM, severity=PRESETS["concrete"])
    photo = read_image(crackforest / "images" / f"{stem}.jpg")
    return analyse(mask, settings, image=photo)


def test_result_lists_the_broken_file_and_goes_on(exported) -> None:
    result, _ = exported
    assert [r.status for r in result.records] == ["ok", "ok", "ok", "failed"]
    assert "not an image" in result.records[-1].error or "corrupt" in result.records[-1].error
    assert result.exit_code() == 2 and not result.fatal_error and not result.report_errors
    names = {p.name for p in result.written}
    assert {"report.pdf", "report.html", "images.csv", "cracks.csv", "report.json"} <= names


def test_pdf_has_summary_and_one_page_per_image(exported) -> None:
    result, _ = exported
    reader = pypdf.PdfReader(result.out_dir / "report.pdf")
    assert len(reader.pages) == 1 + len(STEMS)
    summary = reader.pages[0].extract_text()
    assert "Crack inspection report" in summary
    assert "broken.jpg" in summary and "failed" in summary
    assert "0.50" in summary and "mm/px" in summary  # threshold and calibration
    for page, stem in zip(reader.pages[1:], STEMS, strict=True):
        text = page.extract_text()
        assert f"{stem}.jpg" in text
        assert "Max width" in text
        assert len(page.images) == 1  # the overlay figure


def test_html_links_resolve(exported) -> None:
    result, _ = exported

    class Links(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.refs: list[str] = []
            self.ids: set[str] = set()

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            self.refs += [a[k] for k in ("href", "src") if k in a]
            if "id" in a:
                self.ids.add(a["id"])

    parser = Links()
    parser.feed((result.out_dir / "report.html").read_text(encoding="utf-8"))
    files = [r for r in parser.refs if not r.startswith("#")]
    anchors = [r[1:] for r in parser.refs if r.startswith("#")]
    assert len(files) >= 3 * len(STEMS)  # overlay link + img, mask, prob per image
    for ref in files:
        assert not ref.startswith(("/", "file:")), ref  # relative
        assert (result.out_dir / unquote(ref)).is_file(), ref
    assert sorted(anchors) == sorted(STEMS) and set(anchors) <= parser.ids


def test_json_and_csv_agree_with_the_measurements(exported) -> None:
    result, crackforest = exported
    doc = json.loads((result.out_dir / "report.json").read_text(encoding="utf-8"))
    assert doc["schema_version"] == SCHEMA_VERSION == 2
    with open(result.out_dir / "images.csv", newline="", encoding="utf-8") as fh:
        images = list(csv.DictReader(fh))
    with open(result.out_dir / "cracks.csv", newline="", encoding="utf-8") as fh:
        cracks = list(csv.DictReader(fh))
    assert [r["file"] for r in images] == [f"{s}.jpg" for s in STEMS] + ["broken.jpg"]
    assert images[-1]["status"] == "failed" and images[-1]["error"]

    total_cracks = 0
    for stem, entry, row in zip(STEMS, doc["images"], images, strict=False):
        m = _truth(crackforest, stem)
        total_cracks += m.n_cracks
        assert entry["n_cracks"] == m.n_cracks == int(row["n_cracks"])
        assert entry["total_length_px"] == pytest.approx(m.total_length_px, abs=1e-3)
        assert float(row["total_length_mm"]) == pytest.approx(m.total_length_px * MM, abs=1e-3)
        assert float(row["max_width_px"]) == pytest.approx(m.max_width_px, abs=1e-3)
        assert entry["crack_area_px"] == m.crack_area_px
        assert entry["severity_counts"] == m.severity_counts
        for cls, n in m.severity_counts.items():
            column = "count_below_resolution" if cls == BELOW_RESOLUTION else f"count_{cls}"
            assert int(row[column]) == n
        mine = [r for r in cracks if r["file"] == f"{stem}.jpg"]
        assert len(mine) == m.n_cracks == len(entry["cracks"])
        # tables list the cracks in analyse()'s order: most severe first, then the longest
        for c, jc, rc in zip(m.cracks, entry["cracks"], mine, strict=True):
            assert jc["id"] == c.id == int(rc["crack_id"])
            assert jc["length_px"] == pytest.approx(c.length_px, abs=1e-3)
            assert float(rc["length_mm"]) == pytest.approx(c.length_px * MM, abs=1e-3)
            assert float(rc["max_width_px"]) == pytest.approx(c.max_width_px, abs=1e-3)
            assert jc["max_width_mm"] == pytest.approx(c.max_width_px * MM, abs=1e-3)
            assert rc["severity"] == jc["severity"] == c.severity
            assert [int(rc["widest_x"]), int(rc["widest_y"])] == list(c.widest_point)
            assert rc["orientation"] == c.orientation
    s = doc["summary"]
    assert s["images"] == 4 and s["images_failed"] == 1 and s["images_analysed"] == 3
    assert s["cracks"] == total_cracks == len(cracks)
    assert s["total_length_px"] == pytest.approx(
        sum(e["total_length_px"] for e in doc["images"][:3]), abs=1e-2
    )
    assert sum(s["by_severity"].values()) == total_cracks


def test_every_json_key_is_documented(exported) -> None:
    """docs/REPORTS.md names every key the JSON report holds (the schema cannot drift)."""
    result, _ = exported
    documented = set(re.findall(r"`([a-z_0-9]+)`", (REPO / "docs" / "REPORTS.md").read_text()))
    doc = json.loads((result.out_dir / "report.json").read_text(encoding="utf-8"))
    keys: set[str] = set()

    def walk(value, free_keys: bool = False) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                if not free_keys:  # severity class names and file kinds are data, not schema
                    keys.add(k)
                walk(v, k in ("severity_counts", "by_severity"))
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(doc)
    assert len(keys) > 50
    missing = sorted(keys - documented)
    assert not missing, f"undocumented JSON keys: {missing}"


def test_overlay_changes_only_cracks_rings_and_labels(exported) -> None:
    result, crackforest = exported
    for stem in STEMS:
        photo = read_image(crackforest / "images" / f"{stem}.jpg")
        overlay = read_image(result.out_dir / "overlays" / f"{stem}.png")
        m = _truth(crackforest, stem)
        drawn = render_overlay(photo, m)
        assert np.array_equal(overlay, drawn.image)  # the PNG is lossless
        crack = m.labels > 0
        allowed = cv2.dilate(crack.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=1)
        allowed = allowed.astype(bool) if drawn.outline_px > 1 else crack.copy()
        for x0, y0, x1, y1 in drawn.marks:
            allowed[y0:y1, x0:x1] = True
        changed = np.any(overlay != photo, axis=2)
        assert not np.any(changed & ~allowed), "pixels changed away from the cracks"
        assert changed[crack].mean() > 0.99  # every crack pixel is tinted
        # rings and labels stay small and sit at the widest points
        marked = np.zeros_like(crack)
        for x0, y0, x1, y1 in drawn.marks:
            marked[y0:y1, x0:x1] = True
        assert marked.mean() < 0.08
        for c in m.cracks:
            x, y = c.widest_point
            assert any(x0 <= x < x1 and y0 <= y < y1 for x0, y0, x1, y1 in drawn.marks)


def test_mask_and_prob_files_match(exported) -> None:
    result, crackforest = exported
    from PIL import Image

    for stem in STEMS:
        m = _truth(crackforest, stem)
        mask = np.asarray(Image.open(result.out_dir / "masks" / f"{stem}.png"))
        assert mask.dtype == np.uint8 and set(np.unique(mask)) <= {0, 255}
        assert np.array_equal(mask > 0, m.labels > 0)
        with Image.open(result.out_dir / "prob" / f"{stem}.png") as im:
            prob = np.asarray(im)
        assert prob.dtype in (np.uint16, np.int32) and prob.max() == 65535
        truth = read_mask(crackforest / "masks" / f"{stem}.png")
        assert np.array_equal(prob == 65535, truth)
