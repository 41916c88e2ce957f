"""Install a trained model as a bundled one: renamed, float16, scored, checked, in the manifest.

    python scripts/ship_model.py runs/export/unet-resnet34-mix.safetensors --name unet-resnet34 \\
        --version 2.0.0 --recipe "scripts/train_bundled.sh resnet34 ..." [--recipe ...]

Steps (scripts/make_bundled_models.sh runs them for both models):
1. the run's export is saved under the bundled name in resources/models (float16 weights,
   the card's training section without machine paths, the exact commands that made it);
2. scripts/score_models.py scores it on every set of the protocol (CrackForest test, its
   crack-free windows, negatives test, masonry test, uav75 val) and sets its threshold to
   the one that maximises strict F1 + 2-px F1 pooled over all 410 validation photos of the
   training mix (never a test photo; the card keeps those validation scores as
   `validation_all`);
3. benchmarks/bench_precision.py records the accuracy of each inference precision
   (`--precision auto` reads it);
4. a spot check (a few CrackForest test and crack-free photos) goes into the card for
   tests/unit/test_bundled_models.py to recompute;
5. the manifest records the weights' SHA-256 (`crackinspector doctor` checks it).
A training run cannot use a bundled model's name itself (it would hide the bundled one), so
runs are named `<name>-mix` and renamed here.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
from score_models import DATA, PREP, negative_kind, score  # scripts/: the scoring protocol

from crackinspector.core.analysis.metrics import SetMetrics
from crackinspector.core.infer.hardware import cpu_model
from crackinspector.core.infer.predictor import Predictor
from crackinspector.core.io.imageio import read_image, read_mask
from crackinspector.core.io.pairing import load_split
from crackinspector.core.model import registry
from crackinspector.core.model.card import ModelCard
from training.card import portable_training

REPO = Path(__file__).resolve().parents[1]
INSTALL = REPO / "resources" / "models"
SPOT_CRACKFOREST = ("075", "088", "104", "110")  # CrackForest test photos


def spot_negatives() -> list[str]:
    """The first held-out (test) crack-free photo of each kind: brick wall, cobblestone,
    concrete plates, grass, gravel, paving stones, setts."""
    first: dict[str, str] = {}
    for stem in sorted(load_split(PREP / "negatives.split.json")["test"]):
        first.setdefault(negative_kind(stem), stem)
    return list(first.values())


def spot_check(weights: Path) -> dict:
    """What tests/unit/test_bundled_models.py recomputes: F1 on a few CrackForest test
    photos and the share marked on a few held-out crack-free photos (torch, fp32, the
    card's threshold and tiles)."""
    predictor = Predictor(weights, backend="torch", device="cpu", precision="fp32")
    metrics = SetMetrics(threshold=predictor.threshold)
    cfd = DATA / "crackforest"
    for stem in SPOT_CRACKFOREST:
        prob = predictor.predict(read_image(cfd / "images" / f"{stem}.jpg"))
        metrics.add(prob, read_mask(cfd / "masks" / f"{stem}.png"), sweep=False)
    r = metrics.result()
    marked = {
        stem: 100.0
        * float(
            np.mean(
                predictor.predict(read_image(DATA / "negatives" / "images" / f"{stem}.jpg"))
                >= predictor.threshold
            )
        )
        for stem in spot_negatives()
    }
    return {
        "crackforest_test_photos": list(SPOT_CRACKFOREST),
        "f1": r["f1"],
        "f1_tol2": r["f1_tol2"],
        "negatives_marked_percent": marked,
    }


def install(
    export: Path, name: str, version: str, recipe: list[str], folder: Path
) -> registry.ModelInfo:
    """Step 1: the export saved as `name` in `folder` with a portable card."""
    info = registry.resolve(export)
    card: ModelCard = info.card
    model = registry.load_model(info, "cpu")
    card.name = name
    card.version = version
    card.training = portable_training(card.training)
    card.training["commands"] = list(recipe)
    card.training.setdefault("hardware", cpu_model())
    family = card.encoder.removesuffix("_bn")
    teacher = card.training.get("config", {}).get("teacher")
    taught = f" and distilled from {teacher}'s probabilities" if teacher else ""
    card.description = (
        f"U-Net with a {card.encoder} encoder ({family} family), fine-tuned by "
        "crackinspector-train on CrackForest, crackpool, masonry and uav75 (train splits) "
        f"with crack-free negatives as all-background samples{taught} (docs/MODELS.md)."
    )
    return registry.save_model(model, card, folder, dtype=torch.float16)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("export", type=Path, help="the run's exported .safetensors")
    ap.add_argument("--name", required=True, help="the bundled name, e.g. unet-resnet34")
    ap.add_argument("--version", default="2.0.0")
    ap.add_argument("--recipe", action="append", default=[], help="a command that made it")
    ap.add_argument("--install", type=Path, default=INSTALL)
    ap.add_argument("--skip-precision", action="store_true", help="no precision check (fast)")
    args = ap.parse_args()

    shipped = install(args.export, args.name, args.version, args.recipe, args.install)
    print(f"installed {shipped.weights_path}")
    scores = score(shipped.weights_path, "all-validation")
    card = ModelCard.load(shipped.card_path)
    card.threshold = scores["threshold"]
    card.metrics.update({k: v for k, v in scores.items() if isinstance(v, dict)})
    card.save(shipped.card_path)
    card.metrics["spot_check"] = spot_check(shipped.weights_path)  # at the new threshold
    card.save(shipped.card_path)
    cf = scores["crackforest_test"]
    print(
        f"{args.name}: threshold {card.threshold:.2f}; CrackForest test strict F1 {cf['f1']:.3f}"
        f", 2-px F1 {cf['f1_tol2']:.3f}; negatives test "
        f"{scores['negatives_test']['mean_marked_percent']:.2f}% marked"
    )
    if not args.skip_precision:
        bench = REPO / "benchmarks" / "bench_precision.py"
        cmd = [sys.executable, str(bench), "--model", str(shipped.weights_path), "--write-card"]
        subprocess.run(cmd, check=True)
    registry.write_manifest(args.install)
    print(f"manifest written: {args.install / registry.MANIFEST}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
