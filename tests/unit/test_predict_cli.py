"""`crackinspector predict` end to end on real CrackForest photos and a real (tiny) model."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from crackinspector.cli import main
from crackinspector.core.analysis.analyse import AnalysisSettings, analyse
from crackinspector.core.infer.predictor import Predictor
from crackinspector.core.io.imageio import read_image
from crackinspector.core.pipeline.inputs import output_keys

PHOTOS = ("073", "074", "075")


@pytest.fixture
def inputs(crackforest: Path, tmp_path: Path) -> Path:
    """photos/073.jpg, 074.jpg, sub/075.jpg ... plus sub/073.jpg (a name clash) and a
    truncated real JPEG."""
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    for stem in PHOTOS[:2]:
        (folder / f"{stem}.jpg").write_bytes((crackforest / "images" / f"{stem}.jpg").read_bytes())
    (folder / "sub" / "073.jpg").write_bytes((crackforest / "images" / "075.jpg").read_bytes())
    data = (crackforest / "images" / "076.jpg").read_bytes()
    (folder / "sub" / "corrupt.jpg").write_bytes(data[: len(data) // 3])
    return folder


def read_summary(out: Path) -> list[dict[str, str]]:
    with open(out / "summary.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def check_outputs(out: Path, stems: list[str], save_prob: bool) -> None:
    for stem in stems:
        with Image.open(out / f"{stem}_mask.png") as mask:
            assert mask.mode == "L" and mask.size == (480, 320)
            assert set(np.unique(np.asarray(mask)).tolist()) <= {0, 255}
        with Image.open(out / f"{stem}_overlay.jpg") as ov:
            assert ov.format == "JPEG" and ov.mode == "RGB" and ov.size == (480, 320)
        prob_path = out / f"{stem}_prob.png"
        assert prob_path.exists() == save_prob
        if save_prob:
            with Image.open(prob_path) as prob:
                assert prob.mode.startswith("I;16") and prob.size == (480, 320)
                assert np.asarray(prob).max() > 255  # really uses the 16-bit range
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temp files left


def test_output_names_are_unique() -> None:
    """One naming rule for predict and export: repeats get -2, -3 (case-insensitive)."""
    paths = [Path("a/001.jpg"), Path("b/001.jpg"), Path("c/001.png"), Path("A.jpg"), Path("a.tif")]
    assert output_keys(paths) == ["001", "001-2", "001-3", "A", "a-2"]


def test_predict_in_process(
    inputs: Path, tmp_path: Path, tiny_model_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "out"
    argv = ["predict", str(inputs), "--out", str(out), "--model", str(tiny_model_path)]
    code = main([*argv, "--save-prob"])
    assert code == 2  # one input failed
    err = capsys.readouterr().err
    corrupt = inputs / "sub" / "corrupt.jpg"
    error_lines = [line for line in err.splitlines() if str(corrupt) in line]
    assert len(error_lines) == 1 and "truncated" in error_lines[0]

    check_outputs(out, ["073", "074", "073-2"], save_prob=True)
    rows = read_summary(out)
    assert [Path(r["file"]).relative_to(inputs).as_posix() for r in rows] == [
        "073.jpg",
        "074.jpg",
        "sub/073.jpg",
        "sub/corrupt.jpg",
    ]
    assert [r["status"] for r in rows[:3]] == ["ok"] * 3
    assert rows[3]["status"].startswith("error: corrupt or truncated image")
    assert rows[3]["mask"] == "" and rows[2]["mask"] == "073-2_mask.png"
    for row in rows[:3]:
        assert (row["width"], row["height"]) == ("480", "320")
        assert 0 <= float(row["crack_pixel_percent"]) <= 100 and float(row["seconds"]) > 0

    # the mask holds exactly the cracks analyse() lists for the model's map at the card's
    # threshold, at full size, and the summary's numbers are analyse()'s
    predictor = Predictor(tiny_model_path)
    photo = read_image(inputs / "074.jpg")
    m = analyse(predictor.predict(photo), AnalysisSettings(0.5), image=photo)
    mask = np.asarray(Image.open(out / "074_mask.png")) == 255
    assert np.array_equal(mask, m.labels > 0)
    assert float(rows[1]["crack_pixel_percent"]) == pytest.approx(m.crack_area_pct, abs=1e-3)
    assert int(rows[1]["n_cracks"]) == m.n_cracks
    # the clashing name got its own files: sub/073.jpg is photo 075, not a copy of 073
    assert not np.array_equal(
        np.asarray(Image.open(out / "073_mask.png")), np.asarray(Image.open(out / "073-2_mask.png"))
    )


def test_all_good_exits_zero_and_threshold_applies(
    inputs: Path, tmp_path: Path, tiny_model_path: Path
) -> None:
    (inputs / "sub" / "corrupt.jpg").unlink()
    (inputs / "sub" / "073.jpg").unlink()
    base = ["predict", str(inputs), "--model", str(tiny_model_path), "--backend", "onnx"]
    assert main([*base, "--out", str(tmp_path / "t0"), "--threshold", "0"]) == 0
    assert main([*base, "--out", str(tmp_path / "t1"), "--threshold", "1"]) == 0
    check_outputs(tmp_path / "t0", ["073", "074"], save_prob=False)
    all_crack = read_summary(tmp_path / "t0")
    no_crack = read_summary(tmp_path / "t1")
    assert [r["status"] for r in all_crack + no_crack] == ["ok"] * 4
    assert {float(r["crack_pixel_percent"]) for r in all_crack} == {100.0}
    assert {int(r["n_cracks"]) for r in all_crack} == {1}
    assert {float(r["crack_pixel_percent"]) for r in no_crack} == {0.0}


def test_outputs_inside_the_input_folder_are_not_reprocessed(
    inputs: Path, tiny_model_path: Path
) -> None:
    for name in ("sub/corrupt.jpg", "sub/073.jpg", "074.jpg"):
        (inputs / name).unlink()
    out = inputs / "results"
    argv = ["predict", str(inputs), "--out", str(out), "--model", str(tiny_model_path)]
    assert main(argv) == 0
    first = sorted(p.name for p in out.iterdir())
    assert main(argv) == 0  # a re-run neither reads its own masks nor renames anything
    assert sorted(p.name for p in out.iterdir()) == first
    assert first == ["073_mask.png", "073_overlay.jpg", "summary.csv"]
    assert len(read_summary(out)) == 1


def test_empty_folder_and_missing_file_are_reported(
    tmp_path: Path, tiny_model_path: Path, capsys: pytest.CaptureFixture
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    missing = tmp_path / "missing.jpg"
    out = tmp_path / "out"
    code = main(
        ["predict", str(empty), str(missing), "--out", str(out), "--model", str(tiny_model_path)]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert f"{empty}: no images found" in err and f"{missing}: file not found" in err
    assert [r["status"] for r in read_summary(out)] == [
        "error: no images found (looked for .jpg, .jpeg, .png, .tif, .tiff, .bmp, .webp)",
        "error: file not found",
    ]


def test_model_problems_are_one_line_errors(
    inputs: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    missing = tmp_path / "nope.safetensors"
    assert (
        main(["predict", str(inputs), "--out", str(tmp_path / "o"), "--model", str(missing)]) == 1
    )
    err = capsys.readouterr().err.strip()
    assert err == f"crackinspector: error: {missing}: model weights not found"
    assert main(["predict", str(inputs), "--out", str(tmp_path / "o"), "--model", "no-such"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("crackinspector: error: no-such: no such model (known:")
    assert "\n" not in err


def test_predict_as_a_real_subprocess(inputs: Path, tmp_path: Path, tiny_model_path: Path) -> None:
    exe = Path(sys.executable).parent / "crackinspector"
    out = tmp_path / "sub-out"
    result = subprocess.run(
        [str(exe), "predict", str(inputs), "--out", str(out), "--model", str(tiny_model_path)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert result.returncode == 2, result.stderr
    assert f"{inputs / 'sub' / 'corrupt.jpg'}: corrupt or truncated image" in result.stderr
    check_outputs(out, ["073", "074", "073-2"], save_prob=False)
    assert [r["status"] for r in read_summary(out)][:3] == ["ok"] * 3


def test_summary_csv_neutralises_formulas(
    crackforest: Path, tmp_path: Path, tiny_model_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """File names starting with = + - @ are text in summary.csv (OWASP quote prefix)."""
    monkeypatch.chdir(tmp_path)
    shutil.copy(crackforest / "images" / "073.jpg", tmp_path / "=1+2.jpg")
    shutil.copy(crackforest / "images" / "074.jpg", tmp_path / "@SUM(A1).jpg")
    argv = ["predict", "--out", "out", "--model", str(tiny_model_path), "-q",
            "--", "=1+2.jpg", "@SUM(A1).jpg", "-missing.jpg"]  # fmt: skip
    assert main(argv) == 2
    rows = read_summary(tmp_path / "out")
    assert [r["file"] for r in rows] == ["'=1+2.jpg", "'@SUM(A1).jpg", "'-missing.jpg"]
    assert [r["mask"] for r in rows] == ["'=1+2_mask.png", "'@SUM(A1)_mask.png", ""]
    assert (tmp_path / "out" / "=1+2_mask.png").is_file()  # the files keep their real names
