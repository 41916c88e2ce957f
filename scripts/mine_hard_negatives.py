"""Hard negatives for a recipe variant (issue 11): the crack-free training photos on which a
model still marks the most pixels, as a split file that scripts/train_bundled.sh can add as
one more, oversampled set.

    python scripts/mine_hard_negatives.py resources/models/unet-resnet34.safetensors \
        [--over 0.5] [--out runs/data/negatives-hard.split.json]

Only the `train` part of runs/data/negatives.split.json is looked at (validation and test
photos stay unseen). A photo is hard when the model, at its card's threshold, marks more
than `--over` percent of its pixels. Writes the split (train = the hard photos) and a
summary per kind of surface to benchmarks/results/hard_negatives.json.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import numpy as np
from score_models import REPO, crack_free_pairs, negative_kind, probability  # the protocol

from crackinspector.core.infer.predictor import Predictor
from crackinspector.core.io.atomic import atomic_write_text
from crackinspector.core.model.card import ModelCard
from crackinspector.core.model.registry import weights_digest


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("weights", type=Path)
    ap.add_argument("--over", type=float, default=0.5, help="percent of pixels marked")
    ap.add_argument("--out", type=Path, default=REPO / "runs/data/negatives-hard.split.json")
    args = ap.parse_args()
    card = ModelCard.load(args.weights.with_suffix(".json"))
    t = float(card.threshold)
    predictor = Predictor(args.weights, device="cpu", backend="onnx")
    digest = weights_digest(args.weights)
    marked = {}
    for image_path, _ in crack_free_pairs("train"):
        prob = probability(predictor, digest, "negatives_train", image_path)
        marked[image_path.stem] = float(np.mean(prob >= t)) * 100
    hard = sorted((s for s, m in marked.items() if m > args.over), key=lambda s: -marked[s])
    atomic_write_text(args.out, json.dumps({"train": hard, "val": [], "test": []}, indent=1))
    summary = {
        "model": card.name,
        "weights_sha256": digest[:16],
        "threshold": t,
        "over_percent": args.over,
        "photos": len(marked),
        "hard": len(hard),
        "mean_marked_percent": float(np.mean(list(marked.values()))),
        "hard_by_kind": dict(Counter(negative_kind(s) for s in hard).most_common()),
        "all_by_kind": dict(Counter(negative_kind(s) for s in marked).most_common()),
        "worst": {s: round(marked[s], 2) for s in hard[:20]},
    }
    out = REPO / "benchmarks/results/hard_negatives.json"
    atomic_write_text(out, json.dumps(summary, indent=2) + "\n")
    print(f"{len(hard)} of {len(marked)} training negatives over {args.over} % -> {args.out}")
    print(json.dumps(summary["hard_by_kind"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
