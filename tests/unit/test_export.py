"""The export engine and `crackinspector export`: real photos, real model, real files."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pypdf
import pytest
from file_checks import assert_only_complete_files
from PIL import Image

from crackinspector.cli import main
from crackinspector.core.analysis.calibration import (
    Calibration,
    FolderCalibration,
    save_calibration,
)
from crackinspector.core.errors import CrackInspectorError, FileProblem
from crackinspector.core.pipeline.engine import MaskFolderSource
from crackinspector.core.pipeline.export import ExportOptions, run_export

REPO = Path(__file__).resolve().parents[2]


def images(crackforest: Path, *stems: str) -> list[Path]:
    return [crackforest / "images" / f"{s}.jpg" for s in stems]


def test_cli_export_with_a_real_model(crackforest, tiny_model_path, tmp_path, capsys) -> None:
    out = tmp_path / "out"
    rc = main(
        ["export", *map(str, images(crackforest, "001", "002")), "--out", str(out),
         "--model", str(tiny_model_path), "--threshold", "0.6", "--masks", "--prob", "-q"]
    )  # fmt: skip
    assert rc == 0
    assert "2 of 2 images analysed" in capsys.readouterr().out
    doc = json.loads((out / "report.json").read_text())
    assert doc["model"]["name"] == "tiny-resnet18"
    assert doc["model"]["identity"].startswith("tiny-resnet18@")
    assert doc["settings"]["threshold"] == 0.6
    assert doc["settings"]["severity"]["name"] == "pixels"  # no calibration
    for stem in ("001", "002"):
        for sub in ("overlays", "masks", "prob"):
            assert (out / sub / f"{stem}.png").is_file()
    # a random model finds many "cracks": long tables may run onto more pages
    pages = [pg.extract_text() for pg in pypdf.PdfReader(out / "report.pdf").pages]
    first_001 = next(i for i, t in enumerate(pages) if t.startswith("001.jpg"))
    first_002 = next(i for i, t in enumerate(pages) if t.startswith("002.jpg"))
    assert 0 < first_001 < first_002 and "tiny-resnet18" in pages[0]
    assert_only_complete_files(out)
    # the results went to the (test-isolated) cache: a second export reuses them
    cache = Path(os.environ["CRACKINSPECTOR_CACHE_DIR"])
    assert len(list(cache.rglob("*.npz"))) >= 2


def test_cancel_between_photos_keeps_finished_photos_whole(crackforest, tmp_path) -> None:
    asked = []

    def cancel() -> bool:
        asked.append(1)
        return len(asked) >= 3  # asked before each photo: stop before the third

    options = ExportOptions(tmp_path / "out", overlays=True, masks=True, prob=True)
    result = run_export(
        images(crackforest, "001", "081", "097"),
        MaskFolderSource(crackforest / "masks"),
        options,
        cancel=cancel,
    )
    assert result.cancelled and result.exit_code() == 130 and result.doc is None
    assert [r.key for r in result.records] == ["001", "081"]
    files = assert_only_complete_files(result.out_dir)
    assert sorted(files) == sorted(result.written)
    names = sorted(p.relative_to(result.out_dir).as_posix() for p in files)
    assert names == [f"{d}/{k}.png" for d in ("masks", "overlays", "prob") for k in ("001", "081")]
    assert not (result.out_dir / "report.pdf").exists()


def test_cancel_inside_inference(crackforest, tiny_model_path, tmp_path) -> None:
    from crackinspector.core.infer.predictor import Predictor

    predictor = Predictor(tiny_model_path)
    seen = []

    def progress(p) -> None:
        seen.append(p)

    def cancel() -> bool:  # stop once the second image has started its tiles
        return any(p.path and p.path.stem == "002" and p.fraction > 1 / 3 for p in seen)

    result = run_export(
        images(crackforest, "001", "002", "003"),
        predictor,
        ExportOptions(tmp_path / "out", formats=("json",), masks=True, threshold=0.6),
        progress=progress,
        cancel=cancel,
    )
    assert result.cancelled
    assert [r.path.stem for r in result.records] == ["001"]
    names = sorted(p.name for p in assert_only_complete_files(result.out_dir))
    assert names == ["001.png"]  # the first image's mask; nothing of the second


def test_existing_files_policies(crackforest, tmp_path) -> None:
    src = MaskFolderSource(crackforest / "masks")
    inputs = images(crackforest, "001", "081")
    out = tmp_path / "out"
    out.mkdir()
    (out / "masks").mkdir()
    (out / "masks" / "001.png").write_bytes(b"mine")
    (out / "report.json").write_text('{"mine": true}')
    (out / "notes.txt").write_text("field notes")

    skip = run_export(inputs, src, ExportOptions(out, masks=True, existing="skip"))
    assert (out / "masks" / "001.png").read_bytes() == b"mine"
    assert json.loads((out / "report.json").read_text()) == {"mine": True}
    assert sorted(p.name for p in skip.skipped) == ["001.png", "report.json"]
    assert (out / "masks" / "081.png").is_file() and (out / "report.pdf").is_file()

    over = run_export(inputs, src, ExportOptions(out, masks=True, existing="overwrite"))
    assert over.out_dir == out and not over.skipped
    with Image.open(out / "masks" / "001.png") as im:
        assert im.size == (480, 320)
    assert json.loads((out / "report.json").read_text())["schema_version"] == 2
    assert (out / "notes.txt").read_text() == "field notes"  # never touched

    new2 = run_export(inputs, src, ExportOptions(out, existing="new-folder"))
    new3 = run_export(inputs, src, ExportOptions(out, existing="new-folder"))
    assert new2.out_dir == tmp_path / "out-2" and new3.out_dir == tmp_path / "out-3"
    assert (new3.out_dir / "report.pdf").is_file()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run_export(inputs, src, ExportOptions(empty, existing="new-folder")).out_dir == empty


def test_unwritable_targets_fail_before_any_work(crackforest, tmp_path, capsys) -> None:
    # Tests run as root, where chmod 0o555 does not stop writes; these targets fail for
    # root too. (A read-only folder takes the same path: the probe write fails.)
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    src = MaskFolderSource(crackforest / "masks")
    with pytest.raises(FileProblem, match="not a folder"):
        run_export(images(crackforest, "001"), src, ExportOptions(blocker / "out"))
    with pytest.raises(FileProblem, match="is a file, not a folder"):
        run_export(images(crackforest, "001"), src, ExportOptions(blocker))
    rc = main(["export", str(images(crackforest, "001")[0]), "--out", str(blocker / "out"),
               "--from-masks", str(crackforest / "masks"), "-q"])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and len(err) == 1 and str(blocker / "out") in err[0]
    assert blocker.read_text() == "x"


def _limit_file_size() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (5000, 5000))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes then fail with EFBIG


def test_a_write_failing_midway_keeps_what_was_written(crackforest, tmp_path) -> None:
    """A real write failure from the kernel (file size limit, like a full disk): one line
    naming the file and reason, files written before it stay complete, no temporaries."""
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "crackinspector", "export",
           *map(str, images(crackforest, "001", "081", "097")), "--out", str(out),
           "--from-masks", str(crackforest / "masks"), "--masks", "--prob",
           "--formats", "csv,json", "-q"]  # fmt: skip
    proc = subprocess.run(
        cmd, capture_output=True, text=True, preexec_fn=_limit_file_size, cwd=REPO, timeout=120
    )
    assert proc.returncode == 1, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1
    assert "097.png: file too large" in errors[0]
    files = assert_only_complete_files(out)
    names = sorted(p.relative_to(out).as_posix() for p in files)
    assert "masks/001.png" in names and "prob/001.png" in names
    assert not (out / "report.json").exists()  # no report of a partial export


def test_bad_inputs_are_listed_and_the_batch_goes_on(crackforest, tmp_path, capsys) -> None:
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    out = tmp_path / "out"
    rc = main(["export", str(empty), *map(str, images(crackforest, "001")), str(text),
               "--out", str(out), "--from-masks", str(crackforest / "masks"), "-q"])  # fmt: skip
    assert rc == 2
    err = capsys.readouterr().err
    assert f"{empty}: file is empty" in err and str(text) in err
    doc = json.loads((out / "report.json").read_text())
    assert [i["status"] for i in doc["images"]] == ["failed", "ok", "failed"]
    assert doc["images"][0]["n_cracks"] is None and doc["images"][0]["cracks"] == []
    assert len(pypdf.PdfReader(out / "report.pdf").pages) == 2


def test_mm_preset_without_calibration_is_refused_up_front(crackforest, tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["export", str(images(crackforest, "001")[0]), "--out", str(out),
               "--from-masks", str(crackforest / "masks"),
               "--severity-preset", "pavement"])  # fmt: skip
    assert rc == 1
    assert "'pavement' is in millimetres" in capsys.readouterr().err
    assert not out.exists()


def test_folder_calibration_files_are_used(crackforest, tmp_path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    for p in images(crackforest, "001", "081"):
        shutil.copy(p, site / p.name)
    cal = FolderCalibration(site, Calibration(0.2))
    cal.set_image("081.jpg", Calibration.from_reference((0, 0), (100, 0), 5.0))
    save_calibration(cal)
    result = run_export(
        sorted(site.glob("*.jpg")),
        MaskFolderSource(crackforest / "masks"),
        ExportOptions(tmp_path / "out", formats=("json",)),
    )
    doc = result.doc
    assert doc["settings"]["severity"]["name"] == "concrete"  # auto: all calibrated
    a, b = doc["images"]
    assert (a["mm_per_px"], a["calibration_source"]) == (0.2, "folder")
    assert (b["mm_per_px"], b["calibration_source"]) == (0.05, "image")
    assert b["total_length_mm"] == pytest.approx(b["total_length_px"] * 0.05, abs=1e-3)
    assert doc["summary"]["all_calibrated"] is True


def test_only_cracked_and_repeated_names(crackforest, tmp_path) -> None:
    masks = tmp_path / "masks"
    masks.mkdir()
    shutil.copy(crackforest / "masks" / "001.png", masks / "001.png")
    Image.fromarray(np.zeros((320, 480), np.uint8)).save(masks / "081.png")
    twin = tmp_path / "twin"
    twin.mkdir()
    shutil.copy(crackforest / "images" / "001.jpg", twin / "001.jpg")
    inputs = [*images(crackforest, "001", "081"), twin / "001.jpg"]
    result = run_export(
        inputs, MaskFolderSource(masks), ExportOptions(tmp_path / "out", only_cracked=True)
    )
    out = result.out_dir
    assert [r.key for r in result.records] == ["001", "081", "001-2"]
    assert sorted(p.name for p in (out / "overlays").iterdir()) == ["001-2.png", "001.png"]
    assert len(pypdf.PdfReader(out / "report.pdf").pages) == 3  # summary + 2 cracked
    rows = (out / "images.csv").read_text().splitlines()
    assert len(rows) == 4 and ",081.jpg," not in rows[2] and rows[2].startswith("081.jpg,")
    doc = result.doc
    assert doc["images"][1]["exported"] is False and doc["images"][1]["n_cracks"] == 0
    assert doc["summary"]["images_with_cracks"] == 2 and doc["summary"]["images_exported"] == 2


def test_progress_reports(crackforest, tmp_path) -> None:
    events = []
    run_export(
        images(crackforest, "001", "081"),
        MaskFolderSource(crackforest / "masks"),
        ExportOptions(tmp_path / "out", formats=("csv",)),
        progress=events.append,
    )
    assert [e.stage for e in events] == ["image", "image", "reports", "done"]
    fractions = [e.fraction for e in events]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert [e.done for e in events] == [0, 1, 2, 2]


def test_bad_options(crackforest, tmp_path) -> None:
    src = MaskFolderSource(crackforest / "masks")
    with pytest.raises(CrackInspectorError, match="unknown report format"):
        run_export(images(crackforest, "001"), src, ExportOptions(tmp_path, formats=("doc",)))
    with pytest.raises(CrackInspectorError, match="no images"):
        run_export([], src, ExportOptions(tmp_path))
    with pytest.raises(CrackInspectorError, match="threshold"):
        run_export(images(crackforest, "001"), src, ExportOptions(tmp_path, threshold=2))


@pytest.mark.parametrize("name", ["=1+2", "+SUM(A1)", "-2+3", "@cmd", "\tx", "\rx"])
def test_csv_formula_injection_is_neutralised(name, crackforest, tmp_path) -> None:
    """images.csv and cracks.csv show a formula-like file name as text (OWASP: quote prefix)."""
    photos, masks = tmp_path / "photos", tmp_path / "masks"
    photos.mkdir()
    masks.mkdir()
    shutil.copy(crackforest / "images" / "001.jpg", photos / f"{name}.jpg")
    shutil.copy(crackforest / "masks" / "001.png", masks / f"{name}.png")
    out = tmp_path / "out"
    rc = main(["export", str(photos), "--out", str(out), "--formats", "csv,json", "-q",
               "--from-masks", str(masks)])  # fmt: skip
    assert rc == 0
    import csv

    for table in ("images.csv", "cracks.csv"):
        with open(out / table, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        assert rows and all(r["file"] == f"'{name}.jpg" for r in rows), table
    # the JSON keeps the real name (it is not read by spreadsheets)
    assert json.loads((out / "report.json").read_text())["images"][0]["file"] == f"{name}.jpg"


def test_a_missing_mask_is_named_not_the_photo(crackforest, tmp_path) -> None:
    masks = tmp_path / "masks"
    masks.mkdir()
    result = run_export(
        images(crackforest, "001"),
        MaskFolderSource(masks),
        ExportOptions(tmp_path / "out", formats=("json",)),
    )
    assert result.records[0].error == f"{masks / '001.png'}: no mask for this image"
    assert result.exit_code() == 2
