"""Score trained models on CrackForest test and on crack-free surfaces, write the numbers into
their cards, and install them as the bundled models.

    python scripts/finalize_bundled.py RUN_EXPORT_DIR [--install resources/models]

Crack-free surfaces: (a) every 128 x 128 window of a CrackForest test photo that lies more
than 8 px from any labelled crack (real road surface, judged on the full-photo prediction),
and (b) three real texture photos unlike the training data (brick wall, gravel, grass) from
scikit-image's bundled data, fetched from PyPI with `pip download` (not redistributed).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import cv2
import numpy as np
from score_models import crack_free_windows  # scripts/: the same crack-free windows

from crackinspector.core.analysis.evaluation import evaluate_pairs
from crackinspector.core.infer.predictor import Predictor
from crackinspector.core.io.imageio import read_mask
from crackinspector.core.io.pairing import load_split, pair_folders
from crackinspector.core.model.card import ModelCard
from training.card import portable_training

REPO = Path(__file__).resolve().parents[1]
CFD = REPO.parent / "shared" / "data" / "crackforest"
TEXTURES = ("brick", "gravel", "grass")


def texture_photos() -> dict[str, np.ndarray]:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", tmp,
                        "scikit-image==0.26.0"], check=True)  # fmt: skip
        (wheel,) = Path(tmp).glob("*.whl")
        out = {}
        with zipfile.ZipFile(wheel) as zf:
            for name in TEXTURES:
                data = np.frombuffer(zf.read(f"skimage/data/{name}.png"), np.uint8)
                gray = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)
                out[name] = np.repeat(gray[..., None], 3, axis=2)
    return out


def score(weights: Path, textures: dict[str, np.ndarray]) -> dict:
    predictor = Predictor(weights, device="cpu", backend="torch")
    t = predictor.threshold
    pairs = pair_folders(CFD / "images", CFD / "masks").pairs
    test = load_split(CFD / "split.json")["test"]
    pairs = [p for p in pairs if p.stem in test]
    free_marked = free_total = 0
    probs = {}

    def predict(image):
        prob = predictor.predict(image)
        probs[len(probs)] = prob
        return prob

    ev = evaluate_pairs(predict, pairs, t, predictor.info.name)
    for i, pair in enumerate(pairs):
        free = crack_free_windows(read_mask(pair.mask))
        free_marked += int(np.count_nonzero((probs[i] >= t) & free))
        free_total += int(np.count_nonzero(free))
    tex = {}
    for name, image in textures.items():
        tex[name] = float(np.mean(predictor.predict(image) >= t) * 100)
    m = ev.metrics
    return {
        "crackforest_test": {k: m[k] for k in (
            "images", "threshold", "precision", "recall", "f1", "iou", "precision_tol2",
            "recall_tol2", "f1_tol2", "iou_tol2", "best_threshold", "best_f1",
            "best_threshold_tol2", "best_f1_tol2")},
        "crack_free": {
            "crackforest_test_windows_marked_percent": 100.0 * free_marked / max(1, free_total),
            "crackforest_test_windows_pixels": free_total,
            "textures_marked_percent": tex,
        },
    }  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("export_dir", type=Path)
    p.add_argument("--install", type=Path, default=None, help="copy the scored pairs here")
    p.add_argument("--names", default="unet-resnet34,unet-vgg16")
    args = p.parse_args()
    textures = texture_photos()
    results = {}
    for name in args.names.split(","):
        weights = args.export_dir / f"{name}.safetensors"
        card_path = weights.with_suffix(".json")
        scores = score(weights, textures)
        card = ModelCard.load(card_path)
        card.metrics.update(scores)
        card.training = portable_training(card.training)
        card.description = (
            f"U-Net with a {card.encoder} encoder, trained from random weights by "
            "crackinspector-train on CrackForest (train split) and crackpool (train split)."
        )
        card.save(card_path)
        results[name] = {
            "validation": card.metrics.get("validation"),
            **scores,
            "training": {k: v for k, v in card.training.items() if k != "parent"},
        }
        if args.install:
            args.install.mkdir(parents=True, exist_ok=True)
            shutil.copy(weights, args.install / weights.name)
            shutil.copy(card_path, args.install / card_path.name)
        c = scores["crackforest_test"]
        print(f"{name}: strict P {c['precision']:.3f} R {c['recall']:.3f} F1 {c['f1']:.3f} "
              f"IoU {c['iou']:.3f} | 2px P {c['precision_tol2']:.3f} R {c['recall_tol2']:.3f} "
              f"F1 {c['f1_tol2']:.3f} | best t {c['best_threshold']:.2f} F1 {c['best_f1']:.3f} "
              f"| crack-free marked {scores['crack_free']}")  # fmt: skip
    out = REPO / "benchmarks" / "results" / "bundled_models.json"
    out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    main()
