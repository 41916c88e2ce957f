"""Test-time flip averaging on the validation photos, where a default may be chosen (issue 11).

For each bundled model: one pass over all 410 validation photos of the training mix
(CrackForest 061-072, 200 crackpool val crops, masonry val, uav75 val, negatives val) without
TTA and one with it (`--tta`: the mean over the tile and its three flips), side by side in
one run, through the protocol of scripts/score_models.py with a fresh probability cache (so
the times are real passes). Pooled strict / 2-px F1 at the card's threshold and at the
best threshold of each pass (the shipping rule: max strict + 2-px F1), per-set strict F1,
the negatives' mean marked percent, and seconds per pass. CrackForest test is not read.

Run: .venv/bin/python benchmarks/bench_tta_validation.py [--models unet-resnet34 unet-vgg16]
(about 20 min on 2 cores for both models). Writes benchmarks/results/tta_validation.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

import score_models  # noqa: E402  (scripts/: the scoring protocol)

from crackinspector.core.infer.hardware import cpu_model  # noqa: E402
from crackinspector.core.model import registry  # noqa: E402

SETS = ("crackforest_val", "crackpool_val", "masonry_val", "uav75_val")


def row(report: dict, t: float) -> dict:
    pooled = report["all_val"]
    return {
        "threshold": t,
        "strict_f1": pooled["f1"],
        "f1_tol2": pooled["f1_tol2"],
        **{name: report[name]["f1"] for name in SETS},
        "negatives_val_marked_percent": report["negatives_val"]["mean_marked_percent"],
    }


def measure(name: str) -> dict:
    info = registry.resolve(name)
    card_t = float(info.card.threshold)
    out: dict = {"model": f"{info.card.name} {info.card.version}", "card_threshold": card_t}
    for label, tta in (("plain", False), ("tta", True)):
        c = score_models.collect(info.weights_path, card_t, "validation", tta)
        best_t = float(score_models.report(c, card_t)["all_val"]["best_threshold_both"])
        out[label] = {
            "seconds": c.seconds,
            "at_card_threshold": row(score_models.report(c, card_t), card_t),
            "at_best_threshold": row(score_models.report(c, best_t), best_t),
        }
    out["time_ratio"] = round(out["tta"]["seconds"] / out["plain"]["seconds"], 2)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["unet-resnet34", "unet-vgg16"])
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks/results/tta_validation.json")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        score_models.CACHE = Path(cache)  # real passes, never cached maps
        results = {"cpu": cpu_model(), "models": [measure(m) for m in args.models]}
    print(f"CPU: {results['cpu']}; all 410 validation photos, pooled")
    print("| model | TTA | t | strict F1 | 2-px F1 | negatives val % | s per pass |")
    print("|---|---|---|---|---|---|---|")
    for m in results["models"]:
        for label in ("plain", "tta"):
            card, best = m[label]["at_card_threshold"], m[label]["at_best_threshold"]
            for r in (card,) if best["threshold"] == card["threshold"] else (card, best):
                print(
                    f"| {m['model']} | {'on' if label == 'tta' else 'off'} | {r['threshold']:.2f} "
                    f"| {r['strict_f1']:.4f} | {r['f1_tol2']:.4f} "
                    f"| {r['negatives_val_marked_percent']:.2f} | {m[label]['seconds']:.0f} |"
                )
        print(f"| {m['model']} | time ratio | | | | | {m['time_ratio']:.2f}x |")
    args.out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
