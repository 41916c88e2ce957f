"""Hysteresis thresholding against the single threshold, on all validation photos.

    python benchmarks/bench_hysteresis.py MODEL.safetensors [--out benchmarks/results/F.json]

A single threshold `t` marks every pixel with probability >= t. Hysteresis (as in Canny's
edge detector) marks every pixel >= `low` that is 8-connected through pixels >= `low` to a
pixel >= `high`: a faint stretch of a crack joins the mask when it continues a confident
one, while faint specks on their own stay out. The single threshold is the case low = high.

Scored as scripts/score_models.py scores the threshold rule: strict and 2-px F1 pooled
over the 261 labelled validation photos of the training mix, plus the mean share of the
149 crack-free validation photos marked, for every (low, high) pair of the grid. CrackForest
test is not read here. Probability maps come from score_models' cache (scripts/probs).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from score_models import probability, validation_sets  # the scoring protocol's sets

from crackinspector.core.analysis.metrics import Counts, count
from crackinspector.core.infer.hardware import cpu_model
from crackinspector.core.infer.predictor import Predictor
from crackinspector.core.io.imageio import read_mask
from crackinspector.core.model.registry import weights_digest

HIGHS = np.round(np.arange(0.30, 0.801, 0.05), 2)
LOWS = np.round(np.arange(0.10, 0.801, 0.05), 2)


def component_peaks(prob: np.ndarray, low: float) -> tuple[np.ndarray, np.ndarray]:
    """Labels of the 8-connected regions >= low, and each label's highest probability."""
    n, labels = cv2.connectedComponents((prob >= low).astype(np.uint8), connectivity=8)
    peaks = np.zeros(n, np.float32)
    np.maximum.at(peaks, labels.ravel(), prob.ravel())
    peaks[0] = 0.0  # background
    return labels, peaks


def pairs() -> list[tuple[float, float]]:
    return [(float(lo), float(hi)) for hi in HIGHS for lo in LOWS if lo <= hi]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", type=Path)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    predictor = Predictor(args.model, device="cpu", backend="onnx")
    digest = weights_digest(args.model)
    grid = pairs()
    strict = {p: Counts() for p in grid}
    tolerant = {p: Counts() for p in grid}
    marked: dict[tuple[float, float], list[float]] = {p: [] for p in grid}
    started = time.perf_counter()
    for set_name, items in validation_sets().items():
        for image_path, mask_path in items:
            prob = probability(predictor, digest, set_name, image_path)
            truth = None if mask_path is None else read_mask(mask_path)
            for low in sorted({lo for lo, _ in grid}):
                labels, peaks = component_peaks(prob, low)
                for lo, hi in grid:
                    if lo != low:
                        continue
                    pred = (peaks >= hi)[labels]
                    if truth is None:
                        marked[(lo, hi)].append(100.0 * float(np.mean(pred)))
                    else:
                        strict[(lo, hi)] += count(pred, truth)
                        tolerant[(lo, hi)] += count(pred, truth, 2)
        print(
            f"{set_name}: {len(items)} photos ({time.perf_counter() - started:.0f} s)", flush=True
        )
    rows = []
    for lo, hi in grid:
        s, t = strict[(lo, hi)].scores(), tolerant[(lo, hi)].scores()
        rows.append(
            {
                "low": lo,
                "high": hi,
                "f1": s["f1"],
                "f1_tol2": t["f1"],
                "precision": s["precision"],
                "recall": s["recall"],
                "negatives_val_marked_percent": float(np.mean(marked[(lo, hi)])),
            }
        )
    single = max(
        (r for r in rows if r["low"] == r["high"]),
        key=lambda r: (r["f1"] + r["f1_tol2"], r["high"]),
    )
    best = max(rows, key=lambda r: (round(r["f1"] + r["f1_tol2"], 9), r["high"], r["low"]))
    print(f"CPU: {cpu_model()}; model {args.model.name}; 261 labelled + 149 crack-free val photos")
    print(
        f"{'low':>5} {'high':>5} {'strict F1':>9} {'2-px F1':>8} {'P':>6} {'R':>6} {'neg val %':>9}"
    )
    top = sorted(rows, key=lambda r: -(r["f1"] + r["f1_tol2"]))[:12]
    for r in [single, *[r for r in top if r is not single]]:
        print(
            f"{r['low']:5.2f} {r['high']:5.2f} {r['f1']:9.4f} {r['f1_tol2']:8.4f} "
            f"{r['precision']:6.3f} {r['recall']:6.3f} {r['negatives_val_marked_percent']:9.3f}"
        )
    print(
        f"best single threshold {single['high']:.2f}: {single['f1']:.4f} / "
        f"{single['f1_tol2']:.4f}; best hysteresis {best['low']:.2f}-{best['high']:.2f}: "
        f"{best['f1']:.4f} / {best['f1_tol2']:.4f}"
    )
    if args.out:
        out = {
            "cpu": cpu_model(),
            "model": str(args.model),
            "rule": "max pooled strict F1 + 2-px F1 over the labelled validation photos",
            "best_single": single,
            "best_hysteresis": best,
            "grid": rows,
            "seconds": round(time.perf_counter() - started, 1),
        }
        args.out.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
        print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
