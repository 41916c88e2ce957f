"""Record the training variants tried for the bundled models and their validation results.

    python scripts/record_variants.py runs/unet-resnet34 runs/unet-vgg16 [...] \\
        [--out benchmarks/results/recipe_variants.json]

For each run folder: the recipe (encoder, start, data mix, schedule, loss, crop, steps) from
its config.json, and per epoch the validation metrics crackinspector-train wrote to its
metrics.csv (strict F1 at 0.5, the best threshold and its F1, 2-px F1), plus the best epoch.
The validation mix is the one of scripts/train_bundled.sh (never CrackForest test), so the
runs can be compared with each other; test-set results of what shipped are in the cards.
Entries already in the output file for other runs are kept (variants of earlier sessions).
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

from training.card import portable_config

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "results" / "recipe_variants.json"
RECIPE_KEYS = (
    "encoder", "init", "epochs", "steps_per_epoch", "batch_size", "lr", "optimiser",
    "schedule", "loss", "crop_size", "augment", "val_limit", "ema", "teacher", "distill_weight",
    "datasets",
)  # fmt: skip


def _number(text: str) -> float | None:
    try:
        return round(float(text), 4)
    except ValueError:
        return None


def variant(run: Path) -> dict:
    config = portable_config(json.loads((run / "config.json").read_text(encoding="utf-8")))
    with (run / "metrics.csv").open(encoding="utf-8") as f:
        epochs = [{k: _number(v) for k, v in row.items()} for row in csv.DictReader(f)]
    keep = ("epoch", "f1", "f1_tol2", "best_threshold", "best_f1", "val_loss", "seconds")
    averaged = ("raw_f1", "raw_best_f1")  # --ema runs only: the raw weights beside the average
    epochs = [
        {**{k: e.get(k) for k in keep}, **{k: e[k] for k in averaged if e.get(k) is not None}}
        for e in epochs
    ]
    best = max(epochs, key=lambda e: e.get("best_f1") or 0.0, default=None)
    return {
        "recipe": {k: config.get(k) for k in RECIPE_KEYS},
        "epochs": epochs,
        "best": best,
        "train_seconds": round(sum(e.get("seconds") or 0.0 for e in epochs), 1),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--note", action="append", default=[], help="RUN=text: what it tried")
    args = ap.parse_args()
    data = json.loads(args.out.read_text(encoding="utf-8")) if args.out.exists() else {}
    notes = dict(n.split("=", 1) for n in args.note)
    for run in args.runs:
        entry = variant(run)
        entry["note"] = notes.get(run.name, data.get(run.name, {}).get("note", ""))
        data[run.name] = entry
        b = entry["best"] or {}
        print(f"{run.name}: best epoch {b.get('epoch')} val F1 {b.get('best_f1')} "
              f"at t {b.get('best_threshold')}")  # fmt: skip
    args.out.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
