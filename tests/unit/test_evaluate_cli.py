"""`crackinspector evaluate` on real CrackForest pairs with a real (small) model."""

from __future__ import annotations

import csv
import json
import shutil

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


def test_evaluate_reports_a_bad_pair_and_goes_on(labelled, tiny_model_path, capsys):
    images, masks, _ = labelled
    (masks / "074.png").write_bytes(b"broken")
    code = main(["evaluate", "--model", str(tiny_model_path), "--images", str(images),
                 "--masks", str(masks), "--backend", "torch"])  # fmt: skip
    captured = capsys.readouterr()
    assert "074.png" in captured.err
    assert "on 2 images" in captured.out
    assert code == 0  # the unreadable pair is left out at pairing, and said so


def test_evaluate_unknown_subset_is_one_line_error(labelled, tiny_model_path, capsys):
    images, masks, split = labelled
    code = main(["evaluate", "--model", str(tiny_model_path), "--images", str(images),
                 "--masks", str(masks), "--split", str(split), "--subset", "nope"])  # fmt: skip
    assert code == 1
    assert "no list named 'nope'" in capsys.readouterr().err
