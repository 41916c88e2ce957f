"""Score crack models on every set of the bundled models' protocol and write it into the cards.

    python scripts/score_models.py MODEL.safetensors [MODEL ...] [--threshold validation|card]
        [--write-card] [--out benchmarks/results/FILE.json]

Sets (splits from scripts/prepare_training_data.py, in runs/data):
- CrackForest test (073..118): strict and 2-px precision / recall / F1, as `crackinspector
  evaluate` reports them, plus the pixels marked in 128 px windows more than 8 px from any
  labelled crack (crack-free road);
- negatives test (every 5th crack-free photo, never trained on): mean share of each photo's
  pixels marked as crack;
- masonry test (every 5th crop, never trained on) and uav75 val: strict and 2-px F1.

`--threshold all-validation` (the default) sets each model's threshold to the one that
maximises strict F1 + 2-px F1, both pooled over all 410 validation photos of the training mix
(`validation_sets`; the pooled F1 peak is flat, so both protocols the targets name decide it);
`validation` to the one that maximised strict F1 on the training run's own (smaller)
validation sample, recorded in the card by crackinspector-train; `card` keeps the card's.
Probability maps are cached under scratch/probs by the weights' hash, so re-scoring at another
threshold is cheap.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from crackinspector.core.analysis.metrics import THRESHOLDS, SetMetrics
from crackinspector.core.infer.hardware import cpu_model
from crackinspector.core.infer.predictor import Predictor
from crackinspector.core.io.imageio import read_image, read_mask
from crackinspector.core.io.pairing import load_split
from crackinspector.core.model.card import ModelCard
from crackinspector.core.model.registry import weights_digest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
PREP = REPO / "runs" / "data"
CACHE = REPO / "scratch" / "probs"


def crack_free_windows(truth: np.ndarray, size: int = 128, margin: int = 8) -> np.ndarray:
    """Boolean map of pixels inside size x size windows with no crack within `margin` px."""
    near = cv2.dilate(truth.astype(np.uint8), np.ones((2 * margin + 1,) * 2, np.uint8)) > 0
    free = np.zeros_like(truth, bool)
    h, w = truth.shape
    for y in range(0, h - size + 1, size // 2):
        for x in range(0, w - size + 1, size // 2):
            if not near[y : y + size, x : x + size].any():
                free[y : y + size, x : x + size] = True
    return free


def _stems(split_file: Path, key: str) -> list[str]:
    return sorted(load_split(split_file)[key])


def labelled_pairs(name: str, split: Path, key: str) -> list[tuple[Path, Path | None]]:
    """The (photo, mask) pairs of one part (`train`, `val`, `test`) of a labelled set's split."""
    folder = DATA / name
    return [
        (next((folder / "images").glob(f"{s}.*")), folder / "masks" / f"{s}.png")
        for s in _stems(split, key)
    ]


def negative_kind(stem: str) -> str:
    """The surface kind of a negatives photo: `brickwall`, or the class of a
    `pavements__<class>__<hash>` crop (cobblestone, sett, gravel, ...)."""
    parts = stem.split("__")
    return parts[1] if parts[0] == "pavements" and len(parts) > 2 else parts[0]


def crack_free_pairs(key: str) -> list[tuple[Path, Path | None]]:
    """The negatives of one part of the prepared split (no masks: every pixel background)."""
    neg = DATA / "negatives" / "images"
    return [(neg / f"{s}.jpg", None) for s in _stems(PREP / "negatives.split.json", key)]


def validation_sets() -> dict[str, list[tuple[Path, Path | None]]]:
    """The validation parts of the training mix (scripts/train_bundled.sh), all of them:
    for choosing between candidate models without touching any test split."""
    out = {
        name: labelled_pairs(name[:-4], PREP / f"{name[:-4]}.split.json", "val")
        for name in VALIDATION_LABELLED
    }
    out["negatives_val"] = crack_free_pairs("val")
    return out


def sets() -> dict[str, list[tuple[Path, Path | None]]]:
    """(image, mask or None for crack-free) per scored set."""
    return {
        "crackforest_test": labelled_pairs("crackforest", DATA / "crackforest/split.json", "test"),
        "masonry_test": labelled_pairs("masonry", PREP / "masonry.split.json", "test"),
        "uav75_val": labelled_pairs("uav75", DATA / "uav75/split.json", "val"),
        "negatives_test": crack_free_pairs("test"),
    }


