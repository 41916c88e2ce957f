"""`crackinspector evaluate`: precision, recall, F1 and IoU of a model on labelled photos,
strict and with a 2-pixel tolerance, plus the F1-maximising threshold."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tqdm import tqdm

from crackinspector.commands.common import predictor_of
from crackinspector.core.analysis.evaluation import Evaluation, evaluate_pairs
from crackinspector.core.infer.options import add_inference_arguments
from crackinspector.core.io.atomic import atomic_write_text
from crackinspector.core.io.pairing import DataError, load_split, pair_folders
from crackinspector.core.report.tables import write_csv


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="score a model against labelled masks (both protocols)")
    p.add_argument("--images", required=True, metavar="DIR")
    p.add_argument("--masks", required=True, metavar="DIR")
    p.add_argument("--split", metavar="FILE", help="split JSON (e.g. crackforest/split.json)")
    p.add_argument("--subset", default="test", help="which list of the split file to use")
    p.add_argument("--threshold", type=float, default=None, help="default: the model's own")
    p.add_argument("--tolerance", type=int, default=2, help="pixels, for the tolerant protocol")
    p.add_argument("--csv", metavar="FILE", help="write the table as CSV")
    p.add_argument("--json", metavar="FILE", help="write all numbers as JSON")
    add_inference_arguments(p, model_help="model name, alias or .safetensors file")
    p.set_defaults(run=run)


def format_table(ev: Evaluation) -> str:
    lines = [
        f"{'protocol':<16}{'thresh':>7}{'precision':>10}{'recall':>8}{'F1':>7}{'IoU':>7}"
        f"{'best t':>8}{'best F1':>8}"
    ]
    for r in ev.rows():
        lines.append(
            f"{r['protocol']:<16}{r['threshold']:>7.2f}{r['precision']:>10.3f}{r['recall']:>8.3f}"
            f"{r['f1']:>7.3f}{r['iou']:>7.3f}"
            f"{r['best_threshold'] or 0:>8.2f}{r['best_f1'] or 0:>8.3f}"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    # paired by name only: evaluate_pairs decodes each pair once and names any it cannot use
    report = pair_folders(args.images, args.masks, check=False)
    pairs = report.pairs
    if args.split:
        subset = load_split(args.split).get(args.subset)
        if subset is None:
            raise DataError(f"{args.split}: no list named {args.subset!r}")
        pairs = [p for p in pairs if p.stem in subset]
    for problem in report.problems:
        print(problem, file=sys.stderr)
    if not pairs:
        raise DataError(f"{args.images}: no image/mask pairs to evaluate")
    predictor = predictor_of(args)
    threshold = predictor.threshold if args.threshold is None else args.threshold
    bar = tqdm(total=len(pairs), desc="evaluate", unit="img", file=sys.stderr)

    def progress(done: int, total: int) -> None:
        bar.update(done - bar.n)

    ev = evaluate_pairs(
        predictor.predict, pairs, threshold, predictor.info.name, args.tolerance, progress
    )
    bar.close()
    for failure in ev.failures:
        print(failure, file=sys.stderr)
    print(f"model {ev.model} on {ev.metrics['images']} images ({predictor.description})")
    print(format_table(ev))
    if args.csv:
        write_csv(Path(args.csv), list(ev.rows()[0]), ev.rows())
    if args.json:
        doc = {"model": ev.model, "images": args.images, "subset": args.subset if args.split
               else None, "metrics": ev.metrics, "failures": ev.failures}  # fmt: skip
        atomic_write_text(args.json, json.dumps(doc, indent=2) + "\n")
    return 2 if ev.failures else 0
