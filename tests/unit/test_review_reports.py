"""Reports and headless commands after review: a real inspection store on CrackForest photos,
the tiny real model, `crackinspector export` and `predict` through the CLI, every format read.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pypdf
import pytest

from crackinspector.cli import main
from crackinspector.core.analysis.analyse import AnalysisSettings, analyse
from crackinspector.core.analysis.calibration import Calibration
from crackinspector.core.analysis.severity import get_preset
from crackinspector.core.io.imageio import read_image, read_mask
from crackinspector.core.review import open_store

MM_PER_PX = 0.2
NOTE = "hairline along the joint, monitor"
REVIEWER = "Ana Ruiz"
CORRECTED, FALSE_ALARM, ACCEPTED, UNREVIEWED = "001", "002", "003", "004"


def drawn_line(shape: tuple[int, ...]) -> np.ndarray:
    """The inspector's correction: one straight crack, 5 px wide and 300 px long."""
    mask = np.zeros(shape[:2], dtype=bool)
    mask[100:105, 60:360] = True
    return mask


@pytest.fixture
def inspection(crackforest: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    for stem in (CORRECTED, FALSE_ALARM, ACCEPTED, UNREVIEWED):
        shutil.copy(crackforest / "images" / f"{stem}.jpg", folder / f"{stem}.jpg")
    with open_store(folder) as store:
        store.set_info(project="Bridge 7", element="Deck slab", location="Span 2",
                       inspector=REVIEWER)  # fmt: skip
        store.set_folder_calibration(Calibration(MM_PER_PX))
        photo = folder / f"{CORRECTED}.jpg"
        store.save_mask(photo, drawn_line(read_image(photo).shape), reviewer=REVIEWER)
        store.set_status(folder / f"{FALSE_ALARM}.jpg", "false_alarm", reviewer=REVIEWER,
                         note="paver joint")  # fmt: skip
        store.set_status(folder / f"{ACCEPTED}.jpg", "accepted", reviewer=REVIEWER, note=NOTE)
        store.flush()
    return folder


def export(folder: Path, out: Path, model: Path, *extra: str) -> dict:
    rc = main(["export", str(folder), "--out", str(out), "--model", str(model),
               "--threshold", "0.6", "--no-cache", "-q", *extra])  # fmt: skip
    assert rc == 0
    return json.loads((out / "report.json").read_text(encoding="utf-8"))


def expected(photo: Path) -> dict:
    """What the one analysis function says about the drawn line on this photo."""
    image = read_image(photo)
    settings = AnalysisSettings(0.6, mm_per_px=MM_PER_PX, severity=get_preset("concrete"))
    m = analyse(None, settings, mask=drawn_line(image.shape), image=image)
    return {"n_cracks": m.n_cracks, "length_px": m.total_length_px, "labels": m.labels > 0}


@pytest.fixture
def exported(inspection: Path, tmp_path: Path, tiny_model_path: Path) -> tuple[Path, dict]:
    out = tmp_path / "report"
    return out, export(inspection, out, tiny_model_path, "--masks")


def by_file(doc: dict) -> dict[str, dict]:
    return {img["file"]: img for img in doc["images"]}


def test_json_measures_the_corrected_mask_and_states_reviews(exported, inspection) -> None:
    out, doc = exported
    images = by_file(doc)
    want = expected(inspection / f"{CORRECTED}.jpg")
    corrected = images[f"{CORRECTED}.jpg"]
    assert corrected["n_cracks"] == want["n_cracks"] == 1
    assert corrected["total_length_px"] == pytest.approx(want["length_px"], abs=1e-3)
    assert corrected["review"]["status"] == "corrected" and corrected["review"]["mask"] == "edited"
    assert np.array_equal(read_mask(out / "masks" / f"{CORRECTED}.png") > 0, want["labels"])
    false_alarm = images[f"{FALSE_ALARM}.jpg"]
    assert false_alarm["n_cracks"] == 0 and false_alarm["cracks"] == []
    assert false_alarm["review"]["mask"] == "empty"
    accepted = images[f"{ACCEPTED}.jpg"]["review"]
    assert accepted["status"] == "accepted" and accepted["note"] == NOTE
    assert accepted["reviewer"] == REVIEWER and accepted["reviewed_at"]
    assert images[f"{UNREVIEWED}.jpg"]["review"]["status"] == "unreviewed"
    assert doc["schema_version"] == 2
    assert doc["review"]["photos"] == 4 and doc["review"]["reviewed"] == 3
    assert doc["review"]["counts"] == {"unreviewed": 1, "accepted": 1, "false_alarm": 1,
                                       "corrected": 1, "follow_up": 0}  # fmt: skip
    assert {img["inspection"] for img in doc["images"]} == {0}
    [ins] = doc["inspections"]
    assert (ins["project"], ins["element"], ins["location"], ins["inspector"]) == (
        "Bridge 7", "Deck slab", "Span 2", REVIEWER)  # fmt: skip


def test_store_calibration_is_used_in_mm(exported) -> None:
    _, doc = exported
    for img in doc["images"]:
        assert img["mm_per_px"] == MM_PER_PX and img["calibration_source"] == "folder"
    line = by_file(doc)[f"{CORRECTED}.jpg"]
    assert line["total_length_mm"] == pytest.approx(line["total_length_px"] * MM_PER_PX, abs=1e-3)
    assert doc["settings"]["severity"]["unit"] == "mm"  # every photo calibrated: concrete


def test_csv_html_and_pdf_state_reviews_and_inspection(exported) -> None:
    out, _ = exported
    with open(out / "images.csv", newline="", encoding="utf-8") as fh:
        rows = {r["file"]: r for r in csv.DictReader(fh)}
    assert rows[f"{ACCEPTED}.jpg"]["review_status"] == "accepted"
    assert rows[f"{ACCEPTED}.jpg"]["review_note"] == NOTE
    assert rows[f"{ACCEPTED}.jpg"]["reviewer"] == REVIEWER
    assert rows[f"{FALSE_ALARM}.jpg"]["review_status"] == "false_alarm"
    assert rows[f"{FALSE_ALARM}.jpg"]["n_cracks"] == "0"
    assert rows[f"{CORRECTED}.jpg"]["review_mask"] == "edited"
    assert {r["project"] for r in rows.values()} == {"Bridge 7"}
    assert {r["inspector"] for r in rows.values()} == {REVIEWER}
    with open(out / "cracks.csv", newline="", encoding="utf-8") as fh:
        files = [r["file"] for r in csv.DictReader(fh)]
    assert files.count(f"{CORRECTED}.jpg") == 1 and f"{FALSE_ALARM}.jpg" not in files
    progress = "3 of 4 reviewed: 1 accepted, 1 corrected, 1 false alarm, 0 follow-up"
    html = (out / "report.html").read_text(encoding="utf-8")
    pdf = " ".join(p.extract_text() for p in pypdf.PdfReader(out / "report.pdf").pages)
    pdf = " ".join(pdf.split())  # the PDF wraps long lines
    for text in (html, pdf):
        for needle in ("Bridge 7", "Deck slab", "Span 2", progress, f"false alarm by {REVIEWER}",
                       f"corrected by {REVIEWER}", f"accepted by {REVIEWER}", "unreviewed",
                       "paver joint"):  # fmt: skip
            assert needle in text, needle
    assert NOTE in html and "hairline along the joint" in pdf


def test_reviewed_only_leaves_out_other_photos(inspection, tmp_path, tiny_model_path) -> None:
    doc = export(inspection, tmp_path / "reviewed", tiny_model_path, "--reviewed-only")
    assert sorted(by_file(doc)) == [f"{CORRECTED}.jpg", f"{ACCEPTED}.jpg"]
    assert doc["settings"]["reviewed_only"] is True
    assert doc["review"]["left_out"] == 2 and doc["review"]["photos"] == 4
    html = (tmp_path / "reviewed" / "report.html").read_text(encoding="utf-8")
    assert f"{UNREVIEWED}.jpg" not in html and "accepted and corrected findings only" in html


def test_predict_uses_corrections_and_calibration(inspection, tmp_path, tiny_model_path) -> None:
    out = tmp_path / "pred"
    rc = main(["predict", str(inspection), "--out", str(out), "--model", str(tiny_model_path),
               "--threshold", "0.6", "-q"])  # fmt: skip
    assert rc == 0
    with open(out / "summary.csv", newline="", encoding="utf-8") as fh:
        rows = {Path(r["file"]).stem: r for r in csv.DictReader(fh)}
    assert {k: r["review_status"] for k, r in rows.items()} == {
        CORRECTED: "corrected", FALSE_ALARM: "false_alarm", ACCEPTED: "accepted",
        UNREVIEWED: "unreviewed"}  # fmt: skip
    assert all(float(r["mm_per_px"]) == MM_PER_PX for r in rows.values())
    want = expected(inspection / f"{CORRECTED}.jpg")
    assert rows[CORRECTED]["n_cracks"] == "1"
    assert np.array_equal(read_mask(out / f"{CORRECTED}_mask.png") > 0, want["labels"])
    assert rows[FALSE_ALARM]["n_cracks"] == "0"
    assert not read_mask(out / f"{FALSE_ALARM}_mask.png").any()


def test_predict_mm_per_px_overrides_the_store(inspection, tmp_path, tiny_model_path) -> None:
    out = tmp_path / "pred"
    rc = main(["predict", str(inspection / f"{ACCEPTED}.jpg"), "--out", str(out), "--model",
               str(tiny_model_path), "--mm-per-px", "0.05", "-q"])  # fmt: skip
    assert rc == 0
    with open(out / "summary.csv", newline="", encoding="utf-8") as fh:
        [row] = list(csv.DictReader(fh))
    assert float(row["mm_per_px"]) == 0.05 and row["review_status"] == "accepted"


def test_merged_shards_sum_the_review_progress(inspection, tmp_path, tiny_model_path) -> None:
    parts = []
    for i in (1, 2):
        part = tmp_path / f"part{i}"
        export(inspection, part, tiny_model_path, "--shard", f"{i}/2", "--formats", "json")
        parts.append(str(part))
    merged = tmp_path / "merged"
    assert main(["merge", *parts, "--out", str(merged), "--formats", "json,csv"]) == 0
    doc = json.loads((merged / "report.json").read_text(encoding="utf-8"))
    assert doc["review"]["photos"] == 4 and doc["review"]["reviewed"] == 3
    assert len(doc["inspections"]) == 1
    assert {img["inspection"] for img in doc["images"]} == {0}
    assert by_file(doc)[f"{ACCEPTED}.jpg"]["review"]["note"] == NOTE


def test_a_corrected_mask_of_another_size_fails_that_photo_only(
    inspection, tmp_path, tiny_model_path, capsys
) -> None:
    with open_store(inspection) as store:
        store.save_mask(inspection / f"{ACCEPTED}.jpg", np.ones((10, 10), dtype=bool))
        store.flush()
    out = tmp_path / "out"
    rc = main(["export", str(inspection), "--out", str(out), "--model", str(tiny_model_path),
               "--no-cache", "--formats", "json", "-q"])  # fmt: skip
    assert rc == 2
    images = by_file(json.loads((out / "report.json").read_text(encoding="utf-8")))
    bad = images[f"{ACCEPTED}.jpg"]
    assert bad["status"] == "failed" and "corrected mask is 10 x 10 px" in bad["error"]
    assert [img["status"] for name, img in images.items() if name != f"{ACCEPTED}.jpg"] == [
        "ok", "ok", "ok"]  # fmt: skip
    assert f"{ACCEPTED}.jpg" in capsys.readouterr().err