def probability(predictor: Predictor, digest: str, set_name: str, image_path: Path) -> np.ndarray:
    tag = digest[:16] + ("-tta" if predictor.tta else "")
    path = CACHE / tag / set_name / f"{image_path.stem}.png"
    if path.exists():
        return cv2.imread(str(path), cv2.IMREAD_UNCHANGED).astype(np.float32) / 65535.0
    prob = predictor.predict(read_image(image_path))
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.round(prob * 65535.0).astype(np.uint16))
    return prob


THRESHOLD_RULES = ("all-validation", "validation", "card")
VALIDATION_LABELLED = ("crackforest_val", "crackpool_val", "masonry_val", "uav75_val")


@dataclass
class Collected:
    """One pass of a model over the sets of `which`: labelled sets as SetMetrics (with their
    sweep), crack-free sets as each photo's marked percent at `threshold` and at every sweep
    threshold, so the scores can be read at any sweep threshold without another pass."""

    threshold: float
    labelled: dict[str, SetMetrics]
    pooled: SetMetrics  # every labelled photo of the sets, counts summed
    marked: dict[str, np.ndarray]  # set -> photos x (threshold, *THRESHOLDS), percent
    free_windows: tuple[int, int]  # CrackForest test crack-free window pixels marked, total
    seconds: float


def collect(weights: Path, t: float, which: str = "test", tta: bool = False) -> Collected:
    """Runs (or reads the cached maps of) the model on every set of `which` ("test" or
    "validation"), accumulating at threshold `t` and over the sweep; `tta` averages the
    flips as `crackinspector predict --tta` does."""
    predictor = Predictor(weights, device="cpu", backend="onnx", tta=tta)
    digest = weights_digest(weights)
    started = time.perf_counter()
    c = Collected(t, {}, SetMetrics(threshold=t), {}, (0, 0), 0.0)
    levels = np.append(t, THRESHOLDS)
    for set_name, items in (sets() if which == "test" else validation_sets()).items():
        if set_name.startswith("negatives"):
            maps = (probability(predictor, digest, set_name, p) for p, _ in items)
            c.marked[set_name] = np.array(
                [[float(np.mean(prob >= v)) * 100 for v in levels] for prob in maps]
            )
            continue
        metrics = c.labelled[set_name] = SetMetrics(threshold=t)
        free_marked = free_total = 0
        for image_path, mask_path in items:
            assert mask_path is not None
            prob = probability(predictor, digest, set_name, image_path)
            truth = read_mask(mask_path)
            metrics.add(prob, truth)
            c.pooled.add(prob, truth)
            if set_name == "crackforest_test":
                free = crack_free_windows(truth)
                free_marked += int(np.count_nonzero((prob >= t) & free))
                free_total += int(np.count_nonzero(free))
        if set_name == "crackforest_test":
            c.free_windows = (free_marked, free_total)
    c.seconds = round(time.perf_counter() - started, 1)
    return c


def report(c: Collected, t: float) -> dict:
    """The scores of every collected set at `t`: the collection threshold, or any threshold
    of the sweep (the crack-free windows only at the collection threshold)."""
    at_collected = bool(np.isclose(t, c.threshold))
    column = 0 if at_collected else 1 + int(np.flatnonzero(np.isclose(THRESHOLDS, t))[0])
    out: dict = {}
    for set_name, metrics in c.labelled.items():
        r = (metrics if at_collected else metrics.at(t)).result()
        keys = ("images", "precision", "recall", "f1", "f1_tol2", "best_threshold", "best_f1")
        out[set_name] = {k: r[k] for k in keys if k in r}
        if set_name == "crackforest_test" and at_collected:
            marked, total = c.free_windows
            out[set_name]["crack_free_windows_marked_percent"] = 100.0 * marked / max(1, total)
    for set_name, table in c.marked.items():
        marked = table[:, column]
        out[set_name] = {
            "photos": len(marked),
            "mean_marked_percent": float(np.mean(marked)),
            "median_marked_percent": float(np.median(marked)),
            "photos_over_1_percent": int(np.sum(marked > 1.0)),
        }
    if "crackforest_test" not in c.labelled:  # validation: the pooled scores and the rule
        pooled = c.pooled if at_collected else c.pooled.at(t)
        r = pooled.result()
        out["all_val"] = {k: r[k] for k in ("images", "f1", "f1_tol2", "best_threshold", "best_f1")}
        both = pooled.best_for_both()
        out["all_val"].update(
            best_threshold_both=both[0], best_both_f1=both[1], best_both_f1_tol2=both[2]
        )
    out["seconds"] = c.seconds
    return out


