"""Accuracy and speed of each inference precision (and of flip TTA) on CrackForest test.

Strict and 2-px-tolerant F1 (core.analysis.evaluation, the protocol of the model cards) on
the 46 CrackForest `test` photos at fp32 / int8 / bf16 (bf16 only where the CPU does it
natively), each with its default tiling (fp32: today's 448 px tiles overlapping by 112,
exactly the path before issue 14; int8: the planned 1024 px fitted tiles), and optionally
each with flip TTA. With --write-card the results go into the
model card's `precision_checks`, which `--precision auto` reads: this is the one command to
refresh them after a model is retrained:

    .venv/bin/python benchmarks/bench_precision.py --model unet-resnet34 --write-card
    .venv/bin/python benchmarks/bench_precision.py --model unet-vgg16 --write-card
    .venv/bin/python benchmarks/bench_precision.py --model unet-resnet34 --tta   # + TTA rows

Results: benchmarks/results/precision.json (one section per model). Times are wall seconds
per photo on this (shared) machine, measured in the same run: compare them as ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("CRACKINSPECTOR_SHARED_DATA", REPO.parent / "shared" / "data"))
RESULTS = REPO / "benchmarks" / "results" / "precision.json"


def test_pairs() -> list:
    from crackinspector.core.io.pairing import pair_folders

    cfd = SHARED / "crackforest"
    test = set(json.loads((cfd / "split.json").read_text())["test"])
    pairs = [p for p in pair_folders(cfd / "images", cfd / "masks").pairs if p.stem in test]
    if len(pairs) != len(test):
        raise SystemExit(f"expected {len(test)} CrackForest test pairs in {cfd}, got {len(pairs)}")
    return pairs


def configurations(tta: bool) -> list[dict]:
    from crackinspector.core.infer.hardware import native_bf16

    precisions = ["fp32", "int8"] + (["bf16"] if native_bf16() else [])
    configs = [{"name": p, "precision": p} for p in precisions]
    if tta:
        configs += [{"name": f"{p} + TTA", "precision": p, "tta": True} for p in precisions]
    return configs


def evaluate(model: str, config: dict, pairs: list, threads: int) -> dict:
    from crackinspector.core.analysis.evaluation import evaluate_pairs
    from crackinspector.core.infer.predictor import Predictor

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "making the int8 model" notice
        predictor = Predictor(
            model,
            device="cpu",
            precision=config["precision"],
            threads=threads,
            tile_size=config.get("tile_size"),
            overlap=config.get("overlap"),
            tta=config.get("tta", False),
        )
    if "fit" in config:
        predictor.fit_tiles = config["fit"]
    predictor.predict(np.zeros((64, 64, 3), np.uint8))  # warm-up
    t0 = time.perf_counter()
    ev = evaluate_pairs(predictor.predict, pairs, predictor.threshold, predictor.info.name)
    seconds = time.perf_counter() - t0
    m = ev.metrics
    return {
        "strict_f1": m["f1"],
        "tolerant_f1": m["f1_tol2"],
        "precision_strict": m["precision"],
        "recall_strict": m["recall"],
        "threshold": predictor.threshold,
        "images": len(pairs) - len(ev.failures),
        "seconds_per_image": seconds / len(pairs),
        "backend": predictor.backend,
        "precision": predictor.precision,
        "tile_size": predictor.tile_size,
        "overlap": predictor.overlap,
        "fit_tiles": predictor.fit_tiles,
        "tta": predictor.tta,
        "threads": predictor.threads,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--model", default="unet-resnet34")
    parser.add_argument("--threads", type=int, default=0, help="0: physical cores")
    parser.add_argument("--tta", action="store_true", help="also each precision with flip TTA")
    parser.add_argument(
        "--write-card", action="store_true", help="record the checks in the model card"
    )
    parser.add_argument("--limit", type=int, help="first N test photos only (a smoke run)")
    parser.add_argument(
        "--only", nargs="+", help="these configurations only (the card keeps the others' checks)"
    )
    args = parser.parse_args()

    from crackinspector.core.infer.hardware import describe_cpu
    from crackinspector.core.infer.precision import CHECKED_ON, check_passes
    from crackinspector.core.io.atomic import atomic_write_text
    from crackinspector.core.model.registry import resolve, weights_digest

    info = resolve(args.model)
    pairs = test_pairs()[: args.limit]
    cpu = describe_cpu()
    print(f"{info.name} on {len(pairs)} CrackForest test photos; {cpu['cpu']}, {cpu['flags']}")
    rows = {}
    for config in configurations(args.tta):
        if args.only and config["name"] not in args.only:
            continue
        res = evaluate(str(info.weights_path), config, pairs, args.threads)
        rows[config["name"]] = res
        print(
            f"{config['name']:14s} strict F1 {res['strict_f1']:.4f}  2-px F1 "
            f"{res['tolerant_f1']:.4f}  {res['seconds_per_image']:.2f} s/photo",
            flush=True,
        )
    ref = rows.get("fp32") or next(iter(rows.values()))
    header = ["configuration", "strict F1", "d strict", "2-px F1", "d 2-px", "s/photo", "x today"]
    table = [header]
    for name, r in rows.items():
        table.append(
            [
                name,
                f"{r['strict_f1']:.4f}",
                f"{r['strict_f1'] - ref['strict_f1']:+.4f}",
                f"{r['tolerant_f1']:.4f}",
                f"{r['tolerant_f1'] - ref['tolerant_f1']:+.4f}",
                f"{r['seconds_per_image']:.2f}",
                f"{ref['seconds_per_image'] / r['seconds_per_image']:.2f}",
            ]
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    print()
    for k, row in enumerate(table):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
        if k == 0:
            print("  ".join("-" * w for w in widths))

    digest = weights_digest(info.weights_path)[:16]
    stamp = time.strftime("%Y-%m-%d")
    checks = {}
    for r in rows.values():
        if r.get("tta") or r["images"] != len(pairs):
            continue
        checks[r["precision"]] = {
            "strict_f1": round(r["strict_f1"], 5),
            "tolerant_f1": round(r["tolerant_f1"], 5),
            "on": CHECKED_ON,
            "images": r["images"],
            "tile_size": r["tile_size"],
            "overlap": r["overlap"],
            "weights_sha256": digest,
            "cpu": cpu["cpu"],
            "date": stamp,
        }
    if args.write_card:  # checks of precisions not run now stay as they were
        old = json.loads(info.card_path.read_text(encoding="utf-8")).get("precision_checks")
        checks = {**(old or {}), **checks}
    for p in checks:
        print(f"{p}: {'passes' if check_passes(checks, p) else 'FAILS'} the auto check")
    existing = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    section = info.name if not args.limit else f"{info.name} (first {len(pairs)} photos)"
    last = existing.get(section, {}) if args.only else {}
    existing[section] = {  # with --only, the other rows and checks of the last run stay
        "machine": cpu,
        "date": stamp,
        "results": {**last.get("results", {}), **rows},
        "checks": {**last.get("checks", {}), **checks},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(RESULTS, json.dumps(existing, indent=2) + "\n")
    if args.write_card:
        if args.limit:
            raise SystemExit("--write-card needs the whole test split (no --limit)")
        card = json.loads(info.card_path.read_text(encoding="utf-8"))
        card["precision_checks"] = checks
        atomic_write_text(info.card_path, json.dumps(card, indent=2) + "\n")
        print(f"wrote precision_checks to {info.card_path}")


if __name__ == "__main__":
    main()
