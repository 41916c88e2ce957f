"""`crackinspector evaluate` on real CrackForest pairs with a real (small) model."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import cv2
import pytest

from crackinspector.cli import main
from crackinspector.core.analysis.metrics import SetMetrics
from crackinspector.core.infer.predictor import Predictor
from crackinspector.core.io.imageio import read_image, read_mask


@pytest.fixture()
def labelled(crackforest, tmp_path):
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir()
    masks.mkdir()
    for stem in ("073", "074", "075"):
        shutil.copy(crackforest / "images" / f"{stem}.jpg", images)
        shutil.copy(crackforest / "masks" / f"{stem}.png", masks)
    split = tmp_path / "split.json"
    split.write_text(json.dumps({"train": ["073"], "test": ["074", "075"]}))
    return images, masks, split


def test_evaluate_prints_and_writes_both_protocols(labelled, tiny_model_path, tmp_path, capsys):
    images, masks, split = labelled
    out_csv, out_json = tmp_path / "ev.csv", tmp_path / "ev.json"
    code = main(["evaluate", "--model", str(tiny_model_path), "--images", str(images),
                 "--masks", str(masks), "--split", str(split), "--subset", "test",
                 "--threshold", "0.5", "--backend", "torch",
                 "--csv", str(out_csv), "--json", str(out_json)])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "strict" in printed and "2 px tolerance" in printed
    doc = json.loads(out_json.read_text())
    assert doc["metrics"]["images"] == 2
    rows = list(csv.DictReader(open(out_csv, newline="")))  # noqa: SIM115
    assert [r["protocol"] for r in rows] == ["strict", "2 px tolerance"]
    # The same numbers by hand: the Predictor on each test image, scored with core.metrics.
    predictor = Predictor(tiny_model_path, backend="torch")
    expected = SetMetrics(threshold=0.5)
    for stem in ("074", "075"):
        prob = predictor.predict(read_image(images / f"{stem}.jpg"))
        expected.add(prob, read_mask(masks / f"{stem}.png"))
    want = expected.result()
    assert float(rows[0]["f1"]) == pytest.approx(want["f1"])
    assert float(rows[1]["f1"]) == pytest.approx(want["f1_tol2"])
    assert doc["metrics"]["best_f1"] == pytest.approx(want["best_f1"])


def test_evaluate_reports_a_bad_pair_and_goes_on(labelled, tiny_model_path, tmp_path, capsys):
    images, masks, _ = labelled
    (masks / "074.png").write_bytes(b"broken")
    small = read_mask(masks / "075.png")[:100, :100].astype("uint8") * 255
    cv2.imwrite(str(masks / "075.png"), small)  # a real mask, the wrong size for its photo
    out_json = tmp_path / "ev.json"
    code = main(["evaluate", "--model", str(tiny_model_path), "--images", str(images),
                 "--masks", str(masks), "--backend", "torch", "--json", str(out_json)])  # fmt: skip
    captured = capsys.readouterr()
    # each bad pair is named once, by the evaluation that decodes it (not also at pairing)
    named = [line for line in captured.err.splitlines() if "074.png" in line or "075.png" in line]
    assert len(named) == 2, captured.err
    assert "074.png" in named[0] and "075.png" in named[1] and "size" in named[1]
    assert "on 1 images" in captured.out
    failures = json.loads(out_json.read_text())["failures"]
    assert [Path(f.split(":")[0]).name for f in failures] == ["074.png", "075.png"]
    assert code == 2  # like predict: the run finished, some inputs could not be used


def test_evaluate_unknown_subset_is_one_line_error(labelled, tiny_model_path, capsys):
    images, masks, split = labelled
    code = main(["evaluate", "--model", str(tiny_model_path), "--images", str(images),
                 "--masks", str(masks), "--split", str(split), "--subset", "nope"])  # fmt: skip
    assert code == 1
    assert "no list named 'nope'" in capsys.readouterr().err