def score_at(weights: Path, t: float, which: str = "test", tta: bool = False) -> dict:
    """Every set of `which` ("test" or "validation") at threshold `t`; probability maps come
    from the cache when this model has been run on a photo before."""
    return report(collect(weights, t, which, tta), t)


def score(weights: Path, threshold_rule: str, which: str = "test", tta: bool = False) -> dict:
    """Scores on the test sets (or `which="validation"`) at the rule's threshold; with the
    all-validation rule also `validation_all`, the validation scores at that threshold. The
    validation sets are run once: the rule's threshold and the scores at it are both read
    from that pass."""
    card = ModelCard.load(weights.with_suffix(".json"))
    t = float(card.threshold)
    if threshold_rule == "validation" and "best_threshold" in card.metrics.get("validation", {}):
        t = float(card.metrics["validation"]["best_threshold"])
    if threshold_rule != "all-validation":
        return {
            "threshold": t, "threshold_rule": threshold_rule, **score_at(weights, t, which, tta)
        }  # fmt: skip
    validation = collect(weights, t, "validation", tta)
    t = float(report(validation, t)["all_val"]["best_threshold_both"])
    val = report(validation, t)
    tested = val if which == "validation" else score_at(weights, t, which, tta)
    out = {"threshold": t, "threshold_rule": threshold_rule, "tta": tta, **tested}
    out["validation_all"] = {
        "rule": "max pooled strict F1 + 2-px F1 over all validation photos",
        "threshold": t,
        **{k: val["all_val"][k] for k in ("images", "f1", "f1_tol2")},
        **{k: val[k]["f1"] for k in VALIDATION_LABELLED},
        "negatives_val_marked_percent": val["negatives_val"]["mean_marked_percent"],
    }
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+", type=Path)
    ap.add_argument("--threshold", choices=THRESHOLD_RULES, default="all-validation")
    ap.add_argument("--write-card", action="store_true", help="store threshold and metrics")
    ap.add_argument(
        "--sets", choices=("test", "validation"), default="test",
        help="validation: the training mix's val parts, to choose between candidates",
    )  # fmt: skip
    ap.add_argument("--tta", action="store_true", help="flip averaging (4 passes a photo)")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    results = {"cpu": cpu_model(), "models": {}}
    for weights in args.models:
        s = score(weights, args.threshold, args.sets, args.tta)
        results["models"][str(weights)] = s
        if args.sets == "validation":
            v = s["all_val"]
            per_set = ", ".join(
                f"{k} {s[k]['f1']:.3f}" for k in s if k.endswith("_val") and "f1" in s[k]
            )
            print(
                f"{weights.name}: t={s['threshold']:.2f} validation strict F1 {v['f1']:.3f} "
                f"2-px {v['f1_tol2']:.3f} (best t {v['best_threshold']:.2f}: {v['best_f1']:.3f})"
                f" | {per_set} | negatives val "
                f"{s['negatives_val']['mean_marked_percent']:.2f}% ({s['seconds']} s)",
                flush=True,
            )
            continue
        cf, neg = s["crackforest_test"], s["negatives_test"]
        print(
            f"{weights.name}: t={s['threshold']:.2f} CF test strict F1 {cf['f1']:.3f} 2-px F1 "
            f"{cf['f1_tol2']:.3f} free windows {cf['crack_free_windows_marked_percent']:.2f}% | "
            f"negatives {neg['mean_marked_percent']:.2f}% | masonry F1 "
            f"{s['masonry_test']['f1']:.3f} | uav75 F1 {s['uav75_val']['f1']:.3f} "
            f"({s['seconds']} s)",
            flush=True,
        )
        if args.write_card:
            card_path = weights.with_suffix(".json")
            card = ModelCard.load(card_path)
            card.threshold = s["threshold"]
            card.metrics.update({k: v for k, v in s.items() if isinstance(v, dict)})
            card.save(card_path)
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
